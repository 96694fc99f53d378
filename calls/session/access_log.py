"""Audit records for a call's PHI accesses, filled from the call and the request in one place."""

import uuid

from audit.errors import AuditUnavailable
from audit.records import record_phi_access
from calls.models import CallSession
from calls.outcomes import Unavailable
from calls.session.transfers import transfer_for
from ehr_integrations.models import Purpose

AUDIT_DOWN_SAY = "I'm having trouble with our records system right now; let me connect you with someone who can help."


def correlation_id(request) -> str:
    given = request.headers.get("X-Correlation-ID", "") if request is not None else ""
    return given[:64] if given else uuid.uuid4().hex


def record(
    *,
    call: CallSession,
    request,
    action: str,
    outcome: str,
    patient_reference: str | None,
    resource_types: list[str] = (),
    resource_ids: list[str] = (),
    data_category: str = "demographics",
    purpose: str = "TREAT",
) -> None:
    """Write the record; if it cannot be written, refuse with `unavailable` so no PHI leaves."""
    try:
        record_phi_access(
            health_system=call.health_system.slug,
            agent_client=str(call.agent_client_id),
            call_session=str(call.id),
            correlation_id=correlation_id(request),
            patient_reference=patient_reference,
            action=action,
            resource_types=list(resource_types),
            resource_ids=list(resource_ids),
            data_category=data_category,
            purpose=purpose,
            outcome=outcome,
            source_address=request.META.get("REMOTE_ADDR") if request is not None else None,
            verification_method=call.verification_method or None,
        )
    except AuditUnavailable:
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.GENERAL)
        raise Unavailable(reason="audit_unavailable", transfer=transfer, say=AUDIT_DOWN_SAY) from None
