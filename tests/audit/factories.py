"""A PHI access record with every field set; tests override what they care about."""

from datetime import datetime

from django.db import connection

from audit import record_mac, records
from audit.models import AuditRecord
from audit.records import record_phi_access

FIELDS = {
    "health_system": "riverside",
    "agent_client": "Acme Voice",
    "call_session": "7d0c8a1e-3f43-4f7e-9a57-2f3b1d1f1f10",
    "correlation_id": "corr-1",
    "patient_reference": "pat-123",
    "action": "read",
    "resource_types": ["Appointment"],
    "resource_ids": ["appt-1", "appt-2"],
    "data_category": "appointments",
    "purpose": "scheduling",
    "outcome": "success",
    "source_address": "10.0.0.7",
    "verification_method": "dob+name",
}


def phi_access(**overrides) -> AuditRecord:
    return record_phi_access(**(FIELDS | overrides))


def phi_access_written_at(moment: datetime, **overrides) -> AuditRecord:
    """A genuine record (id from the sequence, MAC under the record key) written at `moment`, years ago say."""
    record = AuditRecord(recorded_at=moment, **(FIELDS | overrides))
    record.pk = records._next_id(connection)
    record_mac.sign(record)
    record.save(force_insert=True)
    return record
