"""Reads scoped to the asking agent client: anything it may not see is simply not found."""

from django.http import Http404

from calls.models import AgentClient, CallSession
from ehr_integrations.models import HealthSystem


def health_system_for_client(*, client: AgentClient, slug: str) -> HealthSystem:
    system = client.health_systems.filter(slug=slug, enabled=True).first()
    if system is None:
        raise Http404
    return system


def call_for_client(*, client: AgentClient, call_id) -> CallSession:
    call = (
        CallSession.objects.select_related("agent_client", "health_system", "health_system__verification_policy")
        .filter(pk=call_id, agent_client=client)
        .first()
    )
    if call is None:
        raise Http404
    return call
