"""BAA coverage gaps for the compliance dashboard: health systems no current BAA covers, and agent
clients with no business associate or none whose BAA covers each health system they serve.

Health systems and agent clients belong to other apps; they are read by name through the app
registry (as the BAA model's own lazy reference does), so compliance imports neither.
"""

import datetime
from dataclasses import dataclass

from django.apps import apps

from compliance.baa import current_agreements


@dataclass(frozen=True)
class Gap:
    kind: str  # "health system" or "agent client"
    name: str
    why: str


def coverage_gaps(*, today: datetime.date) -> list[Gap]:
    current = current_agreements(on=today)
    covered = set(current.values_list("business_associate_id", "health_systems__id"))
    covered_systems = {system for _, system in covered}
    HealthSystem = apps.get_model("ehr_integrations", "HealthSystem")  # noqa: N806
    AgentClient = apps.get_model("calls", "AgentClient")  # noqa: N806
    gaps = [
        Gap("health system", s.name, "no current BAA covers it")
        for s in HealthSystem.objects.filter(enabled=True).exclude(pk__in=covered_systems)
    ]
    for client in AgentClient.objects.filter(enabled=True).prefetch_related("health_systems"):
        if client.business_associate_id is None:
            gaps.append(Gap("agent client", client.name, "no business associate: it cannot open a call"))
            continue
        missing = [s.slug for s in client.health_systems.all() if (client.business_associate_id, s.pk) not in covered]
        if missing:
            gaps.append(Gap("agent client", client.name, f"its BAA does not cover {', '.join(missing)}"))
    return gaps


def uncovered_agent_clients(*, health_system_id: int, today: datetime.date) -> list[str]:
    """Names of the enabled agent clients serving this health system that no current BAA of theirs covers."""
    AgentClient = apps.get_model("calls", "AgentClient")  # noqa: N806
    covered = current_agreements(on=today).filter(health_systems__id=health_system_id)
    clients = AgentClient.objects.filter(enabled=True, health_systems__id=health_system_id)
    return sorted(
        clients.exclude(business_associate_id__in=covered.values("business_associate_id")).values_list(
            "name", flat=True
        )
    )
