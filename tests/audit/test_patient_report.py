"""The patient access report: by MRN through the EHR (with its own audit record), a patient header,
names instead of ids, the accounting note, and a printable PDF."""

import pytest
from django.urls import reverse

from audit import report_pdf
from audit.models import AuditRecord
from tests import builders
from tests.audit.factories import phi_access
from tests.ehr_integrations.sandbox_systems import secret_system

REPORT = reverse("admin:audit_auditrecord_patient_report")


@pytest.fixture
def officer(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.fixture
def world(sandbox):
    system = secret_system(sandbox)
    client = builders.agent_client("Acme Voice", system)
    patient = sandbox.patients()[0]
    for _ in range(3):
        phi_access(health_system=system.slug, agent_client=str(client.pk), patient_reference=patient["id"])
    phi_access(health_system=system.slug, agent_client=str(client.pk), patient_reference="someone-else")
    return system, patient


@pytest.mark.django_db
def test_an_mrn_finds_the_patients_accesses_with_a_header_and_names(officer, world):
    system, patient = world
    page = officer.post(REPORT, {"health_system": system.slug, "mrn": patient["mrn"]}).content.decode()
    assert '<span id="access-count">3</span>' in page
    assert f"{patient['given']} {patient['family']}" in page  # the header, from the EHR
    assert "Acme Voice" in page and system.name in page  # names, not ids
    assert "excludes disclosures for treatment, payment and health care operations" in page


@pytest.mark.django_db
def test_the_mrn_lookup_is_recorded_and_the_mrn_is_not(officer, world):
    system, patient = world
    officer.post(REPORT, {"health_system": system.slug, "mrn": patient["mrn"]})
    lookup = AuditRecord.objects.get(action="patient_lookup_by_mrn")
    assert lookup.agent_client == "staff:compliance"
    assert lookup.patient_reference == patient["id"]
    assert lookup.outcome == "success"
    fields = [str(v) for r in AuditRecord.objects.all() for v in r.__dict__.values()]
    assert not any(patient["mrn"] in v for v in fields)


@pytest.mark.django_db
def test_an_unknown_mrn_says_so_instead_of_no_recorded_access(officer, world):
    system, _ = world
    page = officer.post(REPORT, {"health_system": system.slug, "mrn": "NOPE-404"}, follow=True).content.decode()
    assert "No single patient has that MRN" in page
    assert AuditRecord.objects.get(action="patient_lookup_by_mrn").outcome == "failed"


@pytest.mark.django_db
def test_the_printable_report_is_a_pdf(officer, world):
    system, patient = world
    response = officer.get(REPORT, {"patient_reference": patient["id"], "health_system": system.slug, "format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert len(response.content) > 2000


@pytest.mark.django_db
def test_the_log_lists_key_columns_with_names(officer, world):
    page = officer.get(reverse("admin:audit_auditrecord_changelist")).content.decode()
    assert "Acme Voice" in page
    assert "correlation" not in page.lower().split('id="result_list"')[1].split("</thead>")[0]


@pytest.mark.django_db
def test_a_health_system_without_a_connection_is_said_so_and_the_log_still_shows(officer):
    system = builders.health_system(slug="nowhere")
    system.connection.delete()
    phi_access(health_system="nowhere", patient_reference="pat-9")
    page = officer.get(REPORT, {"patient_reference": "pat-9", "health_system": "nowhere"}, follow=True)
    text = page.content.decode()
    assert "The EHR could not answer (no EHR connection)" in text
    assert '<span id="access-count">1</span>' in text


def test_a_report_pdf_fetches_nothing(caplog):
    pdf = report_pdf.render('<p>report</p><img src="http://127.0.0.1:9/tracker.png">')
    assert pdf.startswith(b"%PDF-")
    assert "disallowed protocol" in caplog.text


@pytest.mark.django_db
def test_a_records_page_names_the_agent_client_beside_its_id(officer, world):
    record = AuditRecord.objects.filter(agent_client__regex=r"^\d+$").first()
    page = officer.get(reverse("admin:audit_auditrecord_change", args=[record.pk])).content.decode()
    assert "Acme Voice" in page and record.correlation_id in page
