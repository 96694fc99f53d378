"""Write one PHI access record, before any PHI leaves (fail closed).

Call it outside a long transaction when you can: in autocommit the record is durable at once,
even if later work fails. Inside an atomic block it runs in a savepoint, so a refused write
leaves the caller's transaction usable for its own error handling.

The record's id is fixed before the INSERT, so that its MAC (audit/record_mac.py) can cover it;
ids come from the sequence in blocks (audit/record_ids.py), so a write is one INSERT statement,
built once from the model's fields and bound with each field's own conversion (no ORM save).
"""

import logging
import re
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from audit import record_ids, record_mac
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
        _write(record)
    except DatabaseError as exc:
        # The database message may quote values; log only its type.
        logger.error("PHI access record not written (%s); failing closed", type(exc).__name__)
        raise AuditUnavailable("audit log unwritable") from None
    return record


_FIELDS = AuditRecord._meta.concrete_fields
_SAVEPOINT = "audit_record_write"
_INSERT_SQL: dict[str, str] = {}


def _write(record: AuditRecord) -> None:
    """One round trip on Postgres (plus one per block of ids): the INSERT, in a savepoint of its own
    when the caller's transaction is open, so that a refused write leaves that transaction usable."""
    postgres = connection.vendor == "postgresql"
    if postgres and not connection.in_atomic_block:
        _insert(record)  # autocommit: one statement, its own transaction
    elif postgres and _binds_client_side(connection):
        _insert(record, in_savepoint=True)
    else:
        with transaction.atomic():  # Django's savepoint (SQLite also reads the id in this transaction)
            _insert(record)


def _insert(record: AuditRecord, *, in_savepoint: bool = False) -> None:
    record.pk = _next_id(connection)
    record_mac.sign(record)
    values = [field.get_db_prep_save(getattr(record, field.attname), connection) for field in _FIELDS]
    sql = _insert_sql(connection)
    if in_savepoint:
        # The savepoint, the INSERT and the release travel as one query string (client-side binding).
        sql = f"SAVEPOINT {_SAVEPOINT}; {sql}; RELEASE SAVEPOINT {_SAVEPOINT}"
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
    except DatabaseError:
        if in_savepoint:
            _roll_back_to_savepoint()
        raise
    record._state.adding, record._state.db = False, connection.alias


def _roll_back_to_savepoint() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}")
    except DatabaseError:
        # No savepoint to return to (the transaction was already aborted, or the connection is gone).
        transaction.set_rollback(True)


def _binds_client_side(db: BaseDatabaseWrapper) -> bool:
    # Several statements in one execute() with parameters need client-side binding (Django's default).
    return db.settings_dict["OPTIONS"].get("server_side_binding") is not True


def _next_id(db: BaseDatabaseWrapper) -> int:
    return record_ids.next_id(db, AuditRecord._meta.db_table)


def _insert_sql(db: BaseDatabaseWrapper) -> str:
    if db.vendor not in _INSERT_SQL:
        columns = ", ".join(db.ops.quote_name(field.column) for field in _FIELDS)
        table = db.ops.quote_name(AuditRecord._meta.db_table)
        placeholders = ", ".join(["%s"] * len(_FIELDS))
        _INSERT_SQL[db.vendor] = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (the model's)
    return _INSERT_SQL[db.vendor]


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
