"""Record ids drawn from the sequence in blocks: one round trip per write, ids never handed out twice,
and a chain that does not care in what order ids were drawn."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import record_ids, record_mac
from audit.errors import AuditUnavailable
from audit.models import AuditRecord, AuditSeal
from audit.sealing import seal_pending
from audit.verification import verify_audit_log
from tests.audit.factories import FIELDS, phi_access
from tests.audit.tamper import as_superuser_without_triggers
from tests.audit.unwritable import audit_log_unwritable

TABLE = AuditRecord._meta.db_table


@pytest.fixture
def fresh_block() -> None:
    """The next write draws a new block: the ids that follow come from it, BLOCK of them."""
    record_ids._drawn.clear()


def _writes_and_draws(queries: CaptureQueriesContext) -> tuple[list[str], list[str]]:
    """The statements that wrote records, and the draws of id blocks (with the savepoints around them)."""
    sqls = [q["sql"] for q in queries]
    draws = [sql for sql in sqls if "nextval(" in sql]
    lookup = [sql for sql in sqls if "pg_get_serial_sequence" in sql]  # the sequence's name, once a process
    around_draws = [sql for sql in sqls if sql.startswith(("SAVEPOINT", "RELEASE")) and ";" not in sql]
    assert len(around_draws) == 2 * len(draws)  # a draw inside a transaction runs in a savepoint of its own
    assert len(lookup) <= 1
    return [sql for sql in sqls if sql not in draws + lookup + around_draws], draws


def test_many_writes_cost_one_statement_each_and_one_draw_per_block(db, fresh_block):
    with CaptureQueriesContext(connection) as queries:
        written = [phi_access(correlation_id=f"c{n}") for n in range(100)]

    writes, draws = _writes_and_draws(queries)
    assert record_ids.BLOCK >= 32
    assert len(draws) == -(-100 // record_ids.BLOCK)
    assert len(writes) == len(written)
    assert all(sql.startswith('SAVEPOINT audit_record_write; INSERT INTO "audit_auditrecord"') for sql in writes)
    ids = [r.pk for r in written]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert list(AuditRecord.objects.filter(pk__in=ids).order_by("pk").values_list("pk", flat=True)) == ids


@pytest.mark.django_db(transaction=True)
def test_a_write_in_autocommit_is_one_insert_and_durable_at_once(fresh_block):
    phi_access(correlation_id="draws-a-block")
    with CaptureQueriesContext(connection) as queries:
        record = phi_access(correlation_id="one-statement")

    assert [q["sql"].split()[:3] for q in queries] == [["INSERT", "INTO", '"audit_auditrecord"']]
    assert not connection.in_atomic_block
    assert record_mac.is_genuine(AuditRecord.objects.get(pk=record.pk))


def test_ids_drawn_by_many_threads_are_never_handed_out_twice(db):
    def draw() -> list[int]:
        try:
            return [record_ids.next_id(connection, TABLE) for _ in range(150)]
        finally:
            connection.close()  # each thread's own connection

    with ThreadPoolExecutor(max_workers=6) as pool:
        drawn = [future.result() for future in [pool.submit(draw) for _ in range(6)]]

    ids = [i for batch in drawn for i in batch]
    assert len(ids) == 900 and len(set(ids)) == 900


def test_a_forked_child_does_not_use_the_ids_its_parent_drew(db, fresh_block):
    record_ids.next_id(connection, TABLE)  # the parent now holds the rest of a block
    assert any(record_ids._drawn.values())

    child = os.fork()
    if child == 0:  # the child touches no connection: it only says what it would hand out
        os._exit(0 if not any(record_ids._drawn.values()) else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_a_refused_write_in_a_transaction_leaves_it_usable_for_the_next_write(db):
    with transaction.atomic():
        with audit_log_unwritable(), pytest.raises(AuditUnavailable):
            phi_access(correlation_id="refused")
        written = phi_access(correlation_id="written")

    assert list(AuditRecord.objects.values_list("correlation_id", flat=True)) == ["written"]
    seal_pending()
    assert verify_audit_log().intact
    assert AuditSeal.objects.get().record_id == written.pk


def test_a_write_in_an_already_failed_transaction_fails_closed_and_marks_it_for_rollback(db, fresh_block):
    phi_access(correlation_id="draws-a-block")
    with transaction.atomic():
        with pytest.raises(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # the transaction is now aborted; no savepoint to return to
        with pytest.raises(AuditUnavailable):
            phi_access()
        assert connection.needs_rollback


def test_with_server_side_binding_the_write_uses_djangos_savepoint(db, monkeypatch, fresh_block):
    phi_access(correlation_id="draws-a-block")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"server_side_binding": True})
    with CaptureQueriesContext(connection) as queries:
        record = phi_access(correlation_id="server-side")

    assert [q["sql"].split()[0] for q in queries] == ["SAVEPOINT", "INSERT", "RELEASE"]
    assert record_mac.is_genuine(AuditRecord.objects.get(pk=record.pk))


def test_a_lower_id_written_after_a_higher_one_is_sealed_next_and_its_deletion_is_caught(db, fresh_block):
    """Another process's block can hold higher ids than this one's: the chain follows what committed."""
    first = phi_access(correlation_id="this-process-1")
    with connection.cursor() as cursor:  # another process draws after this one: a higher id
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [TABLE])
        other = AuditRecord(recorded_at=timezone.now(), **(FIELDS | {"correlation_id": "other-process"}))
        other.pk = cursor.fetchone()[0]
    record_mac.sign(other)
    other.save(force_insert=True)
    seal_pending()
    late = phi_access(correlation_id="this-process-2")  # from this process's block: below the other's id
    assert first.pk < late.pk < other.pk
    seal_pending()

    assert list(AuditSeal.objects.order_by("position").values_list("record_id", flat=True)) == [
        first.pk,
        other.pk,
        late.pk,
    ]
    assert verify_audit_log().intact

    as_superuser_without_triggers(
        ("DELETE FROM audit_auditseal WHERE record_id = %s", [late.pk]),
        ("DELETE FROM audit_auditrecord WHERE id = %s", [late.pk]),
    )
    problem = verify_audit_log().problem
    assert (problem.kind, problem.position) == ("truncated", 3)
