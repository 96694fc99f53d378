"""Speculative identity search (issue 24): the policy's search starts while the caller is still
speaking the last factor, so the turn that completes the factor set compares in memory.

A turn whose identifiers lack only factors no search goes by (an SSN's last four, given a birth
date and a name) already fixes the search its verdict will make: the same request, of the same
claims (identity_match.search_ready, searches.searched), never a wider one. That search starts
then, in the background; the turn answers `needs_more` as it would have, whatever the search finds.

- Budgets: it draws from the claimed-value, caller and agent client budgets as a verdict's search
  does (claims.py) and is skipped when one is spent. The verdict that uses its candidates takes its
  reservation over (given back if verified, kept if it fails); one that no verdict uses (the
  caller changed a factor, hung up, or 120 s passed) stays drawn: it searched. An EHR failure gives
  it back. It is no attempt: only a verdict counts against the call, the caller or a patient.
- Kept: only the candidates' ids and keyed digests of the compared fields (identity_match.Candidate),
  in the call's encrypted store, valid for VALID_S (120 s) and only for the claims searched: a
  changed factor makes the verdict search again. Written only while the call's store exists
  (session_store.put), so a call ended meanwhile keeps nothing, not even the marker.
- One at a time per call (the `speculating` marker, holding the search's keyed digest): a verdict
  turn of that search waits for it (or answers `pending` under `?wait=0` past the voice deadline)
  and never searches twice; its EHR failure answers that verdict `unavailable` (Retry-After kept).
- The breaker and Retry-After apply to it as to any EHR request; it is audited as a search
  (action `search`), success or EHR unavailable, with a patient reference only for exactly one.
"""

import asyncio
import hashlib
import hmac
import json
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from audit.models import Outcome
from calls.models import CallSession
from calls.outcomes import Unavailable
from calls.session import access_log, session_store
from calls.session.access_log import AuditContext
from calls.tools import answers, pending
from calls.verification import claims, searches
from calls.verification.identity_match import Candidate, search_ready, stored_candidates
from compliance.phi_logging import sensitive_phi
from ehr_integrations.errors import EHRError, EHRUnavailable
from ehr_integrations.fhir.client import connection_config
from ehr_integrations.fhir.site import site_preset
from ehr_integrations.transport import io_loop

RECORD = "speculation"  # session_store.NAMES: the finished search's candidates, or its failure
MARKER = "speculating"  # session_store.MARKERS: the running search's key (a keyed digest)
VALID_S = 120  # candidates older than this are searched again (issue 24)
FAILURE_VALID_S = 10  # a verdict this soon after the speculation's EHR failure answers `unavailable`
POLL_S = 0.02
READ_AHEAD = ((RECORD,), (MARKER,))  # what `start` and `awaited` read first: entries, markers


@sensitive_phi
def _key(call: CallSession, given: dict[str, str]) -> str:
    """Which search: a keyed digest of the call and the claims searched (no PHI in the marker)."""
    said = json.dumps(sorted(searches.searched(given).items()))
    return hmac.new(settings.SECRET_KEY.encode(), f"speculation:{call.id}:{said}".encode(), hashlib.sha256).hexdigest()


def _marker_key(call_id: str) -> str:
    return session_store.marker_key(call_id, MARKER)


def _valid(found: tuple[object, float] | None, key: str) -> dict | None:
    """The record if it is of this search and fresh enough to use."""
    if found is None or not isinstance(found[0], dict):
        return None
    record, at = found
    limit = FAILURE_VALID_S if "failed" in record else VALID_S
    if not hmac.compare_digest(str(record.get("key", "")), key) or time.time() - at > limit:
        return None
    return record


@sensitive_phi
def start(*, call: CallSession, given: dict[str, str], context: AuditContext, seen: session_store.Seen) -> bool:
    """Start the search the policy will make for `given` once its factor set is complete; whether one
    started (not when the set lacks a searched claim, it ran already, one runs, or a budget is spent).
    `seen`: the turn's read of RECORD and the caller (READ_AHEAD, call_sessions.caller_phone)."""
    policy = call.health_system.verification_policy
    if not search_ready(policy.factor_sets, policy.name_parts_required, given, site_preset(call.health_system)):
        return False
    call_id, key = str(call.id), _key(call, given)
    if _valid(seen.entry(RECORD), key) is not None:
        return False  # these claims were searched a moment ago
    claim_s = int(connection_config(call.health_system).request_deadline_s) + 2
    if not session_store.set_markers(call_id, {MARKER: key}, timeout=claim_s, only_new=True):
        return False  # one runs already, or the call has ended
    if _valid(session_store.get(call_id, RECORD), key) is not None:
        cache.delete(_marker_key(call_id))  # a search of these claims kept its candidates since the turn's read
        return False
    try:
        reservation = claims.reserve(searches.budgets(call, given, seen))
        search = searches.start(call, given)
    except claims.BudgetSpent:
        cache.delete(_marker_key(call_id))
        return False
    except BaseException:
        cache.delete(_marker_key(call_id))
        raise
    job = Job(call=call, context=context, key=key, reservation=reservation, factors=sorted(searches.searched(given)))
    pending.when_done(search, _finished, job)
    return True


