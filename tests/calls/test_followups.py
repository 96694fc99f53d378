"""Follow-ups: retried with backoff up to a cap, claimed before each attempt, refused requests left to staff.

Time is driven by passing `now` (or moving next_attempt_at); the EHR is the sandbox over HTTP.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone

from calls.models import CallSession, FollowUp
from calls.tasks import retry_followup, retry_open_followups
from calls.tools import followups
from ehr_integrations.models import EHRConnection

pytestmark = pytest.mark.django_db
CAP = 8


@pytest.fixture(autouse=True)
def _cap(settings):
    settings.FOLLOWUP_MAX_ATTEMPTS = CAP


@pytest.fixture
def call(site, agent) -> CallSession:
    return CallSession.objects.create(agent_client=agent, health_system=site)


@pytest.fixture
def broker(monkeypatch) -> list[tuple[tuple, float]]:
    """What would reach the broker: (args, countdown) of each retry_followup sent."""
    sent: list[tuple[tuple, float]] = []
    task = current_app.tasks[followups.RETRY_TASK]
    monkeypatch.setattr(
        task, "apply_async", lambda args=None, kwargs=None, **options: sent.append((args, options.get("countdown")))
    )
    return sent


def opened(call, patient, *, tool: str = "appointments", reason: str = "server_error") -> FollowUp:
    return followups.open_followup(call=call, tool=tool, patient_reference=patient["id"], reason=reason)


def due_now(followup: FollowUp) -> FollowUp:
    FollowUp.objects.filter(pk=followup.pk).update(next_attempt_at=timezone.now())
    followup.refresh_from_db()
    return followup


def appointment_requests(sandbox) -> list[dict]:
    return [r for r in sandbox.requests() if r["path"].startswith("/fhir/Appointment")]


def test_opening_a_followup_queues_its_first_retry_about_a_minute_out_after_the_commit(
    call, patient, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        followup = opened(call, patient)
    assert broker == [] and len(callbacks) == 1  # nothing is sent before the commit
    callbacks[0]()
    [(args, countdown)] = broker
    assert args == (followup.pk,)  # an id only: no PHI in the task's arguments
    assert 30 <= countdown <= 60
    scheduled = (followup.next_attempt_at - followup.created_at).total_seconds()
    assert abs(scheduled - countdown) < 1
    assert (followup.status, followup.attempts) == ("open", 0)


def test_asking_again_in_the_same_call_finds_the_open_followup(call, patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = opened(call, patient)
        again = opened(call, patient, reason="timeout")
    assert again.pk == first.pk and FollowUp.objects.count() == 1
    assert len(callbacks) == 1


def test_a_followup_for_a_refused_request_opens_needing_staff_and_is_never_queued(
    call, patient, sandbox, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        followup = opened(call, patient, reason="forbidden")
    assert (followup.status, followup.next_attempt_at) == ("needs_staff", None)
    assert callbacks == [] and broker == []
    sandbox.reset_log()
    assert followups.retry(followup.pk, now=timezone.now() + timedelta(days=1)).outcome == "skipped"
    assert followups.due_ids(now=timezone.now() + timedelta(days=1)) == []
    assert sandbox.requests() == []


def test_followups_back_off_and_stop_at_their_cap(call, patient, sandbox):
    sandbox.add_fault("/fhir/Appointment*", outage=True)
    followup = opened(call, patient)
    delays = []
    while followup.status == "open":
        now = followup.next_attempt_at
        attempt = followups.retry(followup.pk, now=now)
        followup.refresh_from_db()
        if followup.status == "open":
            delays.append((followup.next_attempt_at - now).total_seconds())
            assert attempt.outcome == "open" and attempt.retry_in_s == pytest.approx(delays[-1], abs=1e-3)
            assert followups.retry(followup.pk, now=now).outcome == "skipped"  # not due again yet
    # after failed attempt n: between half and all of min(1 h, 1 min * 2**n)
    ceilings = [min(3600, 60 * 2**n) for n in range(1, CAP)]
    assert len(delays) == CAP - 1
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), list(zip(delays, ceilings))
    assert ceilings[-2:] == [3600, 3600]  # the delay stops growing at its own cap too
    assert (followup.status, followup.attempts, followup.next_attempt_at) == ("needs_staff", CAP, None)
    assert followup.last_error in {"server_error", "breaker_open"}
    asked = len(appointment_requests(sandbox))
    assert 0 < asked <= CAP
    later = timezone.now() + timedelta(days=1)
    assert followups.retry(followup.pk, now=later).outcome == "skipped"
    assert followups.due_ids(now=later) == []
    assert len(appointment_requests(sandbox)) == asked


def test_a_transient_failure_queues_the_next_attempt_with_its_backoff_after_the_commit(
    call, patient, sandbox, broker, django_capture_on_commit_callbacks
):
    sandbox.add_fault("/fhir/Appointment*", outage=True)
    followup = due_now(opened(call, patient))
    with django_capture_on_commit_callbacks(execute=True):
        assert retry_followup.apply(args=(followup.pk,)).get() == "open"
    followup.refresh_from_db()
    [(args, countdown)] = broker
    assert args == (followup.pk,) and 60 <= countdown <= 120
    scheduled = (followup.next_attempt_at - followup.last_attempt_at).total_seconds()
    assert scheduled == pytest.approx(countdown, abs=1e-3)
    assert (followup.status, followup.attempts, followup.last_error) == ("open", 1, "server_error")


def test_a_rejected_request_is_never_retried(call, patient, site, sandbox):
    # The token no longer carries Appointment.read: not permitted, which no wait will change; the
    # gateway knows it from the grant and does not even ask.
    EHRConnection.objects.filter(health_system=site).update(scopes="system/Patient.read")
    followup = due_now(opened(call, patient))
    assert retry_followup.apply(args=(followup.pk,)).get() == "needs_staff"
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.last_error) == ("needs_staff", 1, "not_permitted")
    assert followup.next_attempt_at is None
    assert appointment_requests(sandbox) == []
    later = timezone.now() + timedelta(days=1)
    assert followups.retry(followup.pk, now=later).outcome == "skipped"
    assert followups.due_ids(now=later) == []
    assert appointment_requests(sandbox) == []


def test_a_successful_retry_marks_it_ready(call, patient, sandbox):
    sandbox.add_fault("/fhir/Appointment*", outage=True)
    followup = opened(call, patient)
    assert followups.retry(followup.pk, now=followup.next_attempt_at).outcome == "open"
    sandbox.clear_faults()
    followup.refresh_from_db()
    retried_at = followup.next_attempt_at
    assert followups.retry(followup.pk, now=retried_at) == followups.Attempt("ready")
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.last_error) == ("ready", 2, "")
    assert (followup.resolved_at, followup.next_attempt_at) == (retried_at, None)


def test_running_the_retry_task_twice_is_harmless(call, patient, sandbox):
    followup = due_now(opened(call, patient))
    sandbox.reset_log()
    assert retry_followup.apply(args=(followup.pk,)).get() == "ready"
    assert retry_followup.apply(args=(followup.pk,)).get() == "skipped"
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == ("ready", 1)
    assert len(appointment_requests(sandbox)) == 1


@pytest.mark.django_db(transaction=True)  # each worker thread has its own connection: data must be committed
def test_two_workers_at_once_make_one_attempt(call, patient, sandbox):
    followup = due_now(opened(call, patient))
    sandbox.add_fault("/fhir/Appointment*", latency_ms=300)  # the first holds its claim while the second arrives
    sandbox.reset_log()

    def worker() -> followups.Attempt:
        try:
            return followups.retry(followup.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(attempt.outcome for attempt in pool.map(lambda _: worker(), range(2)))
    assert outcomes == ["ready", "skipped"]
    assert len(appointment_requests(sandbox)) == 1
    assert FollowUp.objects.get(pk=followup.pk).attempts == 1


def test_a_stuck_claim_is_given_back_and_retried_by_the_sweep(call, patient, sandbox):
    followup = opened(call, patient)
    dead_worker_claim = timezone.now() - timedelta(minutes=6)
    FollowUp.objects.filter(pk=followup.pk).update(status="retrying", claimed_at=dead_worker_claim, attempts=1)
    assert followups.retry(followup.pk, now=timezone.now() + timedelta(hours=1)).outcome == "skipped"
    assert retry_open_followups.delay().get() == 1
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == ("ready", 2)


def test_a_recent_claim_is_left_to_its_worker(call, patient):
    followup = opened(call, patient)
    claimed_at = timezone.now()
    FollowUp.objects.filter(pk=followup.pk).update(status="retrying", claimed_at=claimed_at)
    assert followups.reclaim_stuck(now=claimed_at + timedelta(minutes=4)) == 0
    assert FollowUp.objects.get(pk=followup.pk).status == "retrying"
    assert followups.reclaim_stuck(now=claimed_at + timedelta(minutes=6)) == 1
    assert FollowUp.objects.get(pk=followup.pk).status == "open"


def test_a_stuck_claim_on_its_last_attempt_goes_to_staff(call, patient):
    followup = opened(call, patient)
    claimed_at = timezone.now() - timedelta(minutes=6)
    FollowUp.objects.filter(pk=followup.pk).update(status="retrying", claimed_at=claimed_at, attempts=CAP)
    assert followups.reclaim_stuck() == 1
    followup.refresh_from_db()
    assert (followup.status, followup.last_error, followup.next_attempt_at) == ("needs_staff", "claim_expired", None)


def test_the_sweep_enqueues_only_followups_that_are_due(call, patient, sandbox):
    waiting = opened(call, patient, tool="medications")
    due = due_now(opened(call, patient))
    assert retry_open_followups.delay().get() == 1
    assert FollowUp.objects.get(pk=due.pk).status == "ready"
    assert FollowUp.objects.get(pk=waiting.pk).attempts == 0


def test_task_names_stay_stable_and_the_beat_runs_the_sweep():
    assert retry_followup.name == followups.RETRY_TASK == "calls.tasks.retry_followup"
    assert retry_open_followups.name == "calls.tasks.retry_open_followups"
    assert settings.CELERY_BEAT_SCHEDULE["calls-retry-followups"]["task"] == retry_open_followups.name


def test_every_retry_that_reaches_the_ehr_is_in_the_access_log(call, patient, sandbox):
    from audit.models import AuditRecord

    sandbox.add_fault("/fhir/Appointment*", outage=True)
    followup = opened(call, patient)
    before = AuditRecord.objects.filter(call_session=str(call.id)).count()
    followups.retry(followup.pk, now=followup.next_attempt_at)
    sandbox.clear_faults()
    followup.refresh_from_db()
    followups.retry(followup.pk, now=followup.next_attempt_at)
    records = AuditRecord.objects.filter(call_session=str(call.id)).order_by("id")[before:]
    assert [(r.action, r.outcome, r.patient_reference) for r in records] == [
        ("read", "unavailable", followup.patient_reference),
        ("read", "success", followup.patient_reference),
    ]
    assert all(r.resource_types == ["Appointment"] for r in records)
