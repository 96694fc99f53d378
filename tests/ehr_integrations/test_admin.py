import logging

import pytest
from django.urls import reverse

from ehr_integrations.models import EHRConnection
from ehr_integrations.setup.config_as_code import export_text

CANARY = "canary-client-secret-5521"


@pytest.fixture
def connection(health_system):
    connection = EHRConnection.objects.get(health_system=health_system)
    connection.set_client_secret(CANARY)
    connection.save()
    return connection


@pytest.mark.django_db
def test_compliance_officer_can_view_but_not_change_a_connection(client, compliance_officer, connection):
    client.force_login(compliance_officer)
    url = reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'type="submit"' not in page.content or b'name="_save"' not in page.content
    response = client.post(url, {"auth_method": "none", "client_id": "hijacked", "scopes": "x"})
    assert response.status_code == 403
    connection.refresh_from_db()
    assert connection.client_id != "hijacked"


@pytest.mark.django_db
def test_onboarding_engineer_sets_a_write_only_secret(client, onboarding_engineer, connection):
    client.force_login(onboarding_engineer)
    url = reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields if form.initial.get(name) is not None}
    data.update({"client_secret": "new-secret-7781", "client_id": "gw-updated"})
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    connection.refresh_from_db()
    assert connection.client_id == "gw-updated"
    assert connection.client_secret() == "new-secret-7781"
    assert b"new-secret-7781" not in client.get(url).content


@pytest.mark.django_db
def test_blank_secret_field_keeps_the_stored_secret(client, onboarding_engineer, connection):
    client.force_login(onboarding_engineer)
    url = reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields if form.initial.get(name) is not None}
    data["client_secret"] = ""
    assert client.post(url, data).status_code == 302
    connection.refresh_from_db()
    assert connection.client_secret() == CANARY


@pytest.mark.django_db
def test_secret_never_appears_in_admin_pages_export_or_logs(client, admin_user, connection, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(admin_user)
    system = connection.health_system
    pages = [
        reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk]),
        reverse("admin:ehr_integrations_ehrconnection_changelist"),
        reverse("admin:ehr_integrations_healthsystem_change", args=[system.pk]),
        reverse("admin:ehr_integrations_ehrconnection_history", args=[connection.pk]),
        reverse("admin:auditlog_logentry_changelist"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert CANARY.encode() not in response.content, url
        assert connection.client_secret_encrypted.encode() not in response.content, url
    assert CANARY not in export_text(system.slug)
    assert CANARY not in caplog.text