@dataclass(frozen=True)
class Job:
    """One running speculative search: its call, who asked, which search, what it drew (no PHI)."""

    call: CallSession
    context: AuditContext
    key: str
    reservation: claims.Reservation
    factors: list[str]  # the names of the claims searched


def _finished(job: Job, done: Future) -> None:
    """On a worker once the search ended: audit it and keep its candidates (or its failure) while the call is open."""
    call_id, kept = str(job.call.id), False
    try:
        record = _outcome(job, done)
        if record is not None:
            # With the marker dropped in the same step (a waiting verdict sees both or neither);
            # an ended call stays purged.
            session_store.put(call_id, RECORD, record, clearing=[MARKER])
            kept = True
    finally:
        if not kept:
            cache.delete(_marker_key(call_id))
        close_old_connections()


def _outcome(job: Job, done: Future) -> dict | None:
    """The record to keep; None when the audit log could not record the search (nothing is kept then)."""
    try:
        candidates: list[Candidate] = done.result()
    except (EHRError, TimeoutError, CancelledError) as exc:
        claims.give_back(job.reservation)  # the EHR gave no answer: nothing drawn
        retry_after = exc.retry_after if isinstance(exc, EHRUnavailable) else None
        failed = {"key": job.key, "failed": answers.reason_of(exc), "retry_after": retry_after}
        return failed if _audited(job, Outcome.EHR_UNAVAILABLE, []) else None
    if not _audited(job, Outcome.SUCCESS, candidates):
        claims.give_back(job.reservation)
        return None
    budgets = [[budget.kind, budget.key, budget.limit] for budget in job.reservation.budgets]  # keyed digests
    return {"key": job.key, "candidates": [candidate.stored() for candidate in candidates], "budgets": budgets}


def _audited(job: Job, outcome: str, found: list[Candidate]) -> bool:
    reference = found[0].id if len(found) == 1 else None
    try:
        access_log.record_attempt(
            call=job.call, context=job.context, outcome=outcome, factors=job.factors, patient_reference=reference,
            action="search",
        )  # fmt: skip
    except Unavailable:
        return False
    return True


@sensitive_phi
def awaited(call: CallSession, given: dict[str, str], seen: session_store.Seen | None = None) -> Future | None:
    """The speculation a complete turn's search would repeat, as a future of its record (done once it
    has finished; its result None if it vanished), or None when there is none and the turn searches.
    `seen`: the turn's read of RECORD and MARKER (READ_AHEAD), one read for both; else both are read now."""
    call_id, key = str(call.id), _key(call, given)
    if seen is None:
        seen = session_store.read_ahead(call_id, *READ_AHEAD)
    found = seen.entry(RECORD)
    if _valid(found, key) is not None:
        ready: Future = Future()
        ready.set_result(found[0])
        return ready
    if seen.marker(MARKER) != key:
        return None
    until = time.monotonic() + connection_config(call.health_system).request_deadline_s + 1
    return io_loop.spawn(_until_finished(call_id, key, until))


async def _until_finished(call_id: str, key: str, until: float) -> dict | None:
    """Wait for the speculation running in any process: its marker goes once its record is kept."""
    while time.monotonic() < until and await asyncio.to_thread(cache.get, _marker_key(call_id)) == key:
        await asyncio.sleep(POLL_S)
    return _valid(await asyncio.to_thread(session_store.get, call_id, RECORD), key)


@sensitive_phi
def take(call: CallSession, awaited_search: Future) -> dict | None:
    """The record `awaited` found once its speculation ended, removed from the store: of turns
    taking it at once only one gets it; None when it vanished or another turn took it."""
    awaited_record = awaited_search.result(timeout=0)
    taken = None if awaited_record is None else session_store.take(str(call.id), RECORD)
    # What this turn removed, and only if it is the record it awaited (not a newer search's).
    record = taken[0] if taken is not None and isinstance(taken[0], dict) else None
    if record is None:
        return None
    if not hmac.compare_digest(str(record.get("key", "")), str(awaited_record.get("key", ""))):
        session_store.put(str(call.id), RECORD, record)  # a newer search's: left for the verdict it is for
        return None
    if "candidates" in record:
        drawn = claims.Reservation(tuple(claims.Budget(*budget) for budget in record["budgets"]))
        record = record | {"candidates": stored_candidates(record["candidates"]), "reservation": drawn}
    return record
