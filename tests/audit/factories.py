"""A PHI access record with every field set; tests override what they care about."""

from audit.models import AuditRecord
from audit.records import record_phi_access


def phi_access(**overrides) -> AuditRecord:
    fields = {
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
    fields.update(overrides)
    return record_phi_access(**fields)
