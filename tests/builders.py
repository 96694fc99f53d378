"""Small builders for the configuration models, with sane defaults."""

from calls.api_keys import issue_key
from calls.models import AgentClient
from ehr_integrations.models import EHRConnection, HealthSystem, TransferTarget, VerificationPolicy

PURPOSES = ("scheduling", "pharmacy", "clinical", "verification", "general")


def health_system(
    *,
    slug: str = "riverside",
    vendor: str = "generic",
    fhir_base_url: str = "http://127.0.0.1:9/fhir",
    **connection_fields,
) -> HealthSystem:
    system = HealthSystem.objects.create(
        slug=slug,
        name=slug.title() + " Health",
        vendor=vendor,
        fhir_base_url=fhir_base_url,
        time_zone="America/New_York",
    )
    EHRConnection.objects.create(health_system=system, client_id=f"gw-{slug}", **connection_fields)
    VerificationPolicy.objects.create(health_system=system)
    for index, purpose in enumerate(PURPOSES):
        TransferTarget.objects.create(
            health_system=system, purpose=purpose, name=f"{purpose.title()} desk", phone=f"+1555555010{index}"
        )
    return system


def agent_client(name: str, *systems: HealthSystem) -> AgentClient:
    client = AgentClient.objects.create(name=name)
    client.health_systems.add(*systems)
    client.api_key = issue_key(agent_client=client)
    return client
