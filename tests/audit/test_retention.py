"""Records are kept at least six years; the purge refuses younger ones and records every run."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditRecord, AuditSeal, PurgeOutcome, PurgeRun
from audit.retention import purge_expired, years_before
from audit.sealing import seal_pending
from audit.verification import verify_audit_log
from tests.audit.factories import phi_access, phi_access_written_at
from tests.audit.tamper import as_superuser_without_triggers


def recorded_years_ago(years: float, n: int) -> list[AuditRecord]:
    moment = timezone.now() - timedelta(days=365.25 * years)
    made = [
        phi_access_written_at(moment, correlation_id=f"old-{n}-{i}", patient_reference=f"pat-{i}") for i in range(n)
    ]
    seal_pending(now=moment + timedelta(seconds=5))
    return made


@pytest.fixture
def log_spanning_eight_years(db):
    ancient = recorded_years_ago(8, 3)
    old_but_kept = recorded_years_ago(5, 2)
    recent = [phi_access(), phi_access()]
    seal_pending()
    return ancient, old_but_kept, recent


def test_purge_removes_only_records_past_six_years_and_chain_still_verifies(log_spanning_eight_years):
    ancient, kept, recent = log_spanning_eight_years

    run = purge_expired(requested_by="test")

    assert (run.outcome, run.records_purged, run.anchor_position) == (PurgeOutcome.PURGED, 3, 3)
    assert not AuditRecord.objects.filter(pk__in=[r.pk for r in ancient]).exists()
    assert AuditRecord.objects.count() == 4
    assert AuditSeal.objects.order_by("position").first().position == 4
    report = verify_audit_log()
    assert report.intact and report.checked == 4


def test_chain_keeps_growing_after_a_purge(log_spanning_eight_years):
    purge_expired(requested_by="test")
    phi_access()
    seal_pending()

    assert verify_audit_log().intact
    assert AuditSeal.objects.order_by("-position").first().position == 8


def test_purge_asked_for_records_younger_than_six_years_is_refused_and_recorded(log_spanning_eight_years):
    run = purge_expired(requested_by="test", before=years_before(timezone.now(), 5))

    assert run.outcome == PurgeOutcome.REFUSED
    assert AuditRecord.objects.count() == 7
    assert PurgeRun.objects.get().detail == "cutoff is younger than the retention period"


def test_retention_setting_below_six_years_is_refused(log_spanning_eight_years, settings):
    settings.AUDIT_RETENTION_YEARS = 3

    assert purge_expired(requested_by="test").outcome == PurgeOutcome.REFUSED
    assert AuditRecord.objects.count() == 7


def test_purge_with_nothing_old_enough_records_its_run(db):
    phi_access()

    run = purge_expired(requested_by="test")

    assert run.outcome == PurgeOutcome.NOTHING
    assert PurgeRun.objects.filter(pk=run.pk).exists()


def test_purge_refuses_when_the_chain_is_not_intact(log_spanning_eight_years):
    ancient = log_spanning_eight_years[0]
    as_superuser_without_triggers(("UPDATE audit_auditrecord SET outcome = 'denied' WHERE id = %s", [ancient[0].pk]))

    run = purge_expired(requested_by="test")

    assert (run.outcome, run.detail) == (PurgeOutcome.REFUSED, "chain not intact (altered)")
    assert AuditRecord.objects.count() == 7


def test_forged_purge_run_is_reported(log_spanning_eight_years):
    PurgeRun.objects.create(
        ran_at=timezone.now(),
        requested_by="intruder",
        cutoff=timezone.now(),
        outcome=PurgeOutcome.PURGED,
        anchor_position=5,
        anchor_hash="f" * 64,
        signature="0" * 64,
    )

    assert verify_audit_log().problem.kind == "purge_run"


def test_purge_command_fails_loudly_when_refused(log_spanning_eight_years):
    with pytest.raises(CommandError, match="purge refused"):
        call_command("purge_audit_log", before=years_before(timezone.now(), 1).date().isoformat())
    assert PurgeRun.objects.get().outcome == PurgeOutcome.REFUSED
