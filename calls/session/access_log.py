"""Audit records for a call's PHI accesses, filled from the call and the edge's AuditContext in one place."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from audit.errors import AuditUnavailable
from audit.records import record_phi_access
from calls.models import CallSession
from calls.outcomes import Unavailable
from calls.session.transfers import transfer_for
from ehr_integrations.models import Purpose

AUDIT_DOWN_SAY = "I'm having trouble with our records system right now. Let me connect you with someone who can help."


@dataclass(frozen=True)
class AuditContext:
    """Who asked, through which edge: what an audit record needs from outside the call.

    Each edge (REST, WebSocket, MCP, webhooks) builds one from its own request; services never see
    a request. `channel` names the edge ("rest", "websocket", "mcp", "vapi", "retell", "task").
    """

    channel: str
    correlation_id: str
    source_address: str | None = None

    @classmethod
    def of(cls, *, channel: str, correlation_id: str = "", source_address: str | None = None) -> "AuditContext":
        """A context with the caller's correlation id (cut to 64 characters) or a new one."""
        return cls(
            channel=channel, correlation_id=correlation_id[:64] or uuid.uuid4().hex, source_address=source_address
        )

    @classmethod
    def background(cls, correlation_id: str = "") -> "AuditContext":
        """Work the gateway does on its own after the request (a pending fetch, a follow-up)."""
        return cls.of(channel="task", correlation_id=correlation_id)


def record(
    *,
    call: CallSession,
    context: AuditContext,
    action: str,
    outcome: str,
    patient_reference: str | None,
    resource_types: Sequence[str] = (),
    resource_ids: Sequence[str] = (),
    data_category: str = "demographics",
    purpose: str = "TREAT",
) -> None:
    """Write the record; if it cannot be written, refuse with `unavailable` so no PHI leaves."""
    _write(
        call,
        context,
        action=action,
        outcome=outcome,
        patient_reference=patient_reference,
        resource_types=list(resource_types),
        resource_ids=list(resource_ids),
        data_category=data_category,
        purpose=purpose,
        verification_method=call.verification_method or None,
    )


def record_attempt(
    *,
    call: CallSession,
    context: AuditContext,
    outcome: str,
    factors: Iterable[str],
    patient_reference: str | None,
    action: str = "verify",
) -> None:
    """Audit one verification attempt, whatever its outcome (audit.models.Outcome), without PHI.

    `factors` are the names of the identifiers tried (never their values); `patient_reference` only
    when the search found exactly one patient, so an attempt never links unrelated patients.
    `action="search"`: a speculative patient search before the factor set was complete (no attempt).
    """
    _write(
        call,
        context,
        action=action,
        outcome=outcome,
        patient_reference=patient_reference,
        resource_types=["Patient"],
        resource_ids=[patient_reference] if patient_reference else [],
        data_category="demographics",
        purpose="TREAT",
        verification_method="+".join(sorted(factors))[:64] or None,
    )


def _write(call: CallSession, context: AuditContext, **fields: object) -> None:
    try:
        record_phi_access(
            health_system=call.health_system.slug,
            agent_client=str(call.agent_client_id),
            call_session=str(call.id),
            correlation_id=context.correlation_id,
            source_address=context.source_address,
            **fields,
        )
    except AuditUnavailable:
        transfer = transfer_for(health_system=call.health_system, purpose=Purpose.GENERAL)
        raise Unavailable(reason="audit_unavailable", transfer=transfer, say=AUDIT_DOWN_SAY) from None
