"""Staff follow-ups for lookups that failed during a call, retried with backoff until the EHR answers.

The row is the schedule: `attempts` and `next_attempt_at` say what happens next, and this module
queues each next attempt itself (by task name, with its countdown, on commit). Celery's own retry
counter is not used: a chain it loses (worker gone, broker down) is resumed by the beat sweep from
the row, cap included. Each attempt claims the row with a conditional UPDATE first and whoever loses
the claim does nothing. Only transient failures are retried; a refused request, or the cap, goes to staff.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from calls.models import CallSession, FollowUp, FollowUpStatus
from calls.session import access_log
from calls.session.access_log import AuditContext
from calls.tools.tool_specs import TOOLS, FetchArgs, fetch
from ehr_integrations.errors import EHRAuthError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.client import REJECTION_REASONS, connection_config, deadline_in
from ehr_integrations.fhir.site import client_for
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import io_loop

# Declared with this name in calls/tasks.py; tools sit below tasks, so they enqueue it by name.
RETRY_TASK = "calls.tasks.retry_followup"
FIRST_DELAY_S = 60.0  # delay before attempt n+1: FIRST_DELAY_S * 2**n, jittered, at most MAX_DELAY_S
MAX_DELAY_S = 3600.0
CLAIM_TIMEOUT = timedelta(minutes=5)  # an attempt waits at most ~11 s for the EHR (_fetch_again)
EARLY_OK = timedelta(seconds=5)  # a countdown's ETA and this host's clock may disagree by a second or two
# Failures that waiting does not change: the EHR refused the request itself (4xx), or cannot answer it.
NOT_BY_WAITING = frozenset(REJECTION_REASONS.values()) | {"rejected", "not_permitted", "not_supported"}
ACTIVE = (FollowUpStatus.OPEN, FollowUpStatus.RETRYING)
UNRESOLVED = (*ACTIVE, FollowUpStatus.NEEDS_STAFF)


@dataclass(frozen=True)
class Attempt:
    """What one retry did: the status it left ("skipped" when another run had it), and when to retry."""

    outcome: str
    retry_in_s: float | None = None


def open_followup(*, call: CallSession, tool: str, patient_reference: str, reason: str) -> FollowUp:
    """The call's unresolved follow-up for this tool, else a new one with its first retry queued on commit."""
    existing = FollowUp.objects.filter(call=call, tool=tool, status__in=UNRESOLVED).first()
    if existing is not None:
        return existing
    if reason in NOT_BY_WAITING:
        status, delay = FollowUpStatus.NEEDS_STAFF, None
    else:
        status, delay = FollowUpStatus.OPEN, backoff_s(0)
    followup = FollowUp.objects.create(
        health_system=call.health_system,
        call=call,
        tool=tool,
        patient_reference=patient_reference,
        reason=reason[:64],
        status=status,
        next_attempt_at=None if delay is None else timezone.now() + timedelta(seconds=delay),
    )
    if delay is not None:
        _enqueue(followup.pk, delay)
    return followup


def backoff_s(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts: doubling, capped, with jitter to spread a herd."""
    ceiling = min(MAX_DELAY_S, FIRST_DELAY_S * 2**attempts)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not a secret)


def max_attempts() -> int:
    """Attempts before a follow-up goes to staff (settings.FOLLOWUP_MAX_ATTEMPTS, read at each use)."""
    return settings.FOLLOWUP_MAX_ATTEMPTS


def retry(followup_id: int, *, now: datetime | None = None) -> Attempt:
    """Try the failed lookup again if it is due and ours to claim. Safe to run twice."""
    now = now or timezone.now()
    claimed = FollowUp.objects.filter(_due(now), pk=followup_id, status=FollowUpStatus.OPEN)
    # The attempt counts when claimed, so a lookup that kills its worker still reaches the cap.
    if not claimed.update(
        status=FollowUpStatus.RETRYING, claimed_at=now, last_attempt_at=now, attempts=F("attempts") + 1
    ):
        return Attempt("skipped")
    followup = FollowUp.objects.select_related("health_system", "call__health_system").get(pk=followup_id)
    try:
        _fetch_again(followup, now)
    except (EHRUnavailable, TimeoutError) as exc:
        return _failed_for_now(followup, now, exc)
    except EHRRequestRejected as exc:
        return _finish(followup, FollowUpStatus.NEEDS_STAFF, last_error=exc.reason[:64])
    except EHRAuthError as exc:  # our credentials or scopes are refused: staff must fix the connection
        return _finish(followup, FollowUpStatus.NEEDS_STAFF, last_error=exc.error[:64])
    return _finish(followup, FollowUpStatus.READY, resolved_at=now, last_error="")


def reclaim_stuck(*, now: datetime | None = None) -> int:
    """Give back claims older than CLAIM_TIMEOUT (their worker died); those at the cap go to staff."""
    now = now or timezone.now()
    stuck = FollowUp.objects.filter(
        Q(claimed_at__lt=now - CLAIM_TIMEOUT) | Q(claimed_at__isnull=True), status=FollowUpStatus.RETRYING
    )
    spent = stuck.filter(attempts__gte=max_attempts()).update(
        status=FollowUpStatus.NEEDS_STAFF, next_attempt_at=None, last_error="claim_expired"
    )
    return spent + stuck.update(status=FollowUpStatus.OPEN, next_attempt_at=now)


def due_ids(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Open follow-ups whose next attempt is due, oldest first (for the beat sweep)."""
    due = FollowUp.objects.filter(_due(now or timezone.now()), status=FollowUpStatus.OPEN)
    return list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])


