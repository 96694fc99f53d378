"""Pending mode (`?wait=0`): answer at once, from the session store or with a filler to speak.

When the answer is not stored yet, the EHR fetch starts on the I/O loop and the agent gets
`pending` with a filler and the expected wait. The fetch's result goes to the session store (the
next GET answers from it and is audited then) and is announced on the call's WebSocket as
`fetch.ready`, which calls/edges/consumers.py turns into an audited `fetch.result`. A failed fetch is
remembered for a moment so the next GET answers `unavailable` at once, and is announced too.
Nothing PHI-bearing is in a pending answer, in the cache keys or in the channel layer.
A verify turn past the voice deadline goes pending the same way (calls/verification/pending_turns.py):
the same claim, worker pool and filler.
"""

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.core.cache import cache
from django.db import close_old_connections

from calls.contract import refusal_envelope
from calls.models import CallSession
from calls.outcomes import Data, Pending, Transfer, Unavailable
from calls.session import access_log, events, session_store
from calls.session.access_log import AuditContext
from calls.tools import answers as tools
from calls.tools import fillers, latency
from calls.tools.tool_specs import TOOLS, FetchArgs
from ehr_integrations.errors import EHRError

log = logging.getLogger(__name__)
FAILURE_KEPT_S = 30
CLAIM_S = 60  # longer than any fetch's deadline; the claim is released when the fetch ends
# Starting and finishing a fetch read config and write the store, the audit log and the event:
# short database work, kept off both the request thread and the I/O loop.
_workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pending-fetch")


@dataclass(frozen=True)
class Job:
    """One background fetch: plain values only (ids, no PHI)."""

    call_id: str
    health_system: str
    tool: str
    name: str  # where the answer is stored: tool + query variant
    query: dict
    patient_id: str
    correlation_id: str
    started: float


def _state_key(call_id: str, name: str) -> str:
    return session_store.marker_key(call_id, marker(name))


def marker(name: str) -> str:
    """The call's marker (session_store.MARKERS) of the background work behind answer `name`."""
    return f"pending:{name}"


def _query_of(args: FetchArgs) -> dict:
    return {"range": args.range, "status": args.status, "limit": str(args.limit)}


def answer(
    *,
    call: CallSession,
    tool: str,
    values: Mapping[str, object],
    context: AuditContext,
    prepared: tools.Prepared | None = None,
) -> Data | Pending:
    """The stored answer now, or `pending` while the fetch runs; raises what tools.answer raises."""
    if TOOLS[tool].fetch is None:  # answered from the session store
        return tools.answer(call=call, tool=tool, values=values, context=context, prepared=prepared)
    prepared = prepared or tools.prepare(call=call, tool=tool, values=values, context=context)
    if prepared.stored is not None:
        return tools.answer(call=call, tool=tool, values=values, context=context, prepared=prepared)
    patient, args = prepared.patient, prepared.args
    name = tool + args.variant
    state = cache.get(_state_key(str(call.id), name))
    if isinstance(state, dict):  # the last fetch failed a moment ago
        release(str(call.id), name)
        raise Unavailable(**state | {"transfer": Transfer(**state["transfer"])})
    if state is None:
        _start(call, tool, name, args, patient["id"], context.correlation_id)
    return filler(call=call, tool=tool)


def filler(*, call: CallSession, tool: str, waited_ms: int = 0) -> Pending:
    """The `pending` answer: a filler to speak and when to ask again (the expected rest of the wait)."""
    estimate = latency.estimate_ms(health_system=call.health_system.slug, tool=tool)
    return Pending(filler=fillers.pick(call=call, tool=tool), retry_after_ms=max(latency.MIN_MS, estimate - waited_ms))


def claim(call_id: str, name: str) -> bool:
    """Claim the background work behind one answer; False while another request's work runs (or the call ended)."""
    return session_store.set_markers(call_id, {marker(name): "running"}, timeout=CLAIM_S, only_new=True)


def running(call_id: str, name: str, seen: session_store.Seen | None = None) -> bool:
    """Whether that work runs (as `seen` found it, when given)."""
    state = seen.marker(marker(name)) if seen is not None else cache.get(_state_key(call_id, name))
    return state == "running"


def release(call_id: str, name: str) -> None:
    cache.delete(_state_key(call_id, name))


def when_done(future: Future, fn: Callable[..., None], *args: object) -> None:
    """Run fn(*args, future) on the worker pool once that I/O-loop work ends (at once if it has)."""
    future.add_done_callback(lambda done: _after(fn, args, done))


def _start(call: CallSession, tool: str, name: str, args: FetchArgs, patient_id: str, correlation_id: str) -> None:
    job = Job(
        call_id=str(call.id),
        health_system=call.health_system.slug,
        tool=tool,
        name=name,
        query=_query_of(args),
        patient_id=patient_id,
        correlation_id=correlation_id,
        started=time.monotonic(),
    )
    # Claim the fetch: another `wait=0` for the same answer while it runs only gets a filler.
    if claim(job.call_id, name):
        _submit(_begin, job, call, args)


def _submit(fn: Callable[..., None], *args: object) -> None:
    """Run fn on the worker pool; a failure there is logged (no request is left to report it)."""
    _workers.submit(fn, *args).add_done_callback(_log_failure)


def _log_failure(done: Future) -> None:
    if done.exception() is not None:
        log.error("pending fetch step failed: %s", type(done.exception()).__name__, exc_info=done.exception())


def _begin(job: Job, call: CallSession, args: FetchArgs) -> None:
    """Read the connection config and start the fetch: off the request thread, so `pending` is instant."""
    try:
        future, _deadline = tools.start_fetch(call, job.tool, args)
    except BaseException:
        release(job.call_id, job.name)
        raise
    finally:
        close_old_connections()
    when_done(future, _finish, job)


def _after(fn: Callable[..., None], args: tuple, done: Future) -> None:
    """Runs on the I/O loop: hand the result to a worker at once, never block the loop."""
    try:
        _submit(fn, *args, done)
    except RuntimeError:  # the process is shutting down: the claim expires by itself
        log.info("pending work %s dropped at shutdown", getattr(fn, "__name__", "?"))


def _finish(job: Job, done: Future) -> None:
    try:
        latency.observe(health_system=job.health_system, tool=job.tool, seconds=time.monotonic() - job.started)
        try:
            data = done.result()
        except (EHRError, TimeoutError) as exc:
            _failed(job, exc)
            return
        stored = session_store.put(job.call_id, job.name, data)
        release(job.call_id, job.name)
        if stored:
            events.publish(job.call_id, _ready_event(job))
    finally:
        close_old_connections()


def _ready_event(job: Job) -> dict:
    return {"event": "fetch.ready", "tool": job.tool, "query": job.query, "correlation_id": job.correlation_id}


def _failed(job: Job, exc: Exception) -> None:
    call = CallSession.objects.select_related("health_system", "agent_client").filter(pk=job.call_id).first()
    if call is None:
        return
    spec = TOOLS[job.tool]
    try:
        access_log.record(
            call=call,
            context=AuditContext.background(job.correlation_id),
            action="read",
            outcome="unavailable",
            patient_reference=job.patient_id,
            resource_types=list(spec.resource_types),
            data_category=spec.data_category,
        )
        refusal = tools.unavailable(call, job.tool, job.patient_id, exc)
    except Unavailable as audit_down:
        refusal = audit_down
    remembered = {
        "reason": refusal.reason,
        "transfer": refusal.transfer.as_dict(),
        "say": refusal.say,
        "retry_after_ms": refusal.retry_after_ms,
    }
    session_store.set_markers(job.call_id, {marker(job.name): remembered}, timeout=FAILURE_KEPT_S)
    _, body = refusal_envelope(refusal)
    events.publish(job.call_id, {"event": "unavailable", "tool": job.tool, "query": job.query} | body)
