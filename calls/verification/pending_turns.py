"""A verify turn that outlasts the voice deadline (`VERIFY_VOICE_DEADLINE_S`, 2.5 s by default).

A caller left in silence for the EHR's whole request deadline (8 s) hangs up, so a turn waits for
the patient search at most the voice deadline. Past it, a turn that asked for the pending mode
(`?wait=0`, as the read tools do) answers `pending` with a filler while the search runs on within
the request deadline; its verdict is then decided once, on the pending-mode workers, by the same
code as a synchronous turn (attempt counts, lockouts, audit), kept in the call's encrypted session
store until the next turn collects it, and announced on the call's WebSocket as `verify.result`.
A turn that did not ask for it answers `unavailable` (`ehr_slow`) and its search is cancelled:
no verdict, so the attempt is given back, as when the EHR is down.

The claim (calls/tools/pending.py, under the name `verify`) keeps a call to one pending search: a
turn while it runs answers `pending` again and takes none of its identifiers. Nothing PHI-bearing
is in a cache key, the claim, a log line or the event; the identifiers stay in this process.
"""

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from concurrent import futures

from django.conf import settings
from django.db import close_old_connections

from calls import contract
from calls.models import CallSession
from calls.outcomes import CallEnded, CallRefusal, Escalate, NeedsMore, Pending, Transfer, Unavailable, Verified
from calls.session import events, session_store
from calls.session.transfers import transfer_for
from calls.tools import latency, pending
from compliance.phi_logging import sensitive_phi
from ehr_integrations.models import Purpose
from ehr_integrations.transport.io_loop import deadline_in

NAME = "verify"  # the claim's name, the filler's tool and the latency estimate's
VERDICT = "verdict"  # in the session store (session_store.NAMES)
EHR_SLOW = "ehr_slow"
SLOW_SAY = (
    "Our records system is slow to answer right now, so I can't confirm your identity. Let me connect you with someone."
)
READ_AHEAD = ((VERDICT,), (pending.marker(NAME),))  # what `earlier` reads: entries, markers
KEPT = {kind.__name__: kind for kind in (NeedsMore, Verified, Escalate, Unavailable, CallEnded)}
Verdict = NeedsMore | Verified


def voice_deadline() -> float:
    """When the turn must answer the caller (time.monotonic())."""
    return deadline_in(settings.VERIFY_VOICE_DEADLINE_S)


def finished_in_time(search: futures.Future, *, deadline: float) -> bool:
    """Wait for the search until the voice deadline; whether it ended. Past it the search runs on.

    Not io_loop.result: that one cancels the work at its deadline, and a pending turn's goes on.
    """
    done, _ = futures.wait([search], timeout=max(0.0, deadline - time.monotonic()))
    return bool(done)


def claim(call: CallSession) -> bool:
    """Take the call's one pending search; False while another turn's runs."""
    return pending.claim(str(call.id), NAME)


def release(call: CallSession) -> None:
    pending.release(str(call.id), NAME)


def pending_answer(call: CallSession, waited_s: float = 0.0) -> Pending:
    return pending.filler(call=call, tool=NAME, waited_ms=int(waited_s * 1000))


def too_slow(call: CallSession) -> Unavailable:
    """No verdict within the voice deadline and no pending mode asked for: hand the caller over."""
    transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
    return Unavailable(reason=EHR_SLOW, transfer=transfer, say=SLOW_SAY)


@sensitive_phi
def fingerprint(identifiers: Mapping[str, object]) -> str:
    """A keyed hash of what one turn said (kept encrypted with its verdict): a poll that repeats it collects it."""
    said = json.dumps({name: str(value) for name, value in identifiers.items()}, sort_keys=True)
    return hmac.new(settings.SECRET_KEY.encode(), f"verify-turn:{said}".encode(), hashlib.sha256).hexdigest()


def hand_over(
    call: CallSession,
    search: futures.Future,
    decide: Callable[[], Verdict],
    *,
    turn: str,
    correlation_id: str,
    started: float,
) -> Pending:
    """`pending` now; `decide` (the turn's verdict) runs on a worker once the search ends. The claim is held."""
    job = (str(call.id), call.health_system.slug, decide, turn, correlation_id, started)
    pending.when_done(search, _decide_later, *job)
    return pending_answer(call, time.monotonic() - started)


def _decide_later(*job: object) -> None:
    """On a worker, once the search has ended: the verdict, kept and announced; the claim released."""
    call_id, slug, decide, turn, correlation_id, started, _search = job
    try:
        latency.observe(health_system=slug, tool=NAME, seconds=time.monotonic() - started)
        try:
            result: Verdict | CallRefusal = decide()
        except CallRefusal as refusal:
            result = refusal
        _keep(call_id, result, turn, correlation_id)
    finally:
        pending.release(call_id, NAME)
        close_old_connections()


def _keep(call_id: str, result: Verdict | CallRefusal, turn: str, correlation_id: str) -> None:
    """Keep the verdict for the next turn (unless the call ended) and announce it on the socket."""
    kept = {"kind": type(result).__name__, "fields": dataclasses.asdict(result), "turn": turn}
    if not session_store.put(call_id, VERDICT, kept):
        return
    _, body = contract.refusal_envelope(result) if isinstance(result, CallRefusal) else contract.envelope(result)
    events.publish(call_id, {"event": "verify.result", "call_id": call_id, "correlation_id": correlation_id} | body)


@sensitive_phi
def earlier(call: CallSession, identifiers: Mapping[str, object], seen: session_store.Seen) -> Verdict | Pending | None:
    """What an earlier pending turn gives this one: `pending` while its search runs, else its verdict
    once (raised, if a refusal) to a turn that says nothing new; None when this is a turn of its own.
    `seen`: the turn's read of the claim's marker and VERDICT (READ_AHEAD).
    """
    call_id = str(call.id)
    if pending.running(call_id, NAME, seen):
        return pending_answer(call)
    found = seen.entry(VERDICT)
    kept = found[0] if found else None
    if not kept:
        return None
    session_store.put(call_id, VERDICT, None)  # collected once
    if identifiers and not hmac.compare_digest(kept["turn"], fingerprint(identifiers)):
        return None  # the caller said something new: a turn of its own
    return _revived(kept)


def _revived(kept: dict) -> Verdict:
    fields = dict(kept["fields"])
    if isinstance(fields.get("transfer"), dict):
        fields["transfer"] = Transfer(**fields["transfer"])
    outcome = KEPT[kept["kind"]](**fields)
    if isinstance(outcome, CallRefusal):
        raise outcome
    return outcome