def _due(now: datetime) -> Q:
    # No next_attempt_at on an open row: opened before backoff existed, or reopened by staff.
    return Q(next_attempt_at__lte=now + EARLY_OK) | Q(next_attempt_at__isnull=True)


def _enqueue(followup_id: int, delay_s: float) -> None:
    # robust: a broker that is down must not fail the caller's answer; the beat sweep catches up.
    send = current_app.signature(RETRY_TASK, args=(followup_id,), countdown=delay_s).apply_async
    transaction.on_commit(send, robust=True)


def _fetch_again(followup: FollowUp, now: datetime) -> None:
    """The lookup again, within the connection's deadline; a read that reached the EHR is audited."""
    system = followup.health_system
    config = connection_config(system)
    args = FetchArgs(patient_id=followup.patient_reference, tz=ZoneInfo(system.time_zone), now=now)
    deadline = deadline_in(config.request_deadline_s)
    coro = fetch(followup.tool, client_for(system), load_mapping(system), args, deadline=deadline)
    try:
        io_loop.wait(coro, deadline=deadline)
    except EHRUnavailable:
        _audit(followup, "unavailable")
        raise
    except EHRRequestRejected:  # the attempt is audited too, refused or not
        _audit(followup, "denied")
        raise
    _audit(followup, "success")


def _audit(followup: FollowUp, outcome: str) -> None:
    """The retry's read of the patient's records, in the access log like any other (no PHI leaves)."""
    spec = TOOLS[followup.tool]
    if followup.call is None:  # the call record is gone; the follow-up keeps only what staff need
        return
    access_log.record(
        call=followup.call,
        context=AuditContext.background(),
        action="read",
        outcome=outcome,
        patient_reference=followup.patient_reference,
        resource_types=list(spec.resource_types),
        data_category=spec.data_category,
    )


def _failed_for_now(followup: FollowUp, now: datetime, exc: Exception) -> Attempt:
    reason = (exc.reason if isinstance(exc, EHRUnavailable) else "timeout")[:64]
    if followup.attempts >= max_attempts() or reason in NOT_BY_WAITING:
        return _finish(followup, FollowUpStatus.NEEDS_STAFF, last_error=reason)
    retry_after = exc.retry_after if isinstance(exc, EHRUnavailable) else None
    delay = min(MAX_DELAY_S, max(backoff_s(followup.attempts), retry_after or 0.0))
    next_attempt_at = now + timedelta(seconds=delay)
    attempt = _finish(followup, FollowUpStatus.OPEN, delay, next_attempt_at=next_attempt_at, last_error=reason)
    if attempt.retry_in_s is not None:
        _enqueue(followup.pk, attempt.retry_in_s)
    return attempt


def _finish(followup: FollowUp, status: str, retry_in_s: float | None = None, **fields: object) -> Attempt:
    """Record the attempt's result unless the row was taken over meanwhile (claimed again, or closed)."""
    if status != FollowUpStatus.OPEN:
        fields["next_attempt_at"] = None
    ours = FollowUp.objects.filter(pk=followup.pk, claimed_at=followup.claimed_at, status__in=ACTIVE)
    if not ours.update(status=status, **fields):
        return Attempt("skipped")
    return Attempt(str(status), retry_in_s)
