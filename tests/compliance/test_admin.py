import datetime

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement
from tests import builders
from tests.compliance.factories import agreement


@pytest.fixture
def officer_client(client, compliance_officer):
    client.force_login(compliance_officer)
    return client


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def soon(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


def test_compliance_officer_records_an_agreement_with_its_signed_document(officer_client, health_system):
    vendor = BusinessAssociate.objects.create(name="Acme Voice Inc")
    response = officer_client.post(
        reverse("admin:compliance_businessassociateagreement_add"),
        {
            "business_associate": vendor.pk,
            "title": "Acme BAA 2026",
            "status": AgreementStatus.ACTIVE,
            "effective_date": "2026-01-01",
            "expiry_date": "2027-01-01",
            "health_systems": [health_system.pk],
            "services_covered": "voice scheduling agent",
            "document": SimpleUploadedFile("baa.pdf", b"%PDF-1.4 signed", content_type="application/pdf"),
            "contact_name": "Ana Legal",
            "contact_email": "legal@acme.example",
            "reminders-TOTAL_FORMS": "0",
            "reminders-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    baa = BusinessAssociateAgreement.objects.get()
    assert list(baa.health_systems.all()) == [health_system]
    download = officer_client.get(reverse("admin:compliance_businessassociateagreement_document", args=[baa.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 signed"


def test_agreement_changes_are_in_the_config_history(officer_client, health_system):
    baa = agreement(health_system, expiry=soon(100))
    url = reverse("admin:compliance_businessassociateagreement_change", args=[baa.pk])
    form = officer_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "document"}
    data.update(
        {
            "status": AgreementStatus.TERMINATED,
            "health_systems": [health_system.pk],
            "reminders-TOTAL_FORMS": "0",
            "reminders-INITIAL_FORMS": "0",
        }
    )

    assert officer_client.post(url, data).status_code == 302

    entries = LogEntry.objects.get_for_object(baa).filter(action=LogEntry.Action.UPDATE)
    entry = next(e for e in entries if "status" in e.changes_dict)
    assert entry.changes_dict["status"] == ["active", "terminated"]
    assert entry.actor.username == "compliance"


def test_expiring_dashboard_lists_expired_expiring_and_drafts(officer_client, health_system):
    agreement(health_system, title="Lapsed", expiry=soon(-3))
    agreement(health_system, title="Ending soon", expiry=soon(20))
    agreement(health_system, title="Far off", expiry=soon(400))
    agreement(health_system, title="Unsigned", status=AgreementStatus.DRAFT)

    response = officer_client.get(reverse("admin:compliance_baa_expiring"))

    dashboard = response.context["dashboard"]
    assert [a.title for a in dashboard.expired] == ["Lapsed"]
    assert [a.title for a in dashboard.expiring] == ["Ending soon"]
    assert [a.title for a in dashboard.drafts] == ["Unsigned"]
    assert "Far off" not in response.content.decode()


def test_onboarding_engineer_cannot_see_agreements(client, onboarding_engineer, health_system):
    baa = agreement(health_system, expiry=soon(20))
    client.force_login(onboarding_engineer)

    assert client.get(reverse("admin:compliance_baa_expiring")).status_code == 403
    assert client.get(reverse("admin:compliance_businessassociateagreement_document", args=[baa.pk])).status_code == 403


def test_health_systems_added_to_an_agreement_are_in_the_config_history(health_system):
    baa = agreement(health_system, expiry=soon(100))
    baa.health_systems.add(builders.health_system(slug="elsewhere"))

    changes = [e.changes_dict for e in LogEntry.objects.get_for_object(baa)]
    assert any("health_systems" in c for c in changes)
