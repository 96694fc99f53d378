"""Each site's effective capabilities: the vendor preset as a first guess, checked against what the
server advertises, what the token grants and what the server's answers refused, with the onboarding
engineer's overrides last.

Sources, in the order they apply (each value remembers the one that decided it):
- preset: the vendor's YAML (ehr_integrations/presets/);
- server: the CapabilityStatement (resources, interactions, search parameters, `searchInclude`s,
  operations) recorded by Test connection (`EHRConnection.server_capabilities`); unknown until then;
- grant: the scopes the current token response granted (SMART v1 or v2 grammar);
- answer: a refusal the server answered at run time (`$match`, `POST _search`), remembered for an
  hour per connection in the shared cache;
- override: the site's `capabilities:` (presets/overrides.py), which wins over everything but a grant
  (an override cannot make the EHR answer what the token does not allow).
A withheld core query makes the tool `not_permitted`; a withheld enrichment is left out.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ehr_integrations.auth import scopes as smart_scopes
from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.presets import Preset, overrides
from ehr_integrations.query_plans import PLANS, QueryPlan

Allowed = Callable[[str, str], tuple[str, str] | None]  # (type, r|s) -> None, or (source, diagnosis)
PRESET, SERVER, GRANT, ANSWER, OVERRIDE = "preset", "server", "grant", "answer", "override"
# What each _include the presets use brings along (an unknown one is kept only if "?" could be read: never).
INCLUDE_TARGETS = {
    "Appointment:actor": ("Practitioner", "Location", "PractitionerRole"),
    "Appointment:practitioner": ("Practitioner",),
    "Appointment:location": ("Location",),
    "MedicationRequest:medication": ("Medication",),
    "MedicationRequest:requester": ("Practitioner", "PractitionerRole", "Organization"),
    "Communication:sender": ("Practitioner", "PractitionerRole", "Organization"),
}


@dataclass(frozen=True)
class ServerFacts:
    """What one CapabilityStatement advertises; `known` is False before any was recorded."""

    resources: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    known: bool = False

    @classmethod
    def parse(cls, statement: dict) -> "ServerFacts":
        resources: dict[str, dict] = {}
        for rest in statement.get("rest") or []:
            if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
                continue
            for resource in rest.get("resource") or []:
                if isinstance(resource, dict) and isinstance(resource.get("type"), str):
                    resources[resource["type"]] = _resource_facts(resource)
        # A stub statement (a proxy's, or one listing no resources) tells nothing: the preset decides.
        return cls(MappingProxyType(resources), known=bool(resources))

    @classmethod
    def from_json(cls, value: dict | None) -> "ServerFacts":
        if not value or "resources" not in value:
            return cls()
        return cls(MappingProxyType({k: dict(v) for k, v in value["resources"].items()}), known=True)

    def to_json(self) -> dict:
        return {"resources": dict(self.resources)}

    def supports(self, resource_type: str, permission: str) -> bool | None:
        """Whether the resource's read (r) or search (s) is advertised; None when nothing is known."""
        if not self.known:
            return None
        listed = self.resources.get(resource_type)
        if listed is not None and not listed.get("interactions"):
            return None  # listed without interactions: not a claim either way
        interaction = {"r": "read", "s": "search-type", "c": "create"}[permission]
        return interaction in (listed or {}).get("interactions", ())

    def conditional_create(self, resource_type: str) -> bool:
        """Whether the statement says the server honours If-None-Exist on this type (never assumed)."""
        return bool(self.resources.get(resource_type, {}).get("conditional_create"))

    def operation(self, resource_type: str, name: str) -> bool | None:
        if not self.known:
            return None
        return name in self.resources.get(resource_type, {}).get("operations", ())

    def includes(self, resource_type: str) -> tuple[str, ...] | None:
        if not self.known:
            return None
        return tuple(self.resources.get(resource_type, {}).get("includes", ()))

    def search_params(self, resource_type: str) -> tuple[str, ...] | None:
        if not self.known or resource_type not in self.resources:
            return None
        return tuple(self.resources[resource_type].get("search_params", ()))


def _resource_facts(resource: dict) -> dict:
    def names(key: str, name_key: str) -> list[str]:
        items = resource.get(key) or []
        return sorted({i[name_key] for i in items if isinstance(i, dict) and isinstance(i.get(name_key), str)})

    operations = {name.lstrip("$") for name in names("operation", "name")}
    return {
        "interactions": names("interaction", "code"),
        "search_params": names("searchParam", "name"),
        "includes": sorted({i for i in resource.get("searchInclude") or [] if isinstance(i, str)}),
        "operations": sorted(operations),
        "conditional_create": resource.get("conditionalCreate") is True,
    }


