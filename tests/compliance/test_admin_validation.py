"""The BAA form refuses what the constraints refuse, in plain words beside the field."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement
from tests.admin_pages import error_beside


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def add_agreement(client, health_system, **fields):
    vendor = BusinessAssociate.objects.get_or_create(name="Acme Voice Inc")[0]
    data = {
        "business_associate": vendor.pk,
        "title": "Acme BAA 2026",
        "status": AgreementStatus.ACTIVE,
        "effective_date": "2026-01-01",
        "expiry_date": "2027-01-01",
        "health_systems": [health_system.pk],
        "document": SimpleUploadedFile("baa.pdf", b"%PDF-1.4 signed", content_type="application/pdf"),
        "reminders-TOTAL_FORMS": "0",
        "reminders-INITIAL_FORMS": "0",
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(reverse("admin:compliance_businessassociateagreement_add"), data)


def field_errors(response, name: str) -> list[str]:
    assert response.status_code == 200, "the form was saved"
    return response.context["adminform"].form.errors.get(name, [])


def test_expiry_before_effective_date_is_refused_in_plain_words_beside_the_expiry(
    client, compliance_officer, health_system
):
    client.force_login(compliance_officer)

    response = add_agreement(client, health_system, expiry_date="2025-06-30")

    assert field_errors(response, "expiry_date") == [
        "The agreement would end on 2025-06-30, before it takes effect on 2026-01-01: "
        "the expiry date must be on or after the effective date."
    ]
    assert "Constraint" not in response.content.decode()
    assert "before it takes effect on 2026-01-01" in error_beside(response.content.decode(), "id_expiry_date")
    assert not BusinessAssociateAgreement.objects.exists()


def test_an_active_agreement_without_its_signed_document_is_refused_beside_the_status(
    client, compliance_officer, health_system
):
    client.force_login(compliance_officer)

    response = add_agreement(client, health_system, document=None)

    assert field_errors(response, "status") == [
        "An agreement can be active only with its signed document on file: attach the signed PDF, "
        "or keep the agreement as a draft until it is signed."
    ]
    assert "active only with its signed document" in error_beside(response.content.decode(), "id_status")
    assert not BusinessAssociateAgreement.objects.exists()


def test_a_draft_saves_without_a_document(client, compliance_officer, health_system):
    client.force_login(compliance_officer)

    response = add_agreement(client, health_system, document=None, status=AgreementStatus.DRAFT)

    assert response.status_code == 302
    assert BusinessAssociateAgreement.objects.get().status == AgreementStatus.DRAFT


def test_the_database_refuses_an_active_agreement_without_document_too(health_system):
    from django.db import IntegrityError, transaction

    vendor = BusinessAssociate.objects.create(name="Acme Voice Inc")
    with pytest.raises(IntegrityError, match="baa_active_has_document"), transaction.atomic():
        BusinessAssociateAgreement.objects.create(
            business_associate=vendor, status=AgreementStatus.ACTIVE, effective_date="2026-01-01"
        )


def test_an_active_agreement_added_on_the_business_associates_page_is_refused_not_a_crash(
    client, compliance_officer, health_system
):
    client.force_login(compliance_officer)
    vendor = BusinessAssociate.objects.create(name="Acme Voice Inc")
    url = reverse("admin:compliance_businessassociate_change", args=[vendor.pk])
    prefix = "agreements"
    data = {
        "name": vendor.name,
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-title": "Acme BAA",
        f"{prefix}-0-status": AgreementStatus.ACTIVE,
        f"{prefix}-0-effective_date": "2026-01-01",
    }

    response = client.post(url, data)

    assert response.status_code == 200
    html = response.content.decode()
    status_cell = html[html.index(f'id="id_{prefix}-0-status"') :].split("</td>", 1)[0]  # the table cell
    assert "active only with its signed document" in status_cell
    assert not BusinessAssociateAgreement.objects.exists()
