"""PHI that staff read in the admin, recorded in the PHI access log before it is shown (fail closed)."""

import uuid
from dataclasses import dataclass

from audit.models import AuditRecord
from audit.records import record_phi_access


@dataclass(frozen=True)
class StaffAccess:
    """Who reads, where from and why: `staff:<username>` stands where an agent client would."""

    health_system: str  # the slug, or "*" across health systems
    username: str
    source_address: str | None
    purpose: str  # e.g. "onboarding", "compliance_review", "staff_follow_up"

    def record(
        self,
        *,
        action: str,
        patient: str | None,
        types: list[str],
        ids: list[str],
        category: str,
        outcome: str = "success",
    ) -> AuditRecord:
        """Append the record; raises AuditUnavailable (the caller then shows nothing)."""
        return record_phi_access(
            health_system=self.health_system,
            agent_client=f"staff:{self.username}",
            call_session=None,
            correlation_id=uuid.uuid4().hex,
            patient_reference=patient,
            action=action,
            resource_types=types,
            resource_ids=ids,
            data_category=category,
            purpose=self.purpose,
            outcome=outcome,
            source_address=self.source_address,
            verification_method="staff_login",
        )
