"""The compliance officer's PHI access log in the admin."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from fhirclient.models.auditevent import AuditEvent

from audit.admin import AuditRecordAdmin
from audit.models import AuditRecord
from audit.sealing import seal_pending
from tests.audit.factories import phi_access
from tests.audit.tamper import as_superuser_without_triggers, forged_insert

CHANGELIST = reverse("admin:audit_auditrecord_changelist")


@pytest.fixture
def log(db):
    return [
        phi_access(patient_reference="pat-1", outcome="success"),
        phi_access(patient_reference="pat-2", outcome="denied", agent_client="Other Voice"),
        phi_access(patient_reference="pat-1", health_system="elsewhere", action="search"),
    ]


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


def listed_patients(response) -> list[str]:
    return sorted(r.patient_reference for r in response.context["cl"].result_list)


def test_compliance_officer_sees_the_log(officer_client, log):
    response = officer_client.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


def test_every_column_sorts(officer_client, log):
    for index, _ in enumerate(AuditRecordAdmin.list_display):
        for order in (str(index), f"-{index}"):
            response = officer_client.get(CHANGELIST, {"o": order})
            assert response.status_code == 200, AuditRecordAdmin.list_display[index]
            assert len(response.context["cl"].result_list) == 3


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"health_system": "elsewhere"}, ["pat-1"]),
        ({"agent_client": "Other Voice"}, ["pat-2"]),
        ({"patient_reference": "pat-1"}, ["pat-1", "pat-1"]),
        ({"outcome__exact": "denied"}, ["pat-2"]),
    ],
)
def test_filters_narrow_the_log(officer_client, log, params, expected):
    assert listed_patients(officer_client.get(CHANGELIST, params)) == expected


def test_time_range_filter(officer_client, log):
    now = datetime.now(UTC)
    inside = {"recorded_at__gte": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"), "recorded_at__lt": ""}
    outside = {"recorded_at__lt": (now - timedelta(days=1)).strftime("%Y-%m-%d")}

    assert len(listed_patients(officer_client.get(CHANGELIST, inside))) == 3
    assert listed_patients(officer_client.get(CHANGELIST, outside)) == []


def test_log_is_read_only_even_for_a_superuser(client, admin_user, log):
    client.force_login(admin_user)
    change_url = reverse("admin:audit_auditrecord_change", args=[log[0].pk])

    assert client.post(change_url, {"outcome": "denied"}).status_code == 403
    assert client.get(reverse("admin:audit_auditrecord_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditrecord_delete", args=[log[0].pk])).status_code == 403
    assert AuditRecord.objects.get(pk=log[0].pk).outcome == "success"


def test_onboarding_engineer_cannot_read_the_log(client, onboarding_engineer, log):
    client.force_login(onboarding_engineer)

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:audit_auditrecord_export_csv")).status_code == 403


def test_csv_export_follows_the_filters_and_is_itself_recorded(officer_client, log, compliance_officer):
    response = officer_client.get(reverse("admin:audit_auditrecord_export_csv"), {"patient_reference": "pat-1"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["health_system"] for r in rows) == ["elsewhere", "riverside"]
    assert {"event_id", "recorded_at", "correlation_id", "verification_method"} <= set(rows[0])
    review = AuditRecord.objects.get(action="export_csv")
    assert (review.agent_client, review.patient_reference) == ("staff:compliance", "pat-1")


def test_csv_cells_that_look_like_formulas_are_neutralized(officer_client, db):
    phi_access(correlation_id="=HYPERLINK(1)")

    body = b"".join(officer_client.get(reverse("admin:audit_auditrecord_export_csv")).streaming_content).decode()

    assert "'=HYPERLINK(1)" in body


def test_fhir_export_is_a_bundle_of_balp_audit_events(officer_client, log):
    response = officer_client.get(reverse("admin:audit_auditrecord_export_fhir"), {"outcome__exact": "success"})

    bundle = json.loads(b"".join(response.streaming_content))
    assert bundle["resourceType"] == "Bundle"
    events = [e["resource"] for e in bundle["entry"]]
    assert len(events) == 2
    for event in events:
        AuditEvent(event, strict=True)  # valid FHIR R4
    read = next(e for e in events if e["action"] == "R")
    assert read["meta"]["profile"] == [
        "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
    ]
    assert {"reference": "Patient/pat-1"} in [e["what"] for e in read["entity"]]
    assert {"reference": "Appointment/appt-1"} in [e["what"] for e in read["entity"]]
    assert read["agent"][0]["requestor"] is True
    assert read["agent"][0]["network"] == {"address": "10.0.0.7", "type": "2"}
    assert read["outcome"] == "0"
    search = next(e for e in events if e["action"] == "E")
    assert search["meta"]["profile"][0].endswith("IHE.BasicAudit.PatientQuery")


def test_integrity_button_reports_an_intact_log(officer_client, log):
    response = officer_client.post(reverse("admin:audit_auditrecord_verify"), follow=True)

    assert "Integrity verified: 3 records" in response.content.decode()


def test_integrity_button_names_the_first_tampered_record(officer_client, log):
    officer_client.post(reverse("admin:audit_auditrecord_verify"))
    as_superuser_without_triggers(("UPDATE audit_auditrecord SET outcome = 'failed' WHERE id = %s", [log[1].pk]))

    response = officer_client.post(reverse("admin:audit_auditrecord_verify"), follow=True)

    assert f"Integrity check FAILED: altered: record at position 2, record id {log[1].pk}" in response.content.decode()


def test_patient_access_report_lists_only_that_patient(officer_client, log):
    response = officer_client.get(reverse("admin:audit_auditrecord_patient_report"), {"patient_reference": "pat-1"})

    records = list(response.context["records"])
    assert [r.health_system for r in records] == ["riverside", "elsewhere"]
    assert "Acme Voice" in response.content.decode()


def test_patient_access_report_downloads_as_csv(officer_client, log):
    url = reverse("admin:audit_auditrecord_patient_report")
    response = officer_client.get(url, {"patient_reference": "pat-2", "format": "csv"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["agent_client"] for r in rows] == ["Other Voice"]


def test_a_quarantined_record_raises_a_notice_and_is_found_by_the_verdict_filter(officer_client, log):
    as_superuser_without_triggers(forged_insert(like=log[0]))
    seal_pending()
    forged = AuditRecord.objects.get(patient_reference="pat-forged")

    response = officer_client.get(CHANGELIST)
    listed = officer_client.get(CHANGELIST, {"seal__verdict__exact": "quarantined"})

    assert "1 audit incident(s)" in response.content.decode()
    assert [r.pk for r in listed.context["cl"].result_list] == [forged.pk]


def test_filtering_by_call_lists_only_that_calls_records(officer_client, log):
    mine = phi_access(call_session="call-under-review")

    response = officer_client.get(CHANGELIST, {"call_session": "call-under-review"})

    assert [r.pk for r in response.context["cl"].result_list] == [mine.pk]
