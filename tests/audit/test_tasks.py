"""The beat tasks and commands that keep the chain sealed, digested and within retention."""

from django.core.management import call_command

from audit.models import AuditSeal, PurgeOutcome, PurgeRun
from audit.tasks import export_audit_digest, purge_expired_audit_records, seal_audit_log
from tests.audit.factories import phi_access


def test_seal_task_chains_new_records(db):
    phi_access()
    phi_access()

    assert seal_audit_log.delay().get() == 2
    assert AuditSeal.objects.count() == 2


def test_digest_task_and_command_write_into_the_digest_directory(db, settings, tmp_path):
    settings.AUDIT_DIGEST_DIR = tmp_path
    phi_access()

    assert export_audit_digest.delay().get() == "audit-digest-000000000001.json"
    phi_access()
    call_command("export_audit_digest")

    assert sorted(p.name for p in tmp_path.glob("audit-digest-*")) == [
        "audit-digest-000000000001.json",
        "audit-digest-000000000002.json",
    ]


def test_purge_task_records_its_run(db):
    phi_access()

    assert purge_expired_audit_records.delay().get() == PurgeOutcome.NOTHING
    assert PurgeRun.objects.get().requested_by == "beat:purge_expired_audit_records"


def test_beat_schedule_runs_the_upkeep_tasks(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {
        "audit.tasks.seal_audit_log",
        "audit.tasks.export_audit_digest",
        "audit.tasks.purge_expired_audit_records",
        "compliance.tasks.send_baa_reminders",
    } <= tasks
