"""Small builders for the configuration models, with sane defaults."""

import datetime

from calls.edges.api_keys import issue_key
from calls.models import AgentClient
from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement
from ehr_integrations.models import EHRConnection, HealthSystem, TransferTarget, VerificationPolicy

PURPOSES = ("scheduling", "pharmacy", "clinical", "verification", "general")
# An active BAA needs its signed document on file (the name is enough: no test reads the file).
SIGNED_DOCUMENT = "baa/2026/signed.pdf"


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


def agent_client(name: str, *systems: HealthSystem, baa: bool = True) -> AgentClient:
    """An agent client allowed these systems, whose business associate has a current BAA for them."""
    associate = BusinessAssociate.objects.create(name=f"{name} Inc.")
    if baa:
        agreement = BusinessAssociateAgreement.objects.create(
            business_associate=associate,
            status=AgreementStatus.ACTIVE,
            effective_date=datetime.date.today() - datetime.timedelta(days=30),
            expiry_date=datetime.date.today() + datetime.timedelta(days=365),
            document=SIGNED_DOCUMENT,
        )
        agreement.health_systems.add(*systems)
    client = AgentClient.objects.create(name=name, business_associate=associate)
    client.health_systems.add(*systems)
    client.api_key = issue_key(agent_client=client)
    return client
