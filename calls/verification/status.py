"""A call's state as the agent sees it, with what verification still needs: never PHI."""

from calls.models import CallSession
from calls.verification.identity_match import missing_for_next_set
from ehr_integrations.fhir.site import site_preset
from ehr_integrations.models import HealthSystem


def required_identifiers(health_system: HealthSystem) -> list[str]:
    """The smallest identifier set that verifies at this health system (what the agent should ask for)."""
    policy = health_system.verification_policy
    return missing_for_next_set(policy.factor_sets, policy.name_parts_required, {}, site_preset(health_system))


def attempts_left(call: CallSession) -> int:
    limit = call.health_system.verification_policy.max_failures_per_call
    return max(0, limit - call.failed_attempts)


def describe(call: CallSession) -> dict:
    """The call's state: never PHI."""
    return {
        "call_id": str(call.id),
        "state": call.state,
        "verification": {"required": required_identifiers(call.health_system), "attempts_left": attempts_left(call)},
        "created_at": call.created_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }
