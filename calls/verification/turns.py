"""Caller verification: identifiers accumulate across turns until a policy factor set is complete,
then exactly one EHR patient must satisfy every factor. Every failure looks the same to the caller.
"""

import functools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from audit.models import Outcome
from calls.models import CallSession, CallState
from calls.outcomes import CallEnded, Escalate, NeedsMore, Pending, Unavailable, Verified
from calls.session import access_log, call_sessions, events, selectors, session_store
from calls.session.access_log import AuditContext
from calls.session.baa_gate import NotCovered, ensure_covered
from calls.session.row_updates import update_rows
from calls.session.transfers import ESCALATE_SAY, transfer_for
from calls.tools import answers, prefetch
from calls.verification import (
    attempt_limits,
    claims,
    pending_turns,
    prompts,
    searches,
    site_inputs,
    speculation,
    status,
)
from calls.verification.identity_match import (
    SEARCHED_CLAIMS,
    Candidate,
    complete_sets,
    missing_for_next_set,
    satisfies,
)
from compliance.phi_logging import sensitive_phi
from ehr_integrations.errors import EHRError, EHRUnavailable
from ehr_integrations.fhir.site import site_preset
from ehr_integrations.models import Purpose
from ehr_integrations.presets import Preset

VERIFIED_SAY = "Thank you, I've confirmed your identity."
EHR_DOWN_SAY = "I can't reach our records system to confirm your identity right now. Let me connect you with someone."


def _escalate(call: CallSession, http: int = 200) -> Escalate:
    transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
    return Escalate(transfer=transfer, say=ESCALATE_SAY, http=http)


def _preset(call: CallSession) -> Preset:
    return site_preset(call.health_system)


def _ensure_covered(call: CallSession, context: AuditContext) -> None:
    """The BAA gate; a refused attempt is audited too (ONC 170.315(d)(2): attempts, not only accesses)."""
    try:
        ensure_covered(client=call.agent_client, health_system=call.health_system)
    except NotCovered:
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.NOT_PERMITTED, factors=(), patient_reference=None
        )
        raise


IDENTIFIERS = "identifiers"  # the session store's entry of what the caller said so far
# What a turn reads of the call's store, in one round trip before it starts (session_store.read_ahead).
READ_AHEAD_ENTRIES = (IDENTIFIERS, call_sessions.CALLER, *pending_turns.READ_AHEAD[0], *speculation.READ_AHEAD[0])
READ_AHEAD_MARKERS = (*pending_turns.READ_AHEAD[1], *speculation.READ_AHEAD[1])


@sensitive_phi
def _accumulate(call: CallSession, identifiers: Mapping[str, object], seen: session_store.Seen) -> dict[str, str]:
    stored = seen.entry(IDENTIFIERS)
    merged = dict(stored[0]) if stored else {}
    for name, value in identifiers.items():
        merged[name] = value.isoformat() if isinstance(value, date) else str(value)
    if not session_store.put(str(call.id), IDENTIFIERS, merged):  # `end` won the race: nothing comes back
        raise CallEnded()
    return merged


@sensitive_phi
def _fail(
    call: CallSession,
    context: AuditContext,
    given: dict,
    candidates: list[Candidate],
    outcome: str = Outcome.WRONG_DETAILS,
) -> NeedsMore:
    policy = call.health_system.verification_policy
    still_open = session_store.put(str(call.id), IDENTIFIERS, {})  # an ended call stays purged
    failures = attempt_limits.call_failures(call)  # this turn was counted before the search
    # A patient's own lockout grows only from failures on claims that match that patient's record
    # (what was searched by agrees; a secret factor did not): nobody can aim it by claiming less.
    claimed = {k: v for k, v in given.items() if k in SEARCHED_CLAIMS}
    aimed = [c for c in candidates if satisfies(str(call.id), c, claimed)]
    attempt_limits.record_patient_failures(policy, [c.id for c in aimed])
    reference = candidates[0].id if len(candidates) == 1 else None  # the search found exactly one patient
    access_log.record_attempt(call=call, context=context, outcome=outcome, factors=given, patient_reference=reference)
    if not still_open:  # the turn lost the race to `end` (counted and audited all the same)
        raise CallEnded()
    left = max(0, policy.max_failures_per_call - failures)
    if left == 0:
        return _escalate_unverified(call)
    missing = missing_for_next_set(policy.factor_sets, policy.name_parts_required, {}, _preset(call))
    return prompts.needs_more(missing=missing, attempts_left=left, given={}, said=given, failed=True)


