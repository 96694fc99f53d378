"""The connectivity admin: Test connection with diagnoses, Rotate keys, discovery, scope warnings, breakers."""

import pytest
from django.urls import reverse

from ehr_integrations.models import EHRConnection, HealthSystem, KeyStatus, SigningKey
from ehr_integrations.setup.connection_check import check_connection
from ehr_integrations.transport import breaker, io_loop
from tests.ehr_integrations.sandbox_systems import SCOPES, SECRET, jwks_system, secret_system


def _steps(report) -> dict:
    return {step.name: step for step in report.steps}


def _failed(report) -> dict:
    return {step.name: step.diagnosis for step in report.steps if not step.ok and not step.skipped}


@pytest.mark.django_db
def test_every_step_passes_against_a_working_ehr_and_discovery_is_stored(sandbox):
    system = secret_system(sandbox, token_url="")
    report = check_connection(system)
    assert report.ok, report
    assert [s.name for s in report.steps] == ["Discovery", "Token", "Metadata", "Tools", "Writes"]
    assert all(s.ms >= 0 for s in report.steps)
    assert "oauth2/token" in _steps(report)["Discovery"].detail
    assert EHRConnection.objects.get(health_system=system).discovery["token_endpoint"] == sandbox.token_url
    assert report.scope_warnings == []


@pytest.mark.django_db(transaction=True)
def test_wrong_aud_is_diagnosed(sandbox, live_server):
    system = jwks_system(sandbox, live_server, token_url=sandbox.token_url.replace("127.0.0.1", "localhost"))
    assert _failed(check_connection(system))["Token"].startswith("Wrong aud")


@pytest.mark.django_db
def test_unknown_client_is_diagnosed(sandbox):
    system = secret_system(sandbox)
    sandbox.clear_clients()
    assert _failed(check_connection(system))["Token"].startswith("Unknown client: the EHR does not know client id")


@pytest.mark.django_db
def test_refused_scope_is_diagnosed(sandbox):
    system = secret_system(sandbox)
    EHRConnection.objects.filter(health_system=system).update(scopes="system/Patient.rs system/Observation.rs")
    report = check_connection(system)
    assert _failed(report)["Token"].startswith("Scope refused")
    assert any("Appointment" in w for w in report.scope_warnings)


@pytest.mark.django_db
def test_tls_failure_is_diagnosed(sandbox):
    system = secret_system(sandbox)
    HealthSystem.objects.filter(pk=system.pk).update(fhir_base_url=sandbox.fhir_url.replace("http://", "https://"))
    assert _failed(check_connection(system))["Discovery"].startswith("TLS failed")


@pytest.mark.django_db
def test_timeout_is_diagnosed(sandbox):
    system = secret_system(sandbox, read_timeout_s=0.3, max_retries=0)
    sandbox.add_fault("/fhir/metadata", hang=True)
    assert _failed(check_connection(system))["Metadata"].startswith("Timed out")


@pytest.mark.django_db
def test_test_connection_page_shows_steps_without_any_secret(client, onboarding_engineer, sandbox):
    system = secret_system(sandbox)
    client.force_login(onboarding_engineer)
    url = reverse("admin:ehr_integrations_ehrconnection_test", args=[system.connection.pk])
    page = client.post(url)
    assert page.status_code == 200
    assert b"All steps passed" in page.content and b'data-step="Tools"' in page.content
    for tool in ("verify", "patient", "appointments", "medications", "messages"):
        assert f'<tr class="works" data-tool="{tool}">' in page.content.decode()
    assert b"sandbox-secret-for-tests" not in page.content and b"Bearer" not in page.content


@pytest.mark.django_db
def test_test_connection_page_names_what_to_ask_for(client, onboarding_engineer, sandbox):
    system = secret_system(sandbox)
    without_dispenses = [s for s in SCOPES if "MedicationDispense" not in s]
    sandbox.register_client(system.connection.client_id, scopes=without_dispenses, grant="narrow",
                            auth="client_secret_basic", secret=SECRET)  # fmt: skip
    client.force_login(onboarding_engineer)
    page = client.post(reverse("admin:ehr_integrations_ehrconnection_test", args=[system.connection.pk]))
    content = page.content.decode()
    assert "Passed with fallbacks" in content and '<tr class="fallback" data-tool="medications">' in content
    assert "system/MedicationDispense.rs" in content


@pytest.mark.django_db
def test_the_writes_step_says_where_each_write_goes_and_which_scope_it_lacks(sandbox):
    system = secret_system(sandbox)  # read scopes only: every write goes to the staff queue
    writes = _steps(check_connection(system))["Writes"]
    assert writes.ok and "No test write is made" in writes.detail
    assert "refill-requests: staff_queue" in writes.detail and "system/Task.crs" in writes.detail
    assert "care-team-messages: staff_queue" in writes.detail and "system/Communication.crs" in writes.detail

    granted = [*SCOPES, "system/Communication.crs"]
    sandbox.register_client(system.connection.client_id, scopes=granted, auth="client_secret_basic", secret=SECRET)
    EHRConnection.objects.filter(health_system=system).update(scopes=" ".join(granted))
    writes = _steps(check_connection(HealthSystem.objects.get(pk=system.pk)))["Writes"]
    assert "care-team-messages: Communication (Communication create is advertised and granted" in writes.detail
    assert "refill-requests: Communication" in writes.detail  # no Task grant: its second choice
    assert not [
        e for e in sandbox.requests() if e["method"] == "POST" and e["path"].endswith(("/Task", "/Communication"))
    ]


@pytest.mark.django_db
def test_a_compliance_officer_cannot_run_test_connection(client, compliance_officer, health_system):
    client.force_login(compliance_officer)
    url = reverse("admin:ehr_integrations_ehrconnection_test", args=[health_system.connection.pk])
    assert client.post(url).status_code == 403


@pytest.mark.django_db
def test_rotate_keys_action_publishes_a_new_key(client, onboarding_engineer, health_system):
    client.force_login(onboarding_engineer)
    url = reverse("admin:ehr_integrations_healthsystem_changelist")
    response = client.post(url, {"action": "rotate_keys", "_selected_action": [health_system.pk]}, follow=True)
    assert response.status_code == 200
    assert SigningKey.objects.filter(health_system=health_system, status=KeyStatus.PUBLISHED).count() == 1


@pytest.mark.django_db
def test_change_page_shows_scope_warnings_keys_and_breaker_transitions(client, onboarding_engineer, health_system):
    EHRConnection.objects.filter(health_system=health_system).update(scopes="system/Patient.rs")
    policy = breaker.BreakerPolicy(min_calls=1, failure_rate=0.5)

    async def one_failure():
        permit = await breaker.before_call(health_system.pk, "Appointment", policy)
        await breaker.record(permit, failure=True, policy=policy)

    io_loop.wait(one_failure(), deadline=io_loop.deadline_in(5))
    client.force_login(onboarding_engineer)
    page = client.get(reverse("admin:ehr_integrations_ehrconnection_change", args=[health_system.connection.pk]))
    content = page.content.decode()
    assert "appointments: needs search on Appointment" in content
    assert "Appointment: <strong>open</strong>" in content and "1 of 1 calls failed" in content
    assert f"/jwks/{health_system.slug}.json" in content