@dataclass(frozen=True)
class Capabilities:
    """The effective capabilities: a Preset of effective values, and where each came from."""

    preset: Preset
    post_search: bool
    withheld: MappingProxyType  # tool -> (source, diagnosis) for each tool whose core query is withheld
    enrichments_off: MappingProxyType  # (tool, enrichment) -> (source, diagnosis)
    sources: MappingProxyType  # capability name -> source

    def permits(self, tool: str) -> bool:
        return tool not in self.withheld

    def applied_to(self, mapping: Mapping) -> Mapping:
        """The field mapping reading the MRN the way this site marks it (an `mrn_system` override)."""
        if mapping.preset.mrn_identifier == self.preset.mrn_identifier:
            return mapping
        return replace(mapping, preset=replace(mapping.preset, mrn_identifier=self.preset.mrn_identifier))

    def require(self, tool: str) -> "Capabilities":
        """Itself, if the tool's core query may run: a withheld one raises before the EHR is asked
        (not granted: EHRRequestRejected 403, typed `not_permitted`; not served: `not_supported`)."""
        if tool not in self.withheld:
            return self
        source, _ = self.withheld[tool]
        if source == SERVER:
            raise EHRUnavailable("not_supported")
        raise EHRRequestRejected(403, "not_permitted")

    def enrichment(self, tool: str, name: str) -> bool:
        return (tool, name) not in self.enrichments_off

    def rows(self) -> list[tuple[str, str, str]]:
        """(capability, value, source) for the admin, in a stable order."""
        p = self.preset
        values = {
            "supports_match": str(p.supports_match).lower(),
            "patient_search_sets": "; ".join(" + ".join(s) for s in p.patient_search_sets),
            "mrn_system": p.mrn_identifier.search_system or "(any system: bare value)",
            "includes": "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(p.includes.items()) if v) or "none",
            "post_search": str(self.post_search).lower(),
            "dispenses": str(p.dispense_search_param is not None).lower(),
            "reference_reads": ", ".join(p.readable_references) or "none",
        }
        rows = [(name, value, self.sources.get(name, PRESET)) for name, value in values.items()]
        rows += [(f"{tool} (core query)", f"withheld: {why}", source) for tool, (source, why) in self.withheld.items()]
        return rows


@dataclass(frozen=True)
class Inputs:
    """Everything but the grant and the run-time refusals, read in the calling thread."""

    preset: Preset  # the vendor's
    facts: ServerFacts
    overrides: MappingProxyType


def effective(inputs: Inputs, granted: tuple[str, ...] | None, refused: frozenset[str] = frozenset()) -> Capabilities:
    """The capabilities given the grant (None: no token, e.g. an open sandbox) and answered refusals."""
    site = overrides.apply(inputs.preset, dict(inputs.overrides))
    sources = {key: OVERRIDE for key in inputs.overrides}
    if "enrichments" in inputs.overrides:
        sources.update({name: OVERRIDE for name in inputs.overrides["enrichments"]})
    allowed = _allowed(inputs.facts, granted)
    withheld = {
        tool: why for tool, plan in PLANS.items() if (why := allowed(plan.core.resource_type, plan.core.permission))
    }
    off: dict[tuple[str, str], tuple[str, str]] = {}
    for plan in PLANS.values():
        off.update(_enrichments_off(plan, allowed, dict(inputs.overrides)))
    if not site.dispense_search_param:
        off.pop(("medications", "dispenses"), None)  # the vendor gives none: refills as prescribed, not unknown
    changes: dict[str, Any] = {}
    match, sources["supports_match"] = _match(site, inputs, allowed, refused, sources.get("supports_match"))
    changes["supports_match"] = match
    if not match and site.supports_match:
        off[("verify", "match")] = (sources["supports_match"], "Patient/$match is not available")
    includes, includes_source = _includes(site, inputs.facts, allowed, sources.get("includes"))
    changes["includes"], sources["includes"] = includes, includes_source
    if ("medications", "dispenses") in off and site.dispense_search_param:
        changes["dispense_search_param"] = None
        sources["dispenses"] = off[("medications", "dispenses")][0]
    readable = tuple(t for t in site.readable_references if allowed(t, "r") is None)
    if not _enrichment_flag(inputs.overrides, "reference_reads"):
        readable = ()
    if readable != site.readable_references:
        changes["readable_references"] = readable
        sources.setdefault("reference_reads", GRANT if granted is not None else SERVER)
    if "patient_search_sets" not in inputs.overrides and (sets := _served_sets(site, inputs.facts)) is not None:
        changes["patient_search_sets"], sources["patient_search_sets"] = sets, SERVER
    post = bool(inputs.overrides.get("post_search", True)) and "post_search" not in refused
    if "post_search" in refused and "post_search" not in inputs.overrides:
        sources["post_search"] = ANSWER
    return Capabilities(
        preset=replace(site, **changes),
        post_search=post,
        withheld=MappingProxyType(withheld),
        enrichments_off=MappingProxyType(off),
        sources=MappingProxyType(sources),
    )


