"""Test connection's tool probes: every query a tool plans, asked with an identity that matches nobody.

For each tool of query_plans.PLANS, its core query: for verify the search each factor set of the
site's policy makes (`$match` first where the capabilities say so) with PROBE_IDENTITY; for the
others the real fetch (records.py) for a patient id that exists nowhere, so an empty answer means
it works. Then each enrichment: the dispense search, and a read of each referenced type by an id
that exists nowhere (404: the server serves it). A query the grant, the server or an override
withholds is reported with its source and never sent. The probes use the client the calls use
(site inputs, the grant, POST _search then GET) and run at once on the I/O loop. Only counts of
what came back are kept, never a resource.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ehr_integrations.errors import EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir import records
from ehr_integrations.fhir.capabilities import ANSWER, GRANT, PRESET, SERVER, Capabilities
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.patient_search import (
    MATCH_NEEDS,
    _params,
    _usable_sets,
    extra_identifiers_needed,
    find_candidates,
)
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.presets import overrides
from ehr_integrations.query_plans import PLANS, Enrichment, Need, QueryPlan
from ehr_integrations.setup.diagnoses import diagnose

WORKS, FALLBACK, NOT_SUPPORTED, REFUSED, UNAVAILABLE = "works", "fallback", "not_supported", "refused", "unavailable"
# Values no patient has: a birth date before any living patient's, a family name nobody carries, an
# MRN no site issues and a phone number that cannot exist (NANP area codes never start with 0).
PROBE_IDENTITY = {
    "date_of_birth": "1900-01-01",
    "family_name": "Zzprobe",
    "given_name": "Zzprobe",
    "mrn": "probe-0000",
    "phone": "000-000-0000",
    "ssn_last4": "0000",
}
PROBE_ID = "zzprobe-0000-0000"  # a valid FHIR id ([A-Za-z0-9-.]{1,64}) that no server assigned
NOT_SERVED = (404, 405, 501)  # a search the server does not offer


@dataclass(frozen=True)
class Probe:
    what: str
    result: str
    ok: bool


@dataclass(frozen=True)
class ToolOutcome:
    tool: str
    status: str  # WORKS, FALLBACK, NOT_SUPPORTED, REFUSED or UNAVAILABLE
    outcome: str  # the sentence: "works", "works; falls back to ...", "refused: ask the health system for ..."
    sources: tuple[str, ...]  # what decided a withheld query or a fallback (grant, server, answer, override...)
    probes: tuple[Probe, ...]
    ask_for: tuple[str, ...]  # scopes to ask the health system for

    @property
    def core_works(self) -> bool:
        return self.status in (WORKS, FALLBACK)


@dataclass
class _Findings:
    probes: list[Probe] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    ask_for: list[str] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # (status, outcome) when the core query does not work

    def add(self, other: "_Findings") -> "_Findings":
        self.probes += other.probes
        self.fallbacks += other.fallbacks
        self.sources += other.sources
        self.ask_for += other.ask_for
        self.failure = self.failure or other.failure
        return self

    def fall_back(self, text: str, source: str, ask: str | None = None) -> None:
        self.fallbacks.append(text)
        self.sources.append(source)
        if ask:
            self.ask_for.append(ask)

    def fail(self, status: str, outcome: str, source: str = "", ask: str | None = None) -> None:
        self.failure = self.failure or (status, outcome)
        if source:
            self.sources.append(source)
        if ask:
            self.ask_for.append(ask)

    def outcome(self, tool: str) -> ToolOutcome:
        if self.failure:
            status, text = self.failure
        elif self.fallbacks:
            status, text = FALLBACK, "works; " + "; ".join(dict.fromkeys(self.fallbacks))
        else:
            status, text = WORKS, "works"
        return ToolOutcome(tool, status, text, _unique(self.sources), tuple(self.probes), _unique(self.ask_for))


@dataclass(frozen=True)
class _Context:
    client: FhirClient
    mapping: Mapping
    factor_sets: list[list[str]]
    name_parts: list[str]
    caps: Capabilities
    reads: dict[str, asyncio.Task]  # resource type -> its one probe read, shared by the tools
    deadline: float


def ask(resource_type: str) -> str:
    return f"system/{resource_type}.rs"


async def probe_tools(
    client: FhirClient, mapping: Mapping, *, factor_sets: list[list[str]], name_parts: list[str], deadline: float
) -> list[ToolOutcome]:
    """Each tool's outcome, in PLANS order (I/O loop; the arguments were read in the calling thread)."""
    caps = await client.capabilities(deadline=deadline)
    ctx = _Context(client, mapping, factor_sets, name_parts, caps, {}, deadline)
    found = await asyncio.gather(*(_probe(plan, ctx) for plan in PLANS.values()))
    final = await client.capabilities(deadline=deadline)
    if not final.post_search and final.sources.get("post_search") == ANSWER:
        for plan, findings in zip(PLANS.values(), found, strict=True):
            if plan.core.permission == "s" and plan.tool not in caps.withheld:
                findings.fall_back("falls back to GET searches (the server refused POST _search)", ANSWER)
    return [findings.outcome(plan.tool) for plan, findings in zip(PLANS.values(), found, strict=True)]


async def _probe(plan: QueryPlan, ctx: _Context) -> _Findings:
    if plan.tool in ctx.caps.withheld:
        return _withheld_core(plan.core, *ctx.caps.withheld[plan.tool])
    if plan.tool == "messages" and not ctx.caps.preset.communication_search_param:
        found = _Findings()
        found.fail(NOT_SUPPORTED, "not supported by this vendor (no patient-level Communication search)", PRESET)
        return found
    core = _verify(ctx) if plan.tool == "verify" else _core(plan, ctx)
    enrichments = (_enrichment(plan, e, ctx) for e in plan.enrichments if e.name != "match")
    parts = await asyncio.gather(core, *enrichments)
    found = _Findings()
    for part in parts:
        found.add(part)
    found.add(_includes_dropped(plan, ctx))
    return found


def _withheld_core(need: Need, source: str, why: str) -> _Findings:
    found = _Findings()
    found.probes.append(Probe(f"{need.resource_type} {_action(need)}", f"not asked: {_reason(why)}", False))
    if source == SERVER:
        found.fail(NOT_SUPPORTED, "not supported by this server", source)
    else:
        found.fail(REFUSED, f"refused: ask the health system for {ask(need.resource_type)}", source,
                   ask(need.resource_type))  # fmt: skip
    return found


def _synthetic(factor_set: list[str], name_parts: list[str], caps: Capabilities) -> dict[str, str]:
    """What a caller who completed this set gave: the set, the name parts always asked for and what the
    vendor's search sets need besides (as calls/verification/identity_match.py asks for them)."""
    wanted = list(dict.fromkeys([*factor_set, *name_parts]))
    wanted += [f for f in extra_identifiers_needed(caps.preset, set(wanted)) if f not in wanted]
    return {name: PROBE_IDENTITY[name] for name in wanted}


def _searches(factor_set: list[str], given: dict[str, str], caps: Capabilities) -> tuple[str, bool]:
    """How the verification of this set searches, in words, and whether it searches at all."""
    preset = caps.preset
    usable = _usable_sets(preset, set(given))
    steps = ["$match"] if preset.supports_match and all(k in given for k in MATCH_NEEDS) else []
    if usable:
        steps.append("Patient search " + " + ".join(_params(usable[0], given, preset)))
    asked = [k for k in given if k not in factor_set]
    label = " + ".join(factor_set) + (f" (with {', '.join(asked)})" if asked else "")
    return f"{label}: {', then '.join(steps) or 'no search the vendor accepts'}", bool(steps)


async def _verify(ctx: _Context) -> _Findings:
    """Each factor set's verification search, one after another: a refused `$match` is asked once."""
    found, wants_match = _Findings(), False
    for factor_set in ctx.factor_sets:
        before = await ctx.client.capabilities(deadline=ctx.deadline)
        given = _synthetic(factor_set, ctx.name_parts, before)
        wants_match = wants_match or all(k in given for k in MATCH_NEEDS)
        what, searches = _searches(factor_set, given, before)
        if not searches:
            found.probes.append(Probe(what, "not asked", False))
            found.fail(UNAVAILABLE, f"unavailable ({' + '.join(factor_set)} cannot be searched at this vendor)")
            continue
        try:
            candidates = await find_candidates(ctx.client, ctx.mapping, given, deadline=ctx.deadline)
        except EHRError as exc:
            found.add(_core_failed(PLANS["verify"].core, what, exc, ctx))
            continue
        after = await ctx.client.capabilities(deadline=ctx.deadline)
        if before.preset.supports_match and not after.preset.supports_match:
            found.fall_back("falls back to the search sets ($match refused by the server, for an hour)", ANSWER)
        found.probes.append(Probe(what, _count(len(candidates)), not candidates))
    if wants_match and ("verify", "match") in ctx.caps.enrichments_off:
        source, why = ctx.caps.enrichments_off[("verify", "match")]
        found.fall_back(f"falls back to the search sets ({why}; source: {source})", source)
    return found


async def _core(plan: QueryPlan, ctx: _Context) -> _Findings:
    """The tool's real fetch for a patient who exists nowhere: an empty answer (or a 404 read) works."""
    found = _Findings()
    what = f"{plan.core.resource_type} {_action(plan.core)} for a patient id that exists nowhere"
    try:
        count = await _fetch(plan.tool, ctx)
    except EHRRequestRejected as exc:
        if exc.status == 404 and plan.core.permission == "r":
            found.probes.append(Probe(what, "404: served, no such patient", True))
            return found
        return _core_failed(plan.core, what, exc, ctx)
    except EHRError as exc:
        return _core_failed(plan.core, what, exc, ctx)
    found.probes.append(Probe(what, _count(count), not count))
    return found


async def _fetch(tool: str, ctx: _Context) -> int:
    client, mapping, deadline = ctx.client, ctx.mapping, ctx.deadline
    if tool == "patient":
        await records.fetch_patient(client, mapping, PROBE_ID, deadline=deadline)
        return 1
    if tool == "appointments":
        now = datetime.now(UTC)
        items = await records.fetch_appointments(
            client, mapping, PROBE_ID, when="upcoming", now=now, tz=mapping.tz, deadline=deadline
        )
    elif tool == "medications":
        items = await records.fetch_medications(client, mapping, PROBE_ID, deadline=deadline)
    else:
        items = await records.fetch_messages(client, mapping, PROBE_ID, deadline=deadline)
    return len(items)


def _core_failed(need: Need, what: str, exc: EHRError, ctx: _Context) -> _Findings:
    found = _Findings()
    found.probes.append(Probe(what, _failure(exc), False))
    if isinstance(exc, EHRRequestRejected) and exc.status == 403:
        scope = ask(need.resource_type)
        found.fail(REFUSED, f"refused: ask the health system for {scope}", SERVER, scope)
    elif isinstance(exc, EHRRequestRejected) and exc.status in NOT_SERVED and need.permission == "s":
        found.fail(NOT_SUPPORTED, "not supported by this server", SERVER)
    elif isinstance(exc, EHRUnavailable) and exc.reason == "not_supported":
        found.fail(NOT_SUPPORTED, "not supported by this server", SERVER)
    else:
        found.fail(UNAVAILABLE, f"unavailable ({diagnose(exc, ctx.client.config)})")
    return found


async def _enrichment(plan: QueryPlan, enrichment: Enrichment, ctx: _Context) -> _Findings:
    empty = ", ".join(enrichment.fields)
    if not ctx.caps.enrichment(plan.tool, enrichment.name):
        source, why = ctx.caps.enrichments_off[(plan.tool, enrichment.name)]
        found = _Findings([Probe(enrichment.description, f"not asked: {_reason(why)}", False)])
        scopes = [ask(n.resource_type) for n in enrichment.needs] if source == GRANT else []
        asking = f": ask the health system for {' and '.join(scopes)}" if scopes else ""
        found.fall_back(f"{empty} stay empty ({_reason(why)}{asking})", source)
        found.ask_for += scopes
        return found
    if enrichment.name == "dispenses":
        return await _dispenses(enrichment, ctx)
    found = _Findings()
    for part in await asyncio.gather(*(_reference_read(n, ctx) for n in enrichment.needs)):
        found.add(part)
    return found


async def _dispenses(enrichment: Enrichment, ctx: _Context) -> _Findings:
    param = ctx.caps.preset.dispense_search_param
    if not param:
        return _Findings([Probe(enrichment.description, "not used: the vendor gives no dispenses", True)])
    what = f"MedicationDispense search ({param}) for a patient id that exists nowhere"
    try:
        result = await ctx.client.search("MedicationDispense", {param: f"Patient/{PROBE_ID}"}, deadline=ctx.deadline)
    except EHRError as exc:
        return _enrichment_failed(what, ", ".join(enrichment.fields), "MedicationDispense", exc, ctx)
    return _Findings([Probe(what, _count(len(result.resources)), not result.resources)])


async def _reference_read(need: Need, ctx: _Context) -> _Findings:
    what = f"{need.resource_type} read of an id that exists nowhere"
    if need.resource_type not in ctx.caps.preset.readable_references:
        return _Findings([Probe(what, "not asked: not read at this site", True)])
    if need.resource_type not in ctx.reads:
        ctx.reads[need.resource_type] = asyncio.ensure_future(_read(need.resource_type, ctx))
    error = await asyncio.shield(ctx.reads[need.resource_type])
    if error is None:
        return _Findings([Probe(what, "404: served", True)])
    return _enrichment_failed(what, f"names behind {need.resource_type} references", need.resource_type, error, ctx)


async def _read(resource_type: str, ctx: _Context) -> EHRError | None:
    """None when the server serves reads of the type (a 404 for the unknown id, or a resource)."""
    try:
        await ctx.client.read(resource_type, PROBE_ID, deadline=ctx.deadline)
    except EHRRequestRejected as exc:
        return None if exc.status == 404 else exc
    except EHRError as exc:
        return exc
    return None


def _enrichment_failed(what: str, empty: str, resource_type: str, exc: EHRError, ctx: _Context) -> _Findings:
    found = _Findings([Probe(what, _failure(exc), False)])
    if isinstance(exc, EHRRequestRejected) and exc.status == 403:
        scope = ask(resource_type)
        found.fall_back(f"{empty} stay empty ({resource_type} refused: ask the health system for {scope})",
                        SERVER, scope)  # fmt: skip
    else:
        found.fall_back(f"{empty} stay empty ({diagnose(exc, ctx.client.config)})", SERVER)
    return found


def _includes_dropped(plan: QueryPlan, ctx: _Context) -> _Findings:
    """An `_include` the site wants that the server does not list: names come from reads instead."""
    found = _Findings()
    site = overrides.apply(ctx.client.site.preset, dict(ctx.client.site.overrides))
    resource_type = plan.core.resource_type
    dropped = [i for i in site.includes_for(resource_type) if i not in ctx.caps.preset.includes_for(resource_type)]
    if dropped and plan.tool not in ctx.caps.withheld:
        source = ctx.caps.sources.get("includes", SERVER)
        found.fall_back(f"falls back to reference reads for names (no {', '.join(dropped)}: {source})", source)
    return found


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _reason(why: str) -> str:
    """A capabilities diagnosis without its request (this report asks for read and search: `.rs`)."""
    return why.split(": ask the health system for")[0]


def _action(need: Need) -> str:
    return {"r": "read", "s": "search"}[need.permission]


def _count(n: int) -> str:
    return f"answered, {n} {'entry' if n == 1 else 'entries'}"


def _failure(exc: EHRError) -> str:
    if isinstance(exc, EHRRequestRejected):
        return f"refused ({exc.status} {exc.reason})"
    if isinstance(exc, EHRUnavailable):
        return f"failed ({exc.reason})"
    return f"failed ({type(exc).__name__})"
