"""Answering the agent's PHI tool calls: gated by verification, from prefetch when fresh, else live."""

import asyncio
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from calls.models import CallSession, CallState
from calls.outcomes import CallEnded, Data, Escalate, InvalidInput, NotVerified, Unavailable
from calls.session import access_log, selectors, session_store
from calls.session.baa_gate import ensure_covered
from calls.session.transfers import transfer_for
from calls.tools import followups, latency, prefetch
from calls.tools.tool_specs import MEDICATION_STATUSES, RANGES, TOOLS, FetchArgs, fetch, speak, trim
from calls.verification.turns import ESCALATE_SAY
from ehr_integrations.errors import EHRError, EHRUnavailable
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import Purpose
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import io_loop

PREFETCH_FRESH_SECONDS = 10 * 60
NOT_SUPPORTED = "not_supported"
UNAVAILABLE_SAY = {
    "appointments": "I'm not able to pull up your appointments right now. I can connect you with scheduling.",
    "medications": "I'm not able to check your medications right now. I can connect you with the pharmacy team.",
    "messages": "I'm not able to check your messages right now. I can connect you with someone who can help.",
    "patient": "I'm not able to pull up your record right now. I can connect you with someone who can help.",
}


def _gate(call: CallSession, tool: str, request) -> None:
    if call.state == CallState.ENDED:
        raise CallEnded()
    if call.state == CallState.VERIFIED:
        ensure_covered(client=call.agent_client, health_system=call.health_system)
        return
    _audit_read(call, request, tool, None, outcome="denied")
    if call.state == CallState.ESCALATED:
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
        raise Escalate(transfer=transfer, say=ESCALATE_SAY)
    raise NotVerified()


def _args(call: CallSession | None, query) -> FetchArgs:
    """The fetch arguments from the agent's query (the patient is filled in once it is read).

    Without a call (its time zone not known yet) `tz` is UTC: enough for `variant`.
    """
    when = query.get("range", "upcoming")
    if when not in RANGES:
        raise InvalidInput(errors={"range": "must be upcoming or past"})
    if query.get("status", "active") not in MEDICATION_STATUSES:
        raise InvalidInput(errors={"status": "must be a FHIR MedicationRequest status, e.g. active"})
    return FetchArgs(
        patient_id="",
        tz=ZoneInfo(call.health_system.time_zone if call else "UTC"),
        now=timezone.now(),
        range=when,
        status=query.get("status", "active"),
        limit=_limit(query.get("limit", "5")),
    )


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise InvalidInput(errors={"limit": "must be a whole number from 1 to 50"})
    return int(raw)


def start_fetch(call: CallSession, tool: str, args: FetchArgs) -> tuple[Future, float]:
    """Start the tool's EHR fetch on the I/O loop (config read here, in the calling thread).

    Returns the fetch's future and its time budget in seconds (the fetch ends by then).
    """
    system = call.health_system
    config = connection_config(system)
    coro = fetch(tool, fhir_client(config), load_mapping(system), args, deadline=deadline_in(config.request_deadline_s))
    return io_loop.spawn(coro), config.request_deadline_s


def _live(call: CallSession, tool: str, args: FetchArgs):
    started = time.monotonic()
    future, budget = start_fetch(call, tool, args)
    try:
        return future.result(timeout=budget + 0.5)
    except TimeoutError:
        future.cancel()
        raise
    finally:  # folded into the pending-mode estimate off the request path (two cache round trips)
        seconds = time.monotonic() - started
        io_loop.spawn(
            asyncio.to_thread(latency.observe, health_system=call.health_system.slug, tool=tool, seconds=seconds)
        )


def _fresh(stored: tuple[object, float] | None):
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


def prepare(*, call: CallSession, tool: str, query, request) -> Prepared:
    """Gate the call, parse the query, and read the patient and the stored answer (one store round trip)."""
    _gate(call, tool, request)
    args = _args(call, query)
    name = tool + args.variant
    found = session_store.get_many(str(call.id), {"patient", name})
    if "patient" not in found:  # verified but the store lost the session (expired or purged)
        raise NotVerified()
    return _prepared(args, name, found)


def prepare_verified(*, client, call_id, tool: str, query) -> tuple[CallSession, Prepared] | None:
    """A verified call's tool call read from its session store alone, noting its activity.

    The call's facts, the patient and the stored answer come in one round trip, without the
    database, which also renews the call's TTLs once the store has vouched that the call is this
    client's (another client's request leaves them as they are). None when the store cannot vouch
    for a verified call of this client, or the query is invalid: the caller then goes the database
    way (call_for_client, prepare), which answers every refusal.
    """
    try:
        args = _args(None, query)
    except InvalidInput:
        return None
    name = tool + args.variant
    found = session_store.read_owned(str(call_id), client.pk, {"call", "patient", name})
    if found is None:
        return None
    call = selectors.verified_call(client=client, call_id=call_id, facts=found.get("call", (None,))[0])
    if call is None or "patient" not in found:
        return None
    ensure_covered(client=client, health_system=call.health_system)
    return call, _prepared(replace(args, tz=ZoneInfo(call.health_system.time_zone)), name, found)


def answer(*, call: CallSession, tool: str, query, request, prepared: Prepared | None = None) -> Data:
    """The tool's answer; raises NotVerified, Escalate, CallEnded or Unavailable (never invented data)."""
    prepared = prepared or prepare(call=call, tool=tool, query=query, request=request)
    patient, args = prepared.patient, prepared.args
    patient_id = patient["id"]
    if tool == "patient":
        data, source = (
            {k: patient.get(k) for k in ("given_name", "family_name", "preferred_name", "phone")},
            "prefetch",
        )
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
                _audit_read(call, request, tool, patient_id, outcome="unavailable")
                raise unavailable(call, tool, patient_id, exc) from None
    data = trim(tool, data, args)
    ids = [item["id"] for item in data] if isinstance(data, list) else [patient_id]
    _audit_read(call, request, tool, patient_id, outcome="success", resource_ids=ids)
    return Data(data=data, source=source, say=speak(tool, data, args))


def _audit_read(
    call: CallSession, request, tool: str, patient_id: str | None, *, outcome: str, resource_ids=()
) -> None:
    spec = TOOLS[tool]
    access_log.record(
        call=call,
        request=request,
        action="read",
        outcome=outcome,
        patient_reference=patient_id,
        resource_types=list(spec.resource_types),
        resource_ids=list(resource_ids),
        data_category=spec.data_category,
    )


def unavailable(call: CallSession, tool: str, patient_id: str, exc: Exception) -> Unavailable:
    """The refusal for a failed fetch, with a staff follow-up opened for it."""
    reason = exc.reason if isinstance(exc, EHRUnavailable) else "ehr_unavailable"
    retry_after = exc.retry_after if isinstance(exc, EHRUnavailable) else None
    if reason != NOT_SUPPORTED:  # nothing to retry: this EHR cannot answer it at all
        followups.open_followup(call=call, tool=tool, patient_reference=patient_id, reason=reason)
    transfer = transfer_for(health_system=call.health_system, purpose=TOOLS[tool].purpose)
    return Unavailable(
        reason=reason,
        transfer=transfer,
        say=UNAVAILABLE_SAY[tool],
        retry_after_ms=int((retry_after or 30) * 1000),
    )