_memo: dict[tuple, tuple[Inputs, Capabilities]] = {}
MEMO_SIZE = 256


def effective_cached(inputs: Inputs, granted: tuple[str, ...] | None, refused: frozenset[str]) -> Capabilities:
    """`effective`, remembered per site inputs object, grant and refusals (it is pure; ~0.2 ms to compute)."""
    key = (id(inputs), granted, refused)
    found = _memo.get(key)
    if found is not None and found[0] is inputs:
        return found[1]
    if len(_memo) >= MEMO_SIZE:
        _memo.clear()
    caps = effective(inputs, granted, refused)
    _memo[key] = (inputs, caps)
    return caps


def _allowed(facts: ServerFacts, granted: tuple[str, ...] | None) -> Allowed:
    """A function (resource type, r|s) -> None when allowed, else (source, diagnosis)."""
    parsed = [s for s in (smart_scopes.parse(x) for x in granted or ()) if s is not None]

    def check(resource_type: str, permission: str) -> tuple[str, str] | None:
        action = {"r": "read", "s": "search"}[permission]
        if facts.supports(resource_type, permission) is False:
            return SERVER, f"the server does not advertise {action} on {resource_type}"
        if granted is not None and not smart_scopes.covers(parsed, resource_type, permission):
            scope = f"system/{resource_type}.{permission}"
            return GRANT, f"the token does not grant {action} on {resource_type}: ask the health system for {scope}"
        return None

    return check


def _enrichment_flag(site_overrides: MappingProxyType, name: str) -> bool:
    return bool((site_overrides.get("enrichments") or {}).get(name, True))


def _enrichments_off(plan: QueryPlan, allowed: Allowed, site_overrides: dict) -> dict:
    off = {}
    for enrichment in plan.enrichments:
        if enrichment.name == "match":
            continue  # decided with the preset, the operation and the answers (_match)
        if not _enrichment_flag(MappingProxyType(site_overrides), enrichment.name):
            off[(plan.tool, enrichment.name)] = (OVERRIDE, "switched off for this site")
            continue
        reasons = [why for need in enrichment.needs if (why := allowed(need.resource_type, need.permission))]
        if reasons and len(reasons) == len(enrichment.needs):
            off[(plan.tool, enrichment.name)] = reasons[0]
    return off


def _match(
    site: Preset, inputs: Inputs, allowed: Allowed, refused: frozenset[str], overridden: str | None
) -> tuple[bool, str]:
    search_refused = allowed("Patient", "s")
    if overridden:  # beats the preset and the server's statement, never the grant or the server's answer
        if site.supports_match and "match" in refused:
            return False, ANSWER
        return site.supports_match and search_refused is None, OVERRIDE
    if not site.supports_match:
        return False, PRESET
    advertised = inputs.facts.operation("Patient", "match")
    if advertised is False:
        return False, SERVER
    if search_refused:
        return False, search_refused[0]
    if "match" in refused:
        return False, ANSWER
    return True, SERVER if advertised else PRESET


def _served_sets(site: Preset, facts: ServerFacts) -> tuple[tuple[str, ...], ...] | None:
    """The preset's Patient search sets whose every parameter the statement lists (None: it lists none,
    or every set survives). A site that serves none of them keeps the preset's: the answer decides."""
    advertised = facts.search_params("Patient")
    if not advertised:
        return None
    kept = tuple(s for s in site.patient_search_sets if all(p in advertised for p in s))
    return kept if kept and kept != site.patient_search_sets else None


def _includes(
    site: Preset, facts: ServerFacts, allowed: Allowed, overridden: str | None
) -> tuple[MappingProxyType, str]:
    """The preset's (or the override's) _includes the server advertises and whose targets the grant
    lets us read: a server may refuse a whole search for one included resource the token cannot see."""
    kept: dict[str, tuple[str, ...]] = {}
    source = OVERRIDE if overridden else PRESET
    for resource_type, wanted in site.includes.items():
        advertised = None if overridden else facts.includes(resource_type)
        chosen = tuple(i for i in wanted if advertised is None or i in advertised)
        if chosen != tuple(wanted):
            source = SERVER
        readable = tuple(i for i in chosen if any(allowed(t, "r") is None for t in INCLUDE_TARGETS.get(i, ("?",))))
        if readable != chosen:
            source = GRANT
        kept[resource_type] = readable
    if source == PRESET and facts.known:
        source = SERVER
    return MappingProxyType(kept), source
