from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from calls.edges.api_keys import client_for_key
from calls.models import AgentClient, ApiKey
from compliance.models import BusinessAssociate
from tests.compliance import factories


@pytest.mark.django_db
def test_prints_a_key_once_and_stores_only_its_hash(health_system):
    out = StringIO()
    call_command("create_agent_client", "Acme", "--health-system", health_system.slug, stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    client = client_for_key(key)
    assert client is not None and client.name == "Acme"
    assert list(client.health_systems.all()) == [health_system]
    stored = ApiKey.objects.get(agent_client=client)
    assert key not in (stored.key_hash, stored.prefix)
    assert client_for_key(key[:-1] + ("x" if key[-1] != "x" else "y")) is None


@pytest.mark.django_db
def test_unknown_health_system_is_refused():
    with pytest.raises(CommandError, match="unknown health system"):
        call_command("create_agent_client", "Acme", "--health-system", "nowhere")


def _open_call(key: str, slug: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client.post("/api/v1/calls", {"health_system": slug}, format="json")


def _create(*args: str) -> str:
    out = StringIO()
    call_command("create_agent_client", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


@pytest.mark.django_db
def test_business_associate_with_a_baa_lets_the_new_client_open_calls(health_system):
    associate = BusinessAssociate.objects.create(name="Acme Voice Inc")
    factories.agreement(health_system, vendor=associate)

    key = _create("Acme", "--health-system", health_system.slug, "--business-associate", "Acme Voice Inc")

    assert client_for_key(key).business_associate == associate
    assert _open_call(key, health_system.slug).status_code == 201


@pytest.mark.django_db
def test_client_without_business_associate_is_refused_naming_that_cause(health_system):
    key = _create("Acme", "--health-system", health_system.slug)

    response = _open_call(key, health_system.slug)

    assert response.status_code == 403
    assert response.json()["errors"]["health_system"].startswith("this agent client has no business associate")


@pytest.mark.django_db
def test_business_associate_without_a_baa_is_refused_naming_that_cause(health_system):
    BusinessAssociate.objects.create(name="Acme Voice Inc")
    key = _create("Acme", "--health-system", health_system.slug, "--business-associate", "Acme Voice Inc")

    response = _open_call(key, health_system.slug)

    assert response.status_code == 403
    message = response.json()["errors"]["health_system"]
    assert message == "no business associate agreement of Acme Voice Inc covers this health system"


@pytest.mark.django_db
def test_unknown_business_associate_is_refused(health_system):
    with pytest.raises(CommandError, match="unknown business associate 'Nobody'"):
        call_command(
            "create_agent_client", "Acme", "--health-system", health_system.slug, "--business-associate", "Nobody"
        )
    assert not AgentClient.objects.filter(name="Acme").exists()
