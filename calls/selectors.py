"""Reads scoped to the asking agent client: anything it may not see is simply not found."""

from django.http import Http404

from calls.models import AgentClient, CallSession
from ehr_integrations.local_cache import LocalCache
from ehr_integrations.models import HealthSystem, VerificationPolicy

_systems = LocalCache("health_system").clear_on_change(HealthSystem, VerificationPolicy)


def health_system_for_client(*, client: AgentClient, slug: str) -> HealthSystem:
    system = client.health_systems.filter(slug=slug, enabled=True).first()
    if system is None:
        raise Http404
    return system


def call_for_client(*, client: AgentClient, call_id) -> CallSession:
    """The client's call, with its health system and policy from this process's copy (one query)."""
    call = CallSession.objects.filter(pk=call_id, agent_client=client).first()
    if call is None:
        raise Http404
    call.agent_client = client
    call.health_system = _systems.get_or_load(
        call.health_system_id,
        lambda: HealthSystem.objects.select_related("verification_policy").get(pk=call.health_system_id),
    )
    return call