def _leave_unverified(call: CallSession, state: str, **fields: object) -> bool:
    """Move the call from unverified to `state`; False when a concurrent turn, or `end`, moved it first.

    One turn wins: a call is never verified after it was escalated or ended, nor escalated after
    it was verified (the session store's facts, which tool calls trust, say verified).
    """
    unverified = [("id", "=", call.pk), ("state", "=", CallState.UNVERIFIED)]
    return bool(update_rows(CallSession, where=unverified, assign={"state": state, **fields}))


def _escalate_unverified(call: CallSession) -> Verified:
    """Escalate the call (raises Escalate), unless a concurrent turn or `end` decided it first."""
    if not _leave_unverified(call, CallState.ESCALATED):
        return _decided_elsewhere(call)
    raise _escalate(call)


def _decided_elsewhere(call: CallSession) -> Verified:
    """The answer for a turn whose success came too late: what the call became meanwhile."""
    call.refresh_from_db(fields=["state"])
    if call.state == CallState.VERIFIED:
        return Verified(say=VERIFIED_SAY)
    if call.state == CallState.ENDED:
        raise CallEnded()
    raise _escalate(call)


def _succeed(call: CallSession, context: AuditContext, patient: Candidate, factor_set: list[str]) -> Verified:
    method, now = "+".join(factor_set), timezone.now()
    # The call's attempts start again from none with the same write (a success resets the count).
    if not _leave_unverified(call, CallState.VERIFIED, verified_at=now, verification_method=method, failed_attempts=0):
        return _decided_elsewhere(call)
    call.state, call.verified_at, call.verification_method = CallState.VERIFIED, now, method
    call.failed_attempts = 0
    facts = {
        # A speculation's candidate is an id alone: the prefetch reads the record (minimum necessary).
        "patient": {"id": patient.id} | (patient.public or {}),
        IDENTIFIERS: {},
        "call": selectors.verified_facts(call),
    }
    if not session_store.put_many(
        str(call.id), facts, owner=call.agent_client_id
    ):  # `end` destroyed the store meanwhile
        raise CallEnded()
    access_log.record(call=call, context=context, action="verify", outcome="success", patient_reference=patient.id)
    prefetch.start(call=call, patient_id=patient.id, with_patient=patient.public is None)
    events.publish(str(call.id), {"event": "verified", "call_id": str(call.id), "say": VERIFIED_SAY})
    return Verified(say=VERIFIED_SAY)


@sensitive_phi
def submit(
    *, call: CallSession, identifiers: Mapping[str, object], context: AuditContext, may_pend: bool = False
) -> NeedsMore | Verified | Pending:
    """One verification turn. Raises Escalate (with the verification transfer target) at the limits.

    The EHR gets the voice deadline to answer; past it `may_pend` (`?wait=0`) answers `pending`
    and the verdict comes later, else the turn is `unavailable` and not counted (pending_turns.py).
    """
    # The call's activity (renewed with this read) and what the turn reads first, in one round trip.
    seen = session_store.read_ahead(str(call.id), READ_AHEAD_ENTRIES, READ_AHEAD_MARKERS)
    site_inputs.check(health_system=call.health_system, identifiers=identifiers)  # a refused turn is activity too
    if call.state == CallState.ENDED:
        raise CallEnded()
    if call.state == CallState.VERIFIED:
        return Verified(say=VERIFIED_SAY)
    policy = call.health_system.verification_policy
    if call.state == CallState.ESCALATED:
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.ESCALATED, factors=identifiers, patient_reference=None
        )
        raise _escalate(call)
    if (earlier := pending_turns.earlier(call, identifiers, seen)) is not None:
        return earlier
    _ensure_covered(call, context)
    given = _accumulate(call, identifiers, seen)
    sets = complete_sets(policy.factor_sets, policy.name_parts_required, given, _preset(call))
    if not sets:
        speculation.start(call=call, given=given, context=context, seen=seen)  # the same answer whatever it finds
        missing = missing_for_next_set(policy.factor_sets, policy.name_parts_required, given, _preset(call))
        left = status.attempts_left(call)
        return prompts.needs_more(missing=missing, attempts_left=left, given=given, said=identifiers)
    if may_pend and not pending_turns.claim(call):  # a concurrent `wait=0` turn is searching already
        return pending_turns.pending_answer(call)
    answer = None
    try:
        answer = _counted_turn(call, context, identifiers, given, sets, may_pend=may_pend, seen=seen)
        return answer
    finally:
        if may_pend and not isinstance(answer, Pending):  # a handed-over search holds the claim to its verdict
            pending_turns.release(call)


@sensitive_phi
def _reserve_claims(
    call: CallSession, context: AuditContext, given: dict[str, str], seen: session_store.Seen | None
) -> claims.Reservation | Verified:
    """Reserve this turn's budgets; a spent one is audited and answered before any search: the agent
    client's with `rate_limited` (a throttle), any other by a person (`escalate`)."""
    try:
        return claims.reserve(searches.budgets(call, given, seen))
    except claims.BudgetSpent as spent:
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.BUDGET_SPENT, factors=given, patient_reference=None
        )
        if spent.kind == claims.AGENT:
            transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
            raise Unavailable(
                reason="rate_limited", transfer=transfer, say=EHR_DOWN_SAY, retry_after_ms=claims.WINDOW_S * 1000
            ) from None
        return _escalate_unverified(call)  # raises Escalate, unless a concurrent turn verified the call


@sensitive_phi
def _counted_turn(
    call: CallSession,
    context: AuditContext,
    identifiers: Mapping[str, object],
    given: dict[str, str],
    sets: list[list[str]],
    *,
    may_pend: bool,
    seen: session_store.Seen | None = None,
) -> NeedsMore | Verified | Pending:
    """Count the turn and search (or use the speculative search of these claims); decide within the
    voice deadline, later (pending) or not at all. `seen`: the turn's first read (READ_AHEAD_*).

    The claimed identity's, the caller's and the agent client's budgets are reserved first, then the
    call's own attempt: concurrent turns can never exceed any of them (claims.py)."""
    started, deadline = time.monotonic(), pending_turns.voice_deadline()
    if (awaited := speculation.awaited(call, given, seen)) is not None:
        # Without `seen`: a speculation gone meanwhile is read again, never from the turn's first read.
        searching = functools.partial(_counted_turn, call, context, identifiers, given, sets, may_pend=False)
        decide = functools.partial(_speculated_verdict, call, context, given, sets, awaited, searching)
        waiting = _Search(awaited, decide, started, deadline)
        return _decided_in_time(waiting, call, context, said=identifiers, given=given, may_pend=may_pend)
    reservation = _reserve_claims(call, context, given, seen)
    if isinstance(reservation, Verified):
        return reservation
    if not _attempt_reserved(call, context, given, reservation):
        return _escalate_unverified(call)
    try:
        search = searches.start(call, given)
    except BaseException:
        _give_back_turn(call, reservation)
        raise
    decide = functools.partial(_verdict, call, context, given, sets, search, reservation)
    abandon = functools.partial(_give_back_turn, call, reservation)
    waiting = _Search(search, decide, started, deadline, abandon)
    return _decided_in_time(waiting, call, context, said=identifiers, given=given, may_pend=may_pend)


def _attempt_reserved(call: CallSession, context: AuditContext, given: dict, reservation: claims.Reservation) -> bool:
    """Count the turn against the call's limit; when none is left, its budgets go back and it is audited."""
    if attempt_limits.reserve_attempt(call, call.health_system.verification_policy):
        return True
    claims.give_back(reservation)
    access_log.record_attempt(
        call=call, context=context, outcome=Outcome.BUDGET_SPENT, factors=given, patient_reference=None
    )
    return False


def _give_back_turn(call: CallSession, reservation: claims.Reservation) -> None:
    claims.give_back(reservation)
    attempt_limits.give_back_attempt(call)


@dataclass(frozen=True)
class _Search:
    """A turn's search (its own, or a speculative one it waits for) and its verdict once it ends."""

    future: Future
    decide: Callable[[], NeedsMore | Verified]
    started: float
    deadline: float  # the voice deadline
    abandon: Callable[[], None] | None = None  # what the turn gives back when it gives up waiting


@sensitive_phi
def _decided_in_time(
    search: _Search,
    call: CallSession,
    context: AuditContext,
    *,
    said: Mapping[str, object],
    given: dict,
    may_pend: bool,
) -> NeedsMore | Verified | Pending:
    """The verdict once the search ends within the voice deadline; past it `pending` (the verdict is
    decided later, once) or, without the pending mode, `ehr_slow` with the search abandoned."""
    future, decide = search.future, search.decide
    if pending_turns.finished_in_time(future, deadline=search.deadline):
        return decide()
    if may_pend:
        turn, cid = pending_turns.fingerprint(said), context.correlation_id
        return pending_turns.hand_over(call, future, decide, turn=turn, correlation_id=cid, started=search.started)
    if future.cancel():  # no verdict within the voice deadline: the turn does not count
        if search.abandon is not None:
            search.abandon()
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.EHR_UNAVAILABLE, factors=given, patient_reference=None
        )
        raise pending_turns.too_slow(call)
    return decide()  # it finished as the deadline passed


@sensitive_phi
def _speculated_verdict(
    call: CallSession,
    context: AuditContext,
    given: dict[str, str],
    sets: list[list[str]],
    awaited: Future,
    searching: Callable,
) -> NeedsMore | Verified | Pending:
    """The verdict from the speculative search of these claims, once it has ended: its reservation is
    this turn's, its EHR failure this turn's `unavailable`; gone meanwhile, the turn searches itself."""
    record = speculation.take(call, awaited)
    if record is None:  # another turn took it, or it vanished: a turn of its own
        return searching()
    if "failed" in record:
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.EHR_UNAVAILABLE, factors=given, patient_reference=None
        )
        raise _unavailable(call, record["failed"], record.get("retry_after"))
    reservation = record["reservation"]  # drawn when the speculation started
    if not _attempt_reserved(call, context, given, reservation):
        return _escalate_unverified(call)
    found: Future = Future()
    found.set_result(record["candidates"])
    return _verdict(call, context, given, sets, found, reservation)


def _unavailable(call: CallSession, reason: str, retry_after: float | None) -> Unavailable:
    transfer = transfer_for(health_system=call.health_system, purpose=Purpose.VERIFICATION)
    return Unavailable(
        reason=reason,
        transfer=transfer,
        say=EHR_DOWN_SAY,
        retry_after_ms=int(retry_after * 1000) if retry_after else None,
    )


@sensitive_phi
def _verdict(
    call: CallSession,
    context: AuditContext,
    given: dict[str, str],
    sets: list[list[str]],
    search: Future,
    reservation: claims.Reservation,
) -> NeedsMore | Verified:
    """The counted turn's verdict from its finished search: the same wherever it runs (request or worker)."""
    policy = call.health_system.verification_policy
    # No verdict from the EHR, the turn does not count; a verdict does (even if something fails after it).
    try:
        candidates = search.result(timeout=0)  # it has finished
    except EHRError as exc:
        claims.give_back(reservation)
        attempt_limits.give_back_attempt(call)
        access_log.record_attempt(
            call=call, context=context, outcome=Outcome.EHR_UNAVAILABLE, factors=given, patient_reference=None
        )
        retry_after = exc.retry_after if isinstance(exc, EHRUnavailable) else None
        raise _unavailable(call, answers.reason_of(exc), retry_after) from None
    except BaseException:
        claims.give_back(reservation)
        attempt_limits.give_back_attempt(call)
        raise
    matched = [c for c in candidates if satisfies(str(call.id), c, given)]
    # Two patients satisfying everything said is a failure like any other (the same answer: ask for the
    # policy's next factor), without a lockout for either: they match what was claimed.
    if len(matched) == 1:
        # In one step: a locked-out patient's match fails (the reservation kept); any other returns
        # the reservation and forgives the patient's failures (the call's are reset as it is verified).
        match = matched[0]
        lockout = (attempt_limits.lock_key(policy, match.id), attempt_limits.failures_key(policy, match.id))
        if not claims.give_back(reservation, lockout=lockout):
            return _fail(call, context, given, matched, outcome=Outcome.LOCKED)
        return _succeed(call, context, match, sets[0])
    return _fail(call, context, given, [] if matched else candidates)
