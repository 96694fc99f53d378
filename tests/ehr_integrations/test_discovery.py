"""SMART discovery against the sandbox: the well-known file first, the CapabilityStatement as fallback."""

import pytest

from ehr_integrations.auth import discovery
from ehr_integrations.auth.connection_config import connection_config, forget
from ehr_integrations.fhir.client import deadline_in, fhir_client
from ehr_integrations.models import EHRConnection
from ehr_integrations.transport import io_loop
from tests import builders
from tests.ehr_integrations.sandbox_systems import secret_system, token_requests


@pytest.mark.django_db
def test_discovery_reads_the_well_known_smart_configuration(sandbox):
    document = discovery.refresh_discovery(secret_system(sandbox, token_url=""))
    assert document["source"] == "smart-configuration"
    assert document["token_endpoint"] == sandbox.token_url
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]


@pytest.mark.django_db
def test_discovery_falls_back_to_the_capability_statement(sandbox):
    system = secret_system(sandbox, token_url="", max_retries=0)
    sandbox.add_fault("/fhir/.well-known/smart-configuration", error_rate=1.0, error_status=500)
    document = discovery.refresh_discovery(system)
    assert document["source"] == "metadata" and document["token_endpoint"] == sandbox.token_url
    assert EHRConnection.objects.get(health_system=system).discovered_at is not None


@pytest.mark.django_db(transaction=True)  # discovery is stored from a worker thread, outside the test transaction
def test_a_connection_without_a_token_url_discovers_it_on_first_use(sandbox):
    system = secret_system(sandbox, token_url="")
    client = fhir_client(connection_config(system))
    deadline = deadline_in(5)
    assert io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)
    assert EHRConnection.objects.get(health_system=system).discovery["token_endpoint"] == sandbox.token_url
    assert connection_config(system).token_url == sandbox.token_url


@pytest.mark.django_db(transaction=True)
def test_discovering_the_token_url_on_first_use_costs_one_token_request_not_two(sandbox):
    system = secret_system(sandbox, token_url="")
    for _ in range(3):  # a fresh configuration copy each time, as every new process and every reload has
        forget()
        client = fhir_client(connection_config(system))
        deadline = deadline_in(5)
        io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)
    assert len(token_requests(sandbox)) == 1


@pytest.mark.django_db
def test_epic_gets_its_client_id_header_on_discovery_and_others_do_not(db):
    epic = connection_config(builders.health_system(slug="epic-site", vendor="epic"))
    generic = connection_config(builders.health_system(slug="plain-site"))
    assert discovery.discovery_headers(epic, "application/json")["Epic-Client-ID"] == "gw-epic-site"
    assert "Epic-Client-ID" not in discovery.discovery_headers(generic, "application/json")


def test_oauth_uris_are_read_from_the_capability_statement_security_extension():
    statement = {
        "rest": [
            {
                "security": {
                    "extension": [
                        {
                            "url": discovery.OAUTH_URIS,
                            "extension": [
                                {"url": "token", "valueUri": "https://ehr.example.org/token"},
                                {"url": "authorize", "valueUri": "https://ehr.example.org/authorize"},
                            ],
                        }
                    ]
                }
            }
        ]
    }
    assert discovery.oauth_uris(statement) == {
        "token": "https://ehr.example.org/token",
        "authorize": "https://ehr.example.org/authorize",
    }
