"""Dangerous values are refused at save with the message beside their field (issue 23): on the
health-system add page a newcomer uses, on the EHR connection page, and from YAML (one validation)."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from compliance.yaml_lines import YamlError
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.setup.config_as_code import apply_text
from tests.admin_pages import error_beside
from tests.admin_pages import form_data as _form_data

# The bad values the issue saw saved silently, each with the words its field must show.
BAD_CONNECTION_VALUES = [
    ("client_id", "", "Required: the client id the EHR registered for the gateway."),
    ("connect_timeout_s", "-5", "Must be a number of seconds greater than 0 (it is -5)."),
    ("read_timeout_s", "0", "Must be a number of seconds greater than 0 (it is 0)."),
    ("request_deadline_s", "0", "Must be a number of seconds greater than 0 (it is 0)."),
    (
        "breaker_failure_rate",
        "7",
        "Must be a share of failed calls greater than 0 and at most 1, e.g. 0.5 for half (it is 7).",
    ),
    ("breaker_failure_rate", "0", "Must be a share of failed calls greater than 0 and at most 1"),
    ("breaker_min_calls", "0", "Must be at least 1 (it is 0)."),
    ("breaker_open_s", "0", "Must be at least 1 (it is 0)."),
    (
        "scopes",
        "patient/*.* garbage",
        "Not SMART v1 or v2 scope grammar: garbage (write scopes as system/Patient.read (v1) or "
        "system/Patient.rs (v2)). Not a system-level scope: patient/*.* (SMART Backend Services grants only "
        "system/ scopes).",
    ),
    ("scopes", "system/Patient.sr", "Not SMART v1 or v2 scope grammar: system/Patient.sr"),
    ("scopes", "  ", "This field is required."),
    ("token_url", "http://ehr.example.org/token", "EHR and token URLs must be https to a public address"),
]


def _errors(response, field: str, prefix: str = "") -> list[str]:
    assert response.status_code == 200, "saved"
    if not prefix:
        return response.context["adminform"].form.errors.get(field, [])
    formset = next(f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == prefix)
    return formset.forms[0].errors.get(field, [])


@pytest.fixture
def engineer(client, onboarding_engineer):
    client.force_login(onboarding_engineer)
    return client


@pytest.fixture
def connection_page(engineer, health_system):
    connection = EHRConnection.objects.get(health_system=health_system)
    url = reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])
    return url, _form_data(engineer.get(url))


@pytest.mark.parametrize("field,value,message", BAD_CONNECTION_VALUES)
def test_connection_page_refuses_each_bad_value_beside_its_field(engineer, connection_page, field, value, message):
    url, data = connection_page
    data[field] = value

    response = engineer.post(url, data)

    assert any(error.startswith(message) for error in _errors(response, field)), _errors(response, field)
    assert escape(message) in response.content.decode()  # shown on the page, not only in the form


def test_the_unchanged_connection_page_saves(engineer, connection_page):
    url, data = connection_page
    assert engineer.post(url, data).status_code == 302


def test_client_secret_authentication_without_a_secret_is_refused_beside_the_secret(engineer, connection_page):
    url, data = connection_page
    data["auth_method"] = "client_secret_basic"

    response = engineer.post(url, data)

    assert _errors(response, "client_secret")[0].startswith("Required for client secret authentication")
    data["client_secret"] = "typed-in-secret"
    assert engineer.post(url, data).status_code == 302


def test_no_authentication_is_refused_for_a_non_loopback_ehr(engineer, db, settings):
    settings.EHR_ALLOWED_NETWORKS = ["10.20.0.0/16", "127.0.0.0/8"]
    system = HealthSystem.objects.create(slug="onprem", name="On-prem", fhir_base_url="https://10.20.0.5/fhir")
    connection = EHRConnection.objects.create(health_system=system, client_id="gw")
    url = reverse("admin:ehr_integrations_ehrconnection_change", args=[connection.pk])
    data = _form_data(engineer.get(url)) | {"auth_method": "none"}

    response = engineer.post(url, data)

    assert _errors(response, "auth_method")[0].startswith("No authentication is allowed only for a sandbox EHR")


def _add_page_data(engineer) -> dict:
    data = _form_data(engineer.get(reverse("admin:ehr_integrations_healthsystem_add")))
    data |= {
        "name": "Lakeside",
        "slug": "lakeside",
        "vendor": "generic",
        "fhir_base_url": "https://ehr.example.org/fhir",
    }
    for key in [k for k in data if k.endswith("-TOTAL_FORMS")]:
        data[key] = "1" if key == "connection-TOTAL_FORMS" else "0"
    return data | {
        "connection-0-auth_method": "private_key_jwt",
        "connection-0-client_id": "gw-lakeside",
        "connection-0-signing_algorithm": "ES384",
        "connection-0-scopes": "system/Patient.rs system/Appointment.rs",
        "connection-0-connect_timeout_s": "2",
        "connection-0-read_timeout_s": "5",
        "connection-0-request_deadline_s": "8",
        "connection-0-max_retries": "2",
        "connection-0-breaker_failure_rate": "0.5",
        "connection-0-breaker_min_calls": "5",
        "connection-0-breaker_window_s": "30",
        "connection-0-breaker_open_s": "30",
        "connection-0-breaker_half_open_probes": "1",
        "connection-0-capability_overrides": "{}",
    }


def test_health_system_add_page_refuses_every_bad_value_the_issue_saw_beside_its_field(engineer):
    data = _add_page_data(engineer) | {
        "fhir_base_url": "http://ehr.example.org/fhir",
        "connection-0-client_id": "",
        "connection-0-connect_timeout_s": "-5",
        "connection-0-read_timeout_s": "0",
        "connection-0-breaker_failure_rate": "7",
        "connection-0-scopes": "patient/*.* garbage",
    }

    response = engineer.post(reverse("admin:ehr_integrations_healthsystem_add"), data)

    assert _errors(response, "fhir_base_url") == [
        "EHR and token URLs must be https to a public address: plain http is allowed only to a loopback address "
        "in EHR_ALLOWED_NETWORKS (allow an on-premises network with EHR_ALLOWED_NETWORKS)."
    ]
    for field in ("client_id", "connect_timeout_s", "read_timeout_s", "breaker_failure_rate", "scopes"):
        assert _errors(response, field, prefix="connection"), field
    # On the page, each message is in the list the field's input names as its description (beside it).
    html = response.content.decode()
    issue_values = {"": "client_id", "-5": "connect_timeout_s", "0": "read_timeout_s", "7": "breaker_failure_rate",
                    "patient/*.* garbage": "scopes"}  # fmt: skip
    checked = [(f, m) for f, value, m in BAD_CONNECTION_VALUES if issue_values.get(value) == f]
    assert len(checked) == len(issue_values)
    for field, message in checked:
        assert escape(message) in error_beside(html, f"id_connection-0-{field}"), field
    assert "EHR and token URLs must be https" in error_beside(html, "id_fhir_base_url")
    assert not HealthSystem.objects.filter(slug="lakeside").exists()


def test_health_system_add_page_saves_sound_values(engineer):
    response = engineer.post(reverse("admin:ehr_integrations_healthsystem_add"), _add_page_data(engineer))

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert EHRConnection.objects.get(health_system__slug="lakeside").client_id == "gw-lakeside"


YAML = """slug: lakeside
name: Lakeside
fhir_base_url: https://ehr.example.org/fhir
connection:
  client_id: gw-lakeside
  {field}: {value}
