"""Answering the agent's PHI tool calls: gated by verification, from prefetch when fresh, else live."""

import asyncio
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import AgentClient, CallSession, CallState
from calls.outcomes import CallEnded, Data, Escalate, NotVerified, Unavailable
from calls.session import access_log, selectors, session_store
from calls.session.access_log import AuditContext
from calls.session.baa_gate import ensure_covered
from calls.session.transfers import ESCALATE_SAY, transfer_for
from calls.tools import followups, latency, prefetch
from calls.tools.tool_specs import TOOLS, FetchArgs, fetch, from_patient, speak, trim
from ehr_integrations.errors import EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.models import Purpose
from ehr_integrations.normalize.flat import PATIENT_PUBLIC_FIELDS
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import io_loop

PREFETCH_FRESH_SECONDS = 10 * 60
NOT_SUPPORTED = "not_supported"
NOT_PERMITTED = "not_permitted"


def _gate(call: CallSession, tool: str, context: AuditContext) -> None:
    if call.state == CallState.ENDED:
        raise CallEnded()
    if call.state == CallState.VERIFIED:
        ensure_covered(client=call.agent_client, health_system=call.health_system)
        return
    audit_read(call, context, tool, None, outcome="denied")
    if call.state == CallState.ESCALATED:
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
        raise Escalate(transfer=transfer, say=ESCALATE_SAY)
    raise NotVerified()


def _args(call: CallSession | None, values: Mapping[str, object]) -> FetchArgs:
    """The fetch arguments from the tool's validated inputs (the patient is filled in once it is read).

    Without a call (its time zone not known yet) `tz` is UTC: enough for `variant`.
    """
    return FetchArgs(
        patient_id="",
        tz=ZoneInfo(call.health_system.time_zone if call else "UTC"),
        now=timezone.now(),
        range=str(values.get("range", "upcoming")),
        status=str(values.get("status", "active")),
        limit=int(values.get("limit", 5)),
    )


def start_fetch(call: CallSession, tool: str, args: FetchArgs) -> tuple[Future, float]:
    """Start the tool's EHR fetch on the I/O loop (config read here, in the calling thread).

    Returns the fetch's future and its deadline (time.monotonic(); the fetch ends by then).
    """
    system = call.health_system
    config = connection_config(system)
    deadline = deadline_in(config.request_deadline_s)
    return io_loop.spawn(fetch(tool, client_for(system), load_mapping(system), args, deadline=deadline)), deadline


def _live(call: CallSession, tool: str, args: FetchArgs) -> object:
    started = time.monotonic()
    future, deadline = start_fetch(call, tool, args)
    try:
        return io_loop.result(future, deadline=deadline)
    finally:  # folded into the pending-mode estimate off the request path (two cache round trips)
        seconds = time.monotonic() - started
        io_loop.spawn(
            asyncio.to_thread(latency.observe, health_system=call.health_system.slug, tool=tool, seconds=seconds)
        )


def _fresh(stored: tuple[object, float] | None) -> object | None:
    if stored is None or datetime.now().timestamp() - stored[1] > PREFETCH_FRESH_SECONDS:
        return None
    return stored[0]


@dataclass(frozen=True)
class Prepared:
    """A gated tool call: the verified patient, the fetch arguments and any fresh stored answer."""

    patient: dict
    args: FetchArgs
    stored: object | None


def _prepared(args: FetchArgs, name: str, found: dict) -> Prepared:
    patient = found["patient"][0]
    return Prepared(patient, replace(args, patient_id=patient["id"]), _fresh(found.get(name)))


def prepare(*, call: CallSession, tool: str, values: Mapping[str, object], context: AuditContext) -> Prepared:
    """Gate the call and read the patient and the stored answer (one store round trip)."""
    _gate(call, tool, context)
    args = _args(call, values)
    name = tool + args.variant
    found = session_store.get_many(str(call.id), {"patient", name})
    if "patient" not in found:  # verified but the store lost the session (expired or purged)
        raise NotVerified()
    return _prepared(args, name, found)


def prepare_verified(
    *, client: AgentClient, call_id: str, tool: str, values: Mapping[str, object]
) -> tuple[CallSession, Prepared] | None:
    """A verified call's tool call read from its session store alone, noting its activity.

    The call's facts, the patient and the stored answer come in one round trip, without the
    database, which also renews the call's TTLs once the store has vouched that the call is this
    client's (another client's request leaves them as they are). None when the store cannot vouch
    for a verified call of this client, or the query is invalid: the caller then goes the database
    way (call_for_client, prepare), which answers every refusal.
    """
    args = _args(None, values)
    name = tool + args.variant
    found = session_store.read_owned(str(call_id), client.pk, {"call", "patient", name})
    if found is None:
        return None
    call = selectors.verified_call(client=client, call_id=call_id, facts=found.get("call", (None,))[0])
    if call is None or "patient" not in found:
        return None
    ensure_covered(client=client, health_system=call.health_system)
    return call, _prepared(replace(args, tz=ZoneInfo(call.health_system.time_zone)), name, found)


