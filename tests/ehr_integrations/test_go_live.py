"""The go-live checklist (ehr_integrations/setup/go_live.py) and its admin: columns, panel, breaker reset."""

import datetime

import pytest
from django.urls import reverse

from ehr_integrations.auth import signing_keys
from ehr_integrations.models import VerificationPolicy
from ehr_integrations.setup import go_live
from ehr_integrations.setup.connection_check import check_connection
from ehr_integrations.transport import breaker, io_loop
from tests import builders
from tests.compliance.factories import agreement
from tests.ehr_integrations.sandbox_systems import secret_system

TODAY = datetime.date(2026, 12, 1)
JWKS = "https://gw.example.org/jwks/riverside.json"


def _states(system) -> dict[str, str]:
    return {item.key: item.state for item in go_live.checklist(system, jwks_url=JWKS, today=TODAY)}


def _trip(system, endpoint: str = "Appointment") -> None:
    policy = breaker.BreakerPolicy(min_calls=1, failure_rate=0.5)

    async def fail_once():
        permit = await breaker.before_call(system.pk, endpoint, policy)
        await breaker.record(permit, failure=True, policy=policy)

    io_loop.wait(fail_once(), deadline=io_loop.deadline_in(5))


@pytest.mark.django_db
def test_a_new_health_system_fails_every_item_it_has_not_done():
    system = builders.health_system(auth_method="private_key_jwt")
    states = _states(system)
    assert states["baa"] == "fail"
    assert states["signing_key"] == "fail"
    assert states["connection_test"] == "fail"
    assert states["breakers"] == "ok"
    assert states["policy"] == "ok"


@pytest.mark.django_db
def test_a_tested_covered_system_with_a_published_key_passes(sandbox):
    system = secret_system(sandbox)
    agreement(system, expiry=TODAY + datetime.timedelta(days=365))
    check_connection(system)
    items = {i.key: i for i in go_live.checklist(system, jwks_url=JWKS, today=TODAY)}
    assert {k: i.state for k, i in items.items()} == {
        "baa": "ok",
        "signing_key": "ok",  # a client secret needs no key
        "connection_test": "ok",
        "scopes": "ok",
        "breakers": "ok",
        "policy": "ok",
    }
    assert "All steps passed" in items["connection_test"].detail
    assert any(line.startswith("appointments: works") for line in items["connection_test"].lines)
    assert "granted at the last test" in items["scopes"].detail


@pytest.mark.django_db
def test_the_key_item_names_the_absolute_jwks_url_once_a_key_is_published():
    system = builders.health_system(auth_method="private_key_jwt")
    key = signing_keys.start_rotation(system, grace_s=0)
    item = go_live.signing_key_item(system, system.connection, jwks_url=JWKS)
    assert item.state == "ok"
    assert JWKS in item.detail and key.kid in item.detail


@pytest.mark.django_db
def test_a_baa_about_to_expire_is_a_warning_and_an_expired_one_a_failure():
    system = builders.health_system()
    agreement(system, expiry=TODAY + datetime.timedelta(days=10))
    assert go_live.baa_item(system, today=TODAY).state == "warn"
    assert go_live.baa_item(system, today=TODAY + datetime.timedelta(days=11)).state == "fail"


@pytest.mark.django_db
def test_missing_scopes_fail_and_name_the_tool():
    system = builders.health_system(scopes="system/Patient.rs")
    item = go_live.scopes_item(system.connection, None)
    assert item.state == "fail"
    assert any("appointments" in line for line in item.lines)


@pytest.mark.django_db
def test_an_insane_policy_fails():
    system = builders.health_system()
    VerificationPolicy.objects.filter(health_system=system).update(
        max_failures_per_call=5, max_failures_per_caller_hour=2
    )
    item = go_live.policy_item(system)
    assert item.state == "fail"
    assert "fewer tries per caller an hour than per call" in item.detail


@pytest.mark.django_db
def test_reset_closes_an_open_breaker_and_the_item_passes_again():
    system = builders.health_system()
    _trip(system)
    assert _states(system)["breakers"] == "fail"
    assert go_live.reset_breakers(system, by="onboarding") == ["Appointment"]
    assert _states(system)["breakers"] == "ok"
    _, transitions = io_loop.wait(breaker.snapshot(system.pk), deadline=io_loop.deadline_in(5))
    assert transitions[0]["why"] == "reset by onboarding"


@pytest.mark.django_db
def test_list_shows_status_columns_and_change_page_the_checklist(client, onboarding_engineer):
    system = builders.health_system(auth_method="private_key_jwt")
    client.force_login(onboarding_engineer)
    listing = client.get(reverse("admin:ehr_integrations_healthsystem_changelist")).content.decode()
    assert 'data-item="baa" data-state="fail"' in listing
    assert 'data-item="policy" data-state="ok"' in listing
    page = client.get(reverse("admin:ehr_integrations_healthsystem_change", args=[system.pk])).content.decode()
    assert 'id="go-live-checklist"' in page
    assert f"http://testserver/jwks/{system.slug}.json" in page


@pytest.mark.django_db
def test_reset_button_closes_breakers_and_says_so(client, onboarding_engineer):
    system = builders.health_system()
    _trip(system)
    client.force_login(onboarding_engineer)
    url = reverse("admin:ehr_integrations_healthsystem_reset_breakers", args=[system.pk])
    response = client.post(url, follow=True)
    assert f"{system.slug}: closed Appointment." in response.content.decode()
    assert _states(system)["breakers"] == "ok"


@pytest.mark.django_db
def test_compliance_officer_cannot_reset_breakers(client, compliance_officer):
    system = builders.health_system()
    client.force_login(compliance_officer)
    url = reverse("admin:ehr_integrations_healthsystem_reset_breakers", args=[system.pk])
    assert client.post(url).status_code == 403


@pytest.mark.django_db
def test_guided_add_opens_the_add_form_filled_from_the_preset(client, onboarding_engineer):
    client.force_login(onboarding_engineer)
    page = client.get(reverse("admin:ehr_integrations_healthsystem_preset")).content.decode()
    assert 'data-vendor="epic"' in page and "Patient $match" in page
    response = client.post(
        reverse("admin:ehr_integrations_healthsystem_preset"),
        {"vendor": "epic", "name": "Lakeside Health", "fhir_base_url": "https://fhir.lakeside.example/api/FHIR/R4"},
    )
    assert response.status_code == 302
    form = client.get(response["Location"]).content.decode()
    assert 'value="lakeside-health"' in form
    assert '<option value="epic" selected>' in form


@pytest.mark.django_db
def test_a_failed_test_connection_keeps_its_diagnosis(sandbox):
    system = secret_system(sandbox)
    connection = system.connection
    connection.set_client_secret("not-the-secret")
    connection.save()
    check_connection(system)
    item = go_live.connection_test_item(go_live._last_test(system))
    assert item.state == "fail"
    assert item.lines[0].startswith("Token: ")


@pytest.mark.django_db
def test_an_agent_client_whose_baa_does_not_cover_the_system_is_a_warning():
    system = builders.health_system()
    agreement(system, expiry=TODAY + datetime.timedelta(days=365))
    builders.agent_client("Unsigned Voice", system, baa=False)
    item = go_live.baa_item(system, today=TODAY)
    assert item.state == "warn"
    assert "calls from Unsigned Voice are refused" in item.detail
