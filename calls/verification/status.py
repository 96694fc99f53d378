"""A call's state as the agent sees it, with what verification still needs: never PHI."""

from calls.models import CallSession
from calls.verification import prompts
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


def verification(call: CallSession) -> dict:
    """What verifying this call takes: the identifiers, the first one to ask for and its opening question."""
    required = required_identifiers(call.health_system)
    return {
        "required": required,
        "attempts_left": attempts_left(call),
        "ask": required[0] if required else None,
        "prompt": prompts.first_prompt(required),
    }


def describe(call: CallSession) -> dict:
    """The call's state: never PHI."""
    return {
        "call_id": str(call.id),
        "state": call.state,
        "verification": verification(call),
        "created_at": call.created_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }
