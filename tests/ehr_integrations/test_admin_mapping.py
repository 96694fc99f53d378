"""Mapping rules in the admin: validated on save, preview, coverage; a rule takes effect without a restart."""

import json

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import MappingRule
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.transport import io_loop
from tests import builders
from tests.calls.conftest import wire_to_sandbox
from tests.ehr_integrations.golden import SITE_RULES

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:ehr_integrations_mappingrule_add")
PREVIEW_URL = reverse("admin:ehr_integrations_mappingrule_preview")
COVERAGE_URL = reverse("admin:ehr_integrations_mappingrule_coverage")
PHONE_RULE = SITE_RULES["generic"][("patient", "phone")]


@pytest.fixture
def site(db, sandbox):
    system = builders.health_system(slug="lakeside", vendor="generic", fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id="gw-lakeside")
    return system


@pytest.fixture
def engineer(client, onboarding_engineer):
    client.force_login(onboarding_engineer)
    return client


def phone_of(system, patient_id: str) -> str | None:
    deadline = deadline_in(5)
    coro = records.fetch_patient(
        fhir_client(connection_config(system)), load_mapping(system), patient_id, deadline=deadline
    )
    return io_loop.wait(coro, deadline=deadline).phone


def test_a_phone_rule_added_in_the_admin_changes_the_output_without_a_restart(site, sandbox, engineer):
    complete = sandbox.hard_cases()["complete"]
    truth = next(p for p in sandbox.patients() if p["id"] == complete)
    assert phone_of(site, complete) is None  # the generic flavour keeps the phone in an extension
    response = engineer.post(
        ADD_URL,
        {"health_system": site.pk, "resource": "patient", "field": "phone", "expression": PHONE_RULE, "enabled": "on"},
    )
    assert response.status_code == 302, response.content[:3000]
    assert phone_of(site, complete) == truth["phone"]


def test_a_broken_expression_is_refused_in_the_admin_with_a_clear_message(site, engineer):
    response = engineer.post(
        ADD_URL, {"health_system": site.pk, "resource": "patient", "field": "phone", "expression": "telecom.where("}
    )
    assert response.status_code == 200
    assert "Not a valid FHIRPath expression" in response.context["adminform"].form.errors["expression"][0]
    assert not MappingRule.objects.exists()


def test_a_rule_for_a_field_the_schema_lacks_is_refused(site, engineer):
    response = engineer.post(
        ADD_URL, {"health_system": site.pk, "resource": "patient", "field": "ssn", "expression": "id"}
    )
    assert response.status_code == 200
    assert "has no field 'ssn'" in response.context["adminform"].form.errors["field"][0]


def test_preview_runs_the_rules_on_a_pasted_resource_field_by_field(site, engineer):
    MappingRule.objects.create(health_system=site, resource="patient", field="phone", expression=PHONE_RULE)
    pasted = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"use": "official", "given": ["Ann"], "family": "Lee"}],
        "extension": [{"url": PHONE_RULE.split("'")[1], "valueString": "(816) 555-0142"}],
    }
    response = engineer.post(
        PREVIEW_URL, {"health_system": site.pk, "resource": "patient", "fhir_json": json.dumps(pasted)}
    )
    rows = {row.field: row for row in response.context["rows"]}
    assert (rows["given_name"].value, rows["given_name"].source) == ("Ann", "preset")
    assert (rows["phone"].value, rows["phone"].source) == ("+18165550142", "site rule")
    assert (rows["mrn"].value, rows["mrn"].source) == (None, "computed")
    assert b'data-field="phone"' in response.content


def test_preview_explains_json_it_cannot_read(site, engineer):
    response = engineer.post(PREVIEW_URL, {"health_system": site.pk, "resource": "patient", "fhir_json": "{nope"})
    assert "That is not valid JSON" in response.context["error"]


def test_preview_fetches_by_id_from_the_site_ehr_and_audits_the_read(site, sandbox, engineer):
    appointment_id = sandbox.hard_cases()["upcoming_appointment"]
    response = engineer.post(
        PREVIEW_URL, {"health_system": site.pk, "resource": "appointment", "resource_id": appointment_id}
    )
    rows = {row.field: row.value for row in response.context["rows"]}
    assert rows["id"] == appointment_id and rows["provider_name"] and rows["location"] and rows["status"] == "booked"
    audit = AuditRecord.objects.get(action="mapping_preview")
    assert (audit.resource_ids, audit.patient_reference) == ([appointment_id], sandbox.hard_cases()["complete"])
    assert audit.agent_client == "staff:onboarding"


def test_coverage_shows_which_fields_the_site_data_fills_and_a_rule_closes_the_gap(site, engineer):
    before = {r.resource: r for r in engineer.post(COVERAGE_URL, {"health_system": site.pk}).context["report"]}
    patients = {f.field: f for f in before["patient"].fields}
    assert before["patient"].sampled > 0 and patients["phone"].filled == 0 and patients["given_name"].empty == 0
    assert before["appointment"].sampled > 0 and before["medication"].sampled > 0
    MappingRule.objects.create(health_system=site, resource="patient", field="phone", expression=PHONE_RULE)
    after = {r.resource: r for r in engineer.post(COVERAGE_URL, {"health_system": site.pk}).context["report"]}
    assert {f.field: f for f in after["patient"].fields}["phone"].percent >= 90
    assert AuditRecord.objects.filter(action="mapping_coverage").count() == 2 * before["patient"].sampled


def test_coverage_for_chosen_patients_samples_only_those(site, sandbox, engineer):
    complete = sandbox.hard_cases()["complete"]
    response = engineer.post(COVERAGE_URL, {"health_system": site.pk, "patient_ids": f"{complete}\n"})
    report = {r.resource: r for r in response.context["report"]}
    assert report["patient"].sampled == 1 and report["appointment"].sampled >= 3
    assert b'data-field="refill_eligible"' in response.content


def test_compliance_officers_cannot_run_the_onboarding_tools(client, compliance_officer, site):
    client.force_login(compliance_officer)
    assert client.get(PREVIEW_URL).status_code == 403
    assert client.post(COVERAGE_URL, {"health_system": site.pk}).status_code == 403
