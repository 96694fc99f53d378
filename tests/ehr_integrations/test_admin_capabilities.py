"""The effective capabilities in the admin: each value and its source, and the site's overrides edited there."""

import re

import pytest
from django.forms import model_to_dict
from django.urls import reverse

from ehr_integrations.admin.forms import EHRConnectionForm
from ehr_integrations.setup.connection_check import check_connection
from tests.ehr_integrations.sandbox_systems import secret_system


def _change_page(client, connection) -> str:
    return client.get(reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])).content.decode()


def _capability_rows(content: str) -> dict[str, tuple[str, str]]:
    table = content.split('id="effective-capabilities"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    return {name: (value, source) for name, value, source in cells}


@pytest.mark.django_db
def test_change_page_shows_the_effective_capabilities_and_where_each_came_from(client, onboarding_engineer, sandbox):
    system = secret_system(sandbox, vendor="epic", slug="epic-site")
    client.force_login(onboarding_engineer)
    before = _change_page(client, system.connection)
    assert "CapabilityStatement not read yet" in before and "no cached token" in before
    assert _capability_rows(before)["supports_match"] == ("true", "preset")
    sandbox.set_strict(match="absent")
    check_connection(system)
    after = _change_page(client, system.connection)
    rows = _capability_rows(after)
    assert rows["supports_match"] == ("false", "server") and rows["post_search"] == ("true", "preset")
    assert "CapabilityStatement read 20" in after and "the cached token&#x27;s scopes" in after


@pytest.mark.django_db
def test_capability_overrides_are_edited_in_the_admin_and_a_bad_one_names_its_key(client, onboarding_engineer, sandbox):
    system = secret_system(sandbox)
    connection = system.connection
    data = {**model_to_dict(connection, fields=EHRConnectionForm._meta.fields), "client_secret": ""}
    refused = EHRConnectionForm(data={**data, "capability_overrides": '{"enrichments": {"dispenses": "no"}}'},
                                instance=connection)  # fmt: skip
    assert not refused.is_valid()
    assert refused.errors["capability_overrides"][0].startswith("enrichments.dispenses: must be true or false")
    accepted = EHRConnectionForm(data={**data, "capability_overrides": '{"post_search": false}'}, instance=connection)
    assert accepted.is_valid(), accepted.errors
    accepted.save()
    client.force_login(onboarding_engineer)
    assert _capability_rows(_change_page(client, connection))["post_search"] == ("false", "override")


@pytest.mark.django_db
def test_the_connection_page_says_where_writes_go_and_why(client, onboarding_engineer, sandbox):
    from ehr_integrations.fhir.capabilities import ServerFacts

    system = secret_system(sandbox, slug="writes-site")
    client.force_login(onboarding_engineer)
    before = _change_page(client, system.connection).split('id="write-routes"', 1)[1].split("</table>", 1)[0]
    assert "staff_queue" in before and "no CapabilityStatement recorded yet" in before
    task = {"type": "Task", "interaction": [{"code": "create"}, {"code": "read"}, {"code": "search-type"}]}
    statement = {"rest": [{"mode": "server", "resource": [task]}]}
    system.connection.server_capabilities = ServerFacts.parse(statement).to_json()
    system.connection.save()
    after = _change_page(client, system.connection).split('id="write-routes"', 1)[1].split("</table>", 1)[0]
    assert "<td>Task</td>" in after and "Task create is advertised and granted" in after
    system_page = client.get(reverse("admin:ehr_integrations_healthsystem_change", args=[system.pk])).content.decode()
    on_system_page = system_page.split('id="write-routes"', 1)[1].split("</table>", 1)[0]
    assert "<td>care-team-messages</td><td>Task</td>" in on_system_page  # the health system's page says it too
