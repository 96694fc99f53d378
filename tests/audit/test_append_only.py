"""The PHI access log refuses UPDATE, DELETE and TRUNCATE at the database, whoever asks."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit.models import AuditRecord, AuditSeal, PurgeRun
from audit.retention import purge_expired
from audit.sealing import seal_pending
from tests.audit.factories import phi_access


def refused(sql: str, params=()) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


@pytest.fixture
def record(db):
    record = phi_access()
    seal_pending()
    return record


def test_orm_update_of_a_record_is_refused(record):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(outcome="denied")


def test_saving_a_changed_record_is_refused(record):
    record.patient_reference = "someone-else"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        record.save()


def test_orm_delete_of_a_record_is_refused(record):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        record.delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    "table,column",
    [("audit_auditrecord", "outcome"), ("audit_auditseal", "hash"), ("audit_purgerun", "detail")],
)
def test_raw_sql_update_and_delete_are_refused_on_every_audit_table(record, table, column):
    purge_expired(requested_by="test")  # leaves one (nothing-to-purge) run row

    assert refused(f"UPDATE {table} SET {column} = {column}")
    assert refused(f"DELETE FROM {table}")
    assert AuditRecord.objects.count() == 1 and AuditSeal.objects.count() == 1 and PurgeRun.objects.count() == 1


@pytest.mark.parametrize("table", ["audit_auditrecord", "audit_auditseal", "audit_purgerun"])
def test_truncate_is_refused(record, table):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL audit.allow_test_flush = 'off'")
    assert refused(f"TRUNCATE {table}")


def test_setting_the_purge_variable_by_hand_cannot_delete_young_records(record):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL audit.purge = 'on'")
    assert refused("DELETE FROM audit_auditrecord")
    assert refused("DELETE FROM audit_auditseal")


def test_embedded_sqlite_database_gets_equivalent_triggers(tmp_path: Path):
    db_file = tmp_path / "embedded.sqlite3"
    env = {**os.environ, "DATABASE_URL": "", "REDIS_URL": ""}
    env["DATABASE_URL"] = f"sqlite:///{db_file}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--skip-checks", "-v0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    with sqlite3.connect(db_file) as db:
        db.execute(
            "INSERT INTO audit_auditrecord (event_id, recorded_at, health_system, agent_client, correlation_id,"
            " action, resource_types, resource_ids, data_category, purpose, outcome, mac_key, mac)"
            " VALUES ('e1', '2026-01-01 00:00:00.000', 'riverside', 'a', 'c', 'read', '[]', '[]', 'x', 'y', 'success',"
            " '', '')"
        )
        for statement in ("UPDATE audit_auditrecord SET outcome = 'denied'", "DELETE FROM audit_auditrecord"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
        # Rows past the six-year floor may go (the purge's path on SQLite).
        db.execute(
            "INSERT INTO audit_auditrecord (event_id, recorded_at, health_system, agent_client, correlation_id,"
            " action, resource_types, resource_ids, data_category, purpose, outcome, mac_key, mac)"
            " VALUES ('e0', '2001-01-01 00:00:00.000', 'riverside', 'a', 'c', 'read', '[]', '[]', 'x', 'y', 'success',"
            " '', '')"
        )
        db.execute("DELETE FROM audit_auditrecord WHERE event_id = 'e0'")
        assert db.execute("SELECT count(*) FROM audit_auditrecord").fetchone() == (1,)
