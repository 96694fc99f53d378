"""Tampering as a database superuser: the append-only triggers bypassed around raw SQL.

Two ways a superuser gets past the triggers: ALTER TABLE ... DISABLE TRIGGER ALL, and
SET session_replication_role = replica (no ALTER at all: ordinary triggers simply do not fire).
"""

import uuid

from django.db import connection

from audit import chain
from audit.models import AuditRecord, AuditSeal, SealVerdict

TABLES = ("audit_auditrecord", "audit_auditseal")


def as_superuser_without_triggers(*statements: tuple[str, list]) -> None:
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        for sql, params in statements:
            cursor.execute(sql, params)
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


def as_superuser_in_replica_mode(*statements: tuple[str, list]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


BYPASSES = {
    "triggers disabled": as_superuser_without_triggers,
    "replication role replica": as_superuser_in_replica_mode,
}


def forged_insert(
    *, like: AuditRecord, patient_reference: str = "pat-forged", recorded_at: str = "recorded_at"
) -> tuple[str, list]:
    """An INSERT of a plausible record: fields, key id and a MAC copied from a genuine one, a fresh id."""
    return (
        "INSERT INTO audit_auditrecord (id, event_id, recorded_at, health_system, agent_client, call_session,"
        " correlation_id, patient_reference, action, resource_types, resource_ids, data_category, purpose, outcome,"
        " source_address, verification_method, mac_key, mac)"
        f" SELECT nextval(pg_get_serial_sequence('audit_auditrecord', 'id')), %s, {recorded_at}, health_system,"
        " agent_client, call_session, correlation_id, %s, action, resource_types, resource_ids, data_category,"
        " purpose, outcome, source_address, verification_method, mac_key, mac FROM audit_auditrecord WHERE id = %s",
        [uuid.uuid4(), patient_reference, like.pk],
    )


def forged_seal_for(record: AuditRecord, *, after: AuditSeal) -> tuple[str, list]:
    """A seal appended at the head for `record`, linked to it, with a hash that looks like one."""
    digest = chain.record_digest(AuditRecord.objects.get(pk=record.pk))
    return (
        "INSERT INTO audit_auditseal (position, record_id, event_id, previous_hash, hash, sealed_at, record_digest,"
        " verdict) VALUES (%s, %s, %s, %s, %s, now(), %s, %s)",
        [after.position + 1, record.pk, record.event_id, after.hash, uuid.uuid4().hex * 2, digest, SealVerdict.GENUINE],
    )


def reseal_everything() -> None:
    """What an attacker holding the chain key (but not the record key) does: a fresh, self-consistent chain."""
    as_superuser_without_triggers(("DELETE FROM audit_auditseal", []))
    previous = chain.GENESIS
    for position, record in enumerate(AuditRecord.objects.order_by("id"), 1):
        seal = AuditSeal(
            position=position,
            record_id=record.pk,
            event_id=record.event_id,
            previous_hash=previous,
            sealed_at=record.recorded_at,
            record_digest=chain.record_digest(record),
            verdict=SealVerdict.GENUINE,
        )
        seal.hash = previous = chain.seal_hash(seal)
        seal.save(force_insert=True)