def answer(
    *,
    call: CallSession,
    tool: str,
    values: Mapping[str, object],
    context: AuditContext,
    prepared: Prepared | None = None,
) -> Data:
    """The tool's answer; raises NotVerified, Escalate, CallEnded or Unavailable (never invented data)."""
    prepared = prepared or prepare(call=call, tool=tool, values=values, context=context)
    patient, args = prepared.patient, prepared.args
    patient_id = patient["id"]
    if TOOLS[tool].fetch is None:
        try:
            patient, source = _patient_record(call, patient)
        except (EHRError, TimeoutError) as exc:
            audit_read(call, context, tool, patient_id, outcome="unavailable")
            raise unavailable(call, tool, patient_id, exc) from None
        data = from_patient(patient)
    else:
        data = prepared.stored
        if data is None and not args.variant and tool in prefetch.PREFETCHED:
            data = prefetch.wait_for(str(call.id), tool)
        source = "prefetch"
        if data is None:
            source = "live"
            try:
                data = _live(call, tool, args)
            except (EHRError, TimeoutError) as exc:
                audit_read(call, context, tool, patient_id, outcome="unavailable")
                raise unavailable(call, tool, patient_id, exc) from None
    data = trim(tool, data, args)
    ids = [item["id"] for item in data] if isinstance(data, list) else [patient_id]
    audit_read(call, context, tool, patient_id, outcome="success", resource_ids=ids)
    return Data(data=TOOLS[tool].expose(data, str(call.id)), source=source, say=speak(tool, data, args))


def _patient_record(call: CallSession, patient: dict) -> tuple[dict, str]:
    """The verified patient with its public fields: kept at verification, read by the prefetch
    (verification kept only the id of a speculative search's candidate), or read now."""
    if all(name in patient for name in PATIENT_PUBLIC_FIELDS):
        return patient, "prefetch"
    prefetched = prefetch.wait_for(str(call.id), "patient")
    if isinstance(prefetched, dict) and all(name in prefetched for name in PATIENT_PUBLIC_FIELDS):
        return prefetched, "prefetch"
    system = call.health_system
    deadline = deadline_in(connection_config(system).request_deadline_s)
    read = records.fetch_patient(client_for(system), load_mapping(system), patient["id"], deadline=deadline)
    record = {"id": patient["id"]} | io_loop.wait(read, deadline=deadline).public()
    session_store.put(str(call.id), "patient", record)
    return record, "live"


def audit_read(
    call: CallSession,
    context: AuditContext,
    tool: str,
    patient_id: str | None,
    *,
    outcome: str,
    resource_ids: Sequence[str] = (),
) -> None:
    """The audit record of one read of this tool (before any PHI leaves; raises Unavailable if it cannot)."""
    spec = TOOLS[tool]
    access_log.record(
        call=call,
        context=context,
        action="read",
        outcome=outcome,
        patient_reference=patient_id,
        resource_types=list(spec.resource_types),
        resource_ids=list(resource_ids),
        data_category=spec.data_category,
    )


def reason_of(exc: Exception) -> str:
    """The contract's `reason` for an EHR failure (never PHI: machine words only)."""
    if isinstance(exc, EHRUnavailable):
        return exc.reason
    if isinstance(exc, EHRRequestRejected) and exc.status in (401, 403):
        return NOT_PERMITTED
    if isinstance(exc, EHRRequestRejected) and exc.reason == NOT_SUPPORTED:
        return NOT_SUPPORTED
    return "ehr_unavailable"


def unavailable(call: CallSession, tool: str, patient_id: str, exc: Exception) -> Unavailable:
    """The refusal for a failed fetch, typed by cause, with a staff follow-up opened for it.

    `not_permitted`: the site's grants do not cover the core query (onboarding asks for the scope;
    waiting will not help, so the follow-up goes to staff at once); a 429 keeps `rate_limited` and its
    Retry-After; anything else the EHR cannot answer now is `ehr_unavailable` or its own reason.
    """
    reason = reason_of(exc)
    retry_after = exc.retry_after if isinstance(exc, EHRUnavailable) else None
    if reason != NOT_SUPPORTED:  # nothing to retry: this EHR cannot answer it at all
        followups.open_followup(call=call, tool=tool, patient_reference=patient_id, reason=reason)
    transfer = transfer_for(health_system=call.health_system, purpose=TOOLS[tool].purpose)
    return Unavailable(
        reason=reason,
        transfer=transfer,
        say=TOOLS[tool].unavailable_say,
        retry_after_ms=None if reason == NOT_PERMITTED else int((retry_after or 30) * 1000),
    )
