"""A discovered token endpoint is used only on the FHIR base's origin or a confirmed host; no credential
is ever sent elsewhere, by discovery or by a redirect. The foreign host is a real server on 127.0.0.2
whose request log must stay empty."""

import base64

import pytest
from django.core.cache import cache

from ehr_integrations.auth import smart_auth
from ehr_integrations.auth.connection_config import connection_config, token_endpoint_allowed
from ehr_integrations.errors import EHRAuthError, EHRRequestRejected
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.setup.connection_check import check_connection
from ehr_integrations.transport import io_loop
from tests import builders
from tests.ehr_integrations.recording_server import RecordingServer, Reply

SECRET = "the-client-secret-that-must-not-leak"


@pytest.fixture
def ehr():
    server = RecordingServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def foreign():
    server = RecordingServer("127.0.0.2")
    server.replies["/token"] = Reply(200, {"access_token": "stolen", "expires_in": 300, "token_type": "bearer"})
    yield server
    server.stop()


def _system(ehr: RecordingServer, **fields) -> HealthSystem:
    system = builders.health_system(
        fhir_base_url=f"{ehr.url}/fhir", auth_method="client_secret_basic", token_url="", **fields
    )
    connection = EHRConnection.objects.get(health_system=system)
    connection.set_client_secret(SECRET)
    connection.save()
    return system


def _discovery_names(ehr: RecordingServer, token_endpoint: str) -> None:
    ehr.replies["/fhir/.well-known/smart-configuration"] = Reply(200, {"token_endpoint": token_endpoint})


def _fetch_token(system: HealthSystem) -> smart_auth.TokenGrant:
    deadline = io_loop.deadline_in(5)
    return io_loop.wait(smart_auth.fetch_token(connection_config(system), deadline=deadline), deadline=deadline)


def _secret_seen(server: RecordingServer) -> bool:
    encoded = base64.b64encode(f"gw-riverside:{SECRET}".encode()).decode()
    return any(SECRET in r["body"] or encoded in str(r["headers"]) for r in server.received)


@pytest.mark.django_db
def test_test_connection_stops_at_a_foreign_token_host_and_sends_it_nothing(ehr, foreign):
    system = _system(ehr)
    _discovery_names(ehr, f"{foreign.url}/token")
    steps = {step.name: step for step in check_connection(system).steps}
    assert not steps["Discovery"].ok
    assert "no credential was sent" in steps["Discovery"].diagnosis
    assert not steps["Token"].ok
    assert foreign.received == []
    assert not _secret_seen(ehr)


@pytest.mark.django_db
def test_another_port_on_the_fhir_host_is_another_origin(ehr):
    system = _system(ehr)
    other = RecordingServer("127.0.0.1")
    try:
        _discovery_names(ehr, f"{other.url}/token")
        with pytest.raises(EHRRequestRejected) as refused:
            _fetch_token(system)
        assert refused.value.reason == "token_endpoint_not_allowed"
        assert other.received == []
    finally:
        other.stop()


@pytest.mark.django_db
def test_a_host_the_engineer_confirmed_is_used(ehr, foreign):
    system = _system(
        ehr,
    )
    HealthSystem.objects.filter(pk=system.pk).update(extra_allowed_hosts="127.0.0.2")
    _discovery_names(ehr, f"{foreign.url}/token")
    assert _fetch_token(HealthSystem.objects.get(pk=system.pk)).access_token == "stolen"
    assert [r["path"] for r in foreign.received] == ["/token"]


@pytest.mark.django_db
def test_a_stored_foreign_endpoint_is_not_used(ehr, foreign):
    system = _system(ehr)
    EHRConnection.objects.filter(health_system=system).update(discovery={"token_endpoint": f"{foreign.url}/token"})
    config = connection_config(HealthSystem.objects.get(pk=system.pk))
    assert config.token_url == "" and "127.0.0.2" not in config.allowed_hosts


@pytest.mark.django_db
def test_a_poisoned_discovery_document_in_the_shared_cache_is_refused(ehr, foreign):
    # Someone who can write to Redis plants a document: it is checked like one from the EHR.
    system = _system(ehr)
    cache.set(f"ehr:discovery:{system.pk}", {"source": "smart-configuration", "token_endpoint": f"{foreign.url}/t"})
    with pytest.raises(EHRRequestRejected) as refused:
        _fetch_token(system)
    assert refused.value.reason == "token_endpoint_not_allowed"
    assert foreign.received == [] and ehr.received == []


@pytest.mark.django_db
def test_a_redirect_from_the_token_endpoint_is_not_followed_with_the_credential(ehr, foreign):
    system = _system(ehr)
    EHRConnection.objects.filter(health_system=system).update(token_url=f"{ehr.url}/token")
    ehr.replies["/token"] = Reply(307, {}, {"Location": f"{foreign.url}/token"})
    with pytest.raises(EHRAuthError) as refused:
        _fetch_token(HealthSystem.objects.get(pk=system.pk))
    assert refused.value.error == "http_307"
    assert foreign.received == []


@pytest.mark.django_db
def test_the_oracle_health_preset_names_its_authorization_host(settings):
    settings.EHR_ALLOWED_NETWORKS = []
    base = "https://fhir-ehr.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d"
    token = "https://authorization.cerner.com/tenants/ec2458f2-1e24-41c8-b71b-0e701af7583d/protocols/oauth2/profiles/smart-v1/token"
    oracle = connection_config(builders.health_system(slug="oracle", vendor="oracle_health", fhir_base_url=base))
    generic = connection_config(builders.health_system(slug="other", vendor="generic", fhir_base_url=base))
    assert token_endpoint_allowed(oracle, token)
    assert not token_endpoint_allowed(generic, token)