"""


@pytest.mark.django_db
@pytest.mark.parametrize("field,value,message", [v for v in BAD_CONNECTION_VALUES if v[1].strip()])
def test_yaml_refuses_each_bad_value_naming_its_field_and_line(field, value, message):
    text = YAML.format(field=field, value=f'"{value}"' if field in ("scopes", "client_id", "token_url") else value)
    if field == "client_id":
        text = text.replace('  client_id: gw-lakeside\n  client_id: ""', '  client_id: ""')

    with pytest.raises(YamlError) as error:
        apply_text(text)

    assert error.value.path == ("connection", field)
    assert error.value.message.startswith(message)
    assert not HealthSystem.objects.exists()


def test_scopes_that_leave_a_tool_out_are_named_beside_the_field_before_saving(engineer):
    page = engineer.get(reverse("admin:ehr_integrations_healthsystem_add")).content.decode()
    assert "These scopes cover every tool." in page  # the default scopes

    data = _add_page_data(engineer) | {"connection-0-scopes": "system/Patient.rs", "connection-0-client_id": ""}
    response = engineer.post(reverse("admin:ehr_integrations_healthsystem_add"), data)

    assert response.status_code == 200
    assert escape("Not covered: appointments: needs search on Appointment") in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value,message",
    [
        (".inf", "Must be a number of seconds greater than 0 (it is inf)."),
        (".nan", "Must be a number of seconds greater than 0 (it is nan)."),
        ("fast", "“fast” value must be a float."),
    ],
)
def test_yaml_timeouts_that_are_not_finite_numbers_are_refused(value, message):
    with pytest.raises(YamlError) as error:
        apply_text(YAML.format(field="read_timeout_s", value=value))

    assert error.value.path == ("connection", "read_timeout_s")
    assert error.value.message == message


@pytest.mark.django_db
def test_a_malformed_base_url_with_no_authentication_is_refused_not_a_crash():
    text = YAML.replace("https://ehr.example.org/fhir", '"http://[::1/fhir"').format(field="auth_method", value="none")

    with pytest.raises(YamlError) as error:
        apply_text(text)

    assert error.value.path == ("fhir_base_url",)


@pytest.mark.parametrize(
    "hosts,message",
    [
        ("https://auth.example.org", "Not a host name: https://auth.example.org (write the host alone"),
        ("auth.example.org/oauth", "Not a host name: auth.example.org/oauth"),
        ("auth.example.org 10.0.0.5", "EHR and token URLs must be https to a public address: 10.0.0.5 is a private"),
    ],
)
def test_extra_allowed_hosts_must_be_public_host_names(engineer, health_system, hosts, message):
    url = reverse("admin:ehr_integrations_healthsystem_change", args=[health_system.pk])
    data = _form_data(engineer.get(url))
    for key in [k for k in data if k.endswith("-TOTAL_FORMS")]:
        data[key] = "0"
    data = {k: v for k, v in data.items() if not k.endswith("-INITIAL_FORMS")} | {
        k.replace("TOTAL", "INITIAL"): "0" for k in data if k.endswith("-TOTAL_FORMS")
    }

    response = engineer.post(url, data | {"extra_allowed_hosts": hosts})

    assert _errors(response, "extra_allowed_hosts")[0].startswith(message)


def test_extra_allowed_host_names_save(engineer, health_system):
    health_system.extra_allowed_hosts = "auth.example.org login.example.com."
    health_system.full_clean()
