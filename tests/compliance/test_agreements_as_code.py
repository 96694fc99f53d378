import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from compliance.agreements_as_code import apply_text
from compliance.models import AgreementStatus, BusinessAssociate, BusinessAssociateAgreement
from compliance.yaml_lines import YamlError

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SIGNED = b"%PDF-1.4 signed by both parties"


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "signed.pdf").write_bytes(SIGNED)
    return tmp_path


def yaml(**agreement: str) -> str:
    fields = {"title": "Acme BAA", "status": "active", "effective_date": "2026-01-01", "document": "signed.pdf"}
    fields.update(agreement)
    lines = "".join(f"        {k}: {v}\n" for k, v in fields.items() if v is not None)
    return (
        "business_associates:\n"
        "  - name: Acme Voice Inc\n"
        "    contact_email: legal@acme.example\n"
        "    agreements:\n"
        "      - health_systems: [riverside]\n"
        f"{lines}"
    )


def test_the_example_file_applies_and_applying_it_again_changes_nothing(health_system):
    out = StringIO()
    call_command("apply_business_associates", str(EXAMPLES / "business-associates.yaml"), stdout=out)
    agreement = BusinessAssociateAgreement.objects.get()
    assert agreement.status == AgreementStatus.ACTIVE
    assert list(agreement.health_systems.all()) == [health_system]
    assert agreement.document.read() == (EXAMPLES / "example-baa.pdf").read_bytes()
    assert "applied agreement Example Voice Agent Co.: Example Voice Agent Co. BAA 2026" in out.getvalue()

    again = StringIO()
    call_command("apply_business_associates", str(EXAMPLES / "business-associates.yaml"), stdout=again)
    assert again.getvalue().strip() == "business associates are already up to date"


def test_a_changed_field_or_document_is_applied(health_system, folder):
    apply_text(yaml(), base_dir=folder)
    (folder / "renewed.pdf").write_bytes(b"%PDF-1.4 renewed")

    result = apply_text(yaml(expiry_date="2027-12-31", document="renewed.pdf"), base_dir=folder)

    agreement = BusinessAssociateAgreement.objects.get()
    assert result.changed == ["agreement Acme Voice Inc: Acme BAA"]
    assert agreement.expiry_date == datetime.date(2027, 12, 31)
    assert agreement.document.read() == b"%PDF-1.4 renewed"


def test_an_active_agreement_without_its_document_is_refused_beside_the_field(health_system, folder):
    with pytest.raises(YamlError) as error:
        apply_text(yaml(document=None), base_dir=folder)

    assert error.value.path == ("business_associates", 0, "agreements", 0, "status")
    assert "active only with its signed document" in error.value.message
    assert not BusinessAssociate.objects.exists()  # all or nothing


def test_a_draft_needs_no_document(health_system, folder):
    apply_text(yaml(status="draft", document=None), base_dir=folder)

    assert BusinessAssociateAgreement.objects.get().status == AgreementStatus.DRAFT


def test_an_expiry_before_the_effective_date_is_refused_in_plain_words(health_system, folder):
    with pytest.raises(YamlError) as error:
        apply_text(yaml(expiry_date="2025-12-31"), base_dir=folder)

    assert error.value.path[-1] == "expiry_date" and error.value.line == 10
    assert error.value.message == (
        "The agreement would end on 2025-12-31, before it takes effect on 2026-01-01: "
        "the expiry date must be on or after the effective date."
    )


@pytest.mark.parametrize(
    "fields,where,message",
    [
        ({"status": "signed"}, "status", "not a valid choice"),
        ({"effective_date": "next week"}, "effective_date", "invalid date format"),
        ({"document": "missing.pdf"}, "document", "cannot read"),
        ({"shoe_size": "9"}, "shoe_size", "unknown field"),
    ],
)
def test_bad_values_are_refused_naming_the_field(health_system, folder, fields, where, message):
    with pytest.raises(YamlError) as error:
        apply_text(yaml(**fields), base_dir=folder)

    assert error.value.path[-1] == where
    assert message in error.value.message.lower()


def test_an_unknown_health_system_is_refused(db, folder):
    with pytest.raises(YamlError, match=r"health_systems \(line 5\): unknown health system\(s\): riverside"):
        apply_text(yaml(), base_dir=folder)


def test_the_command_names_the_file_and_applies_nothing_on_error(health_system, folder):
    (folder / "bad.yaml").write_text(yaml(document=None))

    with pytest.raises(CommandError, match=r"bad.yaml: .*document.*\(nothing was applied\)"):
        call_command("apply_business_associates", str(folder / "bad.yaml"))


def test_export_round_trips_through_apply_with_the_documents(health_system, folder, tmp_path):
    apply_text(yaml(expiry_date="2027-12-31"), base_dir=folder)
    exported = tmp_path / "export"
    exported.mkdir()
    out = StringIO()

    call_command("export_business_associates", "--documents", str(exported), stdout=out)

    (exported / "business-associates.yaml").write_text(out.getvalue())
    assert apply_text(out.getvalue(), base_dir=exported).changed == []
    assert "expiry_date: 2027-12-31" in out.getvalue() and "health_systems:\n    - riverside" in out.getvalue()
    document = next(line for line in out.getvalue().splitlines() if "document:" in line).split(": ")[1]
    assert (exported / document).read_bytes() == SIGNED


def test_two_agreements_with_one_title_are_refused(health_system, folder):
    text = yaml() + "      - title: Acme BAA\n        effective_date: 2026-01-01\n"

    with pytest.raises(YamlError, match=r"agreements.1.title \(line 10\): a second agreement titled 'Acme BAA'"):
        apply_text(text, base_dir=folder)
