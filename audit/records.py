"""Write one PHI access record, before any PHI leaves (fail closed).

Call it outside a long transaction when you can: in autocommit the record is durable at once,
even if later work fails. Inside an atomic block it runs in a savepoint, so a refused write
leaves the caller's transaction usable for its own error handling.

The record's id is drawn from its sequence first, so that its MAC (audit/record_mac.py) can
cover it: two statements, one row.
"""

import logging
import re
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit import record_mac
from audit.errors import AuditRecordInvalid, AuditUnavailable
from audit.models import AuditRecord, Outcome

logger = logging.getLogger(__name__)

OUTCOMES = frozenset(Outcome.values)
# FHIR R4 id: [A-Za-z0-9\-\.]{1,64}. A bare date (a birth date passed by mistake) is refused too.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{3}-\d{2}-\d{4}$")
_CHAR_LIMITS = {f.name: f.max_length for f in AuditRecord._meta.concrete_fields if getattr(f, "max_length", None)}


def record_phi_access(
    *,
    health_system: str,
    agent_client: str,
    call_session: str | None,
    correlation_id: str,
    patient_reference: str | None,
    action: str,
    resource_types: list[str],
    resource_ids: list[str],
    data_category: str,
    purpose: str,
    outcome: str,
    source_address: str | None,
    verification_method: str | None,
) -> AuditRecord:
    """Append one record to the PHI access log; raise AuditUnavailable if it cannot be written."""
    record = AuditRecord(
        recorded_at=_now_ms(),
        health_system=health_system,
        agent_client=agent_client,
        call_session=call_session,
        correlation_id=correlation_id,
        patient_reference=patient_reference,
        action=action,
        resource_types=list(resource_types),
        resource_ids=[str(i) for i in resource_ids],
        data_category=data_category,
        purpose=purpose,
        outcome=outcome,
        source_address=source_address,
        verification_method=verification_method,
    )
    _validate(record)
    try:
        if connection.in_atomic_block or connection.vendor != "postgresql":
            with transaction.atomic():
                _insert(record)
        else:
            _insert(record)  # autocommit: a sequence value needs no transaction of its own
    except DatabaseError as exc:
        # The database message may quote values; log only its type.
        logger.error("PHI access record not written (%s); failing closed", type(exc).__name__)
        raise AuditUnavailable("audit log unwritable") from None
    return record


_SEQUENCES: dict[str, str] = {}


def _insert(record: AuditRecord) -> None:
    record.pk = _next_id(connection)
    record_mac.sign(record)
    record.save(force_insert=True)


def _next_id(db: BaseDatabaseWrapper) -> int:
    table = AuditRecord._meta.db_table
    with db.cursor() as cursor:
        if db.vendor != "postgresql":
            # SQLite (the demo): writes are serialized, and this runs in the INSERT's transaction.
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            cursor.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608 (a constant)
            return max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1
        if db.alias not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            _SEQUENCES[db.alias] = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [_SEQUENCES[db.alias]])
        return cursor.fetchone()[0]


def _now_ms() -> datetime:
    now = timezone.now()
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def _validate(record: AuditRecord) -> None:
    if record.outcome not in OUTCOMES:
        raise AuditRecordInvalid("outcome must be one of " + ", ".join(sorted(OUTCOMES)))
    for name in ("health_system", "agent_client", "correlation_id", "action", "data_category", "purpose"):
        if not getattr(record, name):
            raise AuditRecordInvalid(f"{name} is required")
    ref = record.patient_reference
    if ref is not None and (not _FHIR_ID.match(ref) or _DATE_LIKE.match(ref)):
        raise AuditRecordInvalid("patient_reference must be the EHR resource id only")
    for name, limit in _CHAR_LIMITS.items():
        value = getattr(record, name)
        if isinstance(value, str) and len(value) > limit:
            raise AuditRecordInvalid(f"{name} longer than {limit}")
    if not all(isinstance(t, str) for t in record.resource_types):
        raise AuditRecordInvalid("resource_types must be strings")
