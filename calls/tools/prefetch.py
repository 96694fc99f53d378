"""The moment a call is verified, fetch its tools' default answers concurrently into the session store.

When verification kept only the patient's id (a speculative search's candidate, issue 24), the
patient's record is read with them, for the `patient` tool (its public fields only are stored).
"""

import asyncio
import logging
import time
from concurrent.futures import Future
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils import timezone

from calls.models import CallSession
from calls.session import events, session_store
from calls.tools import latency
from calls.tools.tool_specs import TOOLS, FetchArgs, fetch
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import FhirClient, connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.normalize.mapping import Mapping, load_mapping
from ehr_integrations.transport import io_loop, shared_cache

log = logging.getLogger(__name__)
PREFETCHED = tuple(name for name, spec in TOOLS.items() if spec.prefetch)
POLL_S = 0.02


def _marker(tool: str) -> str:
    return f"prefetching:{tool}"


def _running_key(call_id: str, tool: str) -> str:
    return session_store.marker_key(call_id, _marker(tool))


async def _unmark(call_id: str, tool: str) -> None:
    try:
        await shared_cache.delete(_running_key(call_id, tool))
    except shared_cache.CacheUnavailable:
        pass  # the marker expires with the prefetch's deadline; waiting callers stop then


async def _one(
    call_id: str, tool: str, client: FhirClient, mapping: Mapping, args: FetchArgs, deadline: float
) -> tuple[float, bool]:
    """The fetch's duration, and whether its answer was stored."""
    started = time.monotonic()
    try:
        data = await fetch(tool, client, mapping, args, deadline=deadline)
    except EHRError as exc:
        await _unmark(call_id, tool)
        log.info("prefetch of %s for call %s failed: %s", tool, call_id, type(exc).__name__)
        return time.monotonic() - started, False
    except BaseException:
        await _unmark(call_id, tool)
        raise
    # A call ended while this ran stays purged (put writes only while the store is open); the
    # marker goes in the same round trip, so a waiting tool call finds the answer as it stops waiting.
    return time.monotonic() - started, await _store(call_id, tool, data)


async def _patient(call_id: str, client: FhirClient, mapping: Mapping, patient_id: str, deadline: float) -> None:
    try:
        patient = await records.fetch_patient(client, mapping, patient_id, deadline=deadline)
    except EHRError as exc:
        await _unmark(call_id, "patient")
        log.info("prefetch of the patient for call %s failed: %s", call_id, type(exc).__name__)
        return
    except BaseException:
        await _unmark(call_id, "patient")
        raise
    if patient.id != patient_id:
        await _unmark(call_id, "patient")
        return
    await _store(call_id, "patient", {"id": patient_id} | patient.public())


async def _store(call_id: str, name: str, value: object) -> bool:
    """Store the answer and drop its marker in one round trip; the marker goes even if that fails."""
    try:
        return await asyncio.to_thread(session_store.put, call_id, name, value, clearing=[_marker(name)])
    except BaseException:
        await _unmark(call_id, name)
        raise


def _announce(call_id: str, health_system: str, done: dict[str, tuple[float, bool]]) -> None:
    """Feed the latency estimates and tell the call's socket what is ready (names only, no PHI)."""
    latency.observe_many(health_system=health_system, durations={tool: seconds for tool, (seconds, _) in done.items()})
    ready = [tool for tool, (_seconds, stored) in done.items() if stored]
    failed = [tool for tool in done if tool not in ready]
    events.publish(call_id, {"event": "prefetch.ready", "call_id": call_id, "ready": ready, "failed": failed})


async def _all(
    call_id: str,
    client: FhirClient,
    mapping: Mapping,
    args: FetchArgs,
    deadline: float,
    health_system: str = "",
    with_patient: bool = False,
) -> dict[str, float]:
    patient = [_patient(call_id, client, mapping, args.patient_id, deadline)] if with_patient else []
    done = await asyncio.gather(*(_one(call_id, t, client, mapping, args, deadline) for t in PREFETCHED), *patient)
    by_tool = dict(zip(PREFETCHED, done[: len(PREFETCHED)], strict=True))
    await asyncio.to_thread(_announce, call_id, health_system, by_tool)
    return {tool: seconds for tool, (seconds, _stored) in by_tool.items()}


def wait_for(call_id: str, tool: str) -> object | None:
    """The tool's answer from a prefetch still running for this call (in any process), once it lands.

    None at once when no prefetch of the tool is running, or as soon as it ends without an answer:
    the caller then fetches live. A tool call that arrives mid-prefetch so costs no second EHR request.
    """
    while (until := cache.get(_running_key(call_id, tool))) is not None and time.time() < until:
        time.sleep(POLL_S)
    stored = session_store.get(call_id, tool)
    return stored[0] if stored else None


def start(*, call: CallSession, patient_id: str, with_patient: bool = False) -> Future:
    """Start the prefetch on the I/O loop and return its future (the caller does not wait);
    `with_patient`: read the patient's record too (verification kept only its id)."""
    system = call.health_system
    config = connection_config(system)
    args = FetchArgs(patient_id=patient_id, tz=ZoneInfo(system.time_zone), now=timezone.now())
    deadline = deadline_in(config.request_deadline_s)
    until = time.time() + config.request_deadline_s
    timeout = int(config.request_deadline_s) + 1
    running = (*PREFETCHED, "patient") if with_patient else PREFETCHED
    session_store.set_markers(str(call.id), {_marker(tool): until for tool in running}, timeout=timeout)
    coro = _all(str(call.id), client_for(system), load_mapping(system), args, deadline, system.slug, with_patient)
    return io_loop.spawn(coro)
