from pathlib import Path

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict

from compliance.yaml_lines import YamlError
from ehr_integrations.models import EHRConnection, HealthSystem, MappingRule, TransferTarget, VerificationPolicy
from ehr_integrations.setup.config_as_code import apply_text, export_text

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "riverside.yaml"
MODELS = [HealthSystem, EHRConnection, VerificationPolicy, TransferTarget, MappingRule]


def snapshot() -> dict:
    return {
        m.__name__: sorted((model_to_dict(o) | {"pk": o.pk} for o in m.objects.all()), key=lambda d: d["pk"])
        for m in MODELS
    } | {
        "updated": sorted(str(h.updated_at) for h in HealthSystem.objects.all()),
        "audit_entries": LogEntry.objects.count(),
    }


@pytest.mark.django_db
def test_applying_the_same_file_twice_changes_nothing():
    first = apply_text(EXAMPLE.read_text())
    assert first.created
    before = snapshot()
    second = apply_text(EXAMPLE.read_text())
    assert not second.created and second.changed == []
    assert snapshot() == before


@pytest.mark.django_db
def test_export_round_trips_through_apply():
    apply_text(EXAMPLE.read_text())
    before = snapshot()
    exported = export_text("riverside")
    result = apply_text(exported)
    assert result.changed == []
    assert snapshot() == before


@pytest.mark.django_db
def test_changed_field_is_updated_and_listed():
    apply_text(EXAMPLE.read_text())
    text = EXAMPLE.read_text().replace("max_failures_per_call: 3", "max_failures_per_call: 4")
    result = apply_text(text)
    assert result.changed == ["verification_policy"]
    assert VerificationPolicy.objects.get().max_failures_per_call == 4


@pytest.mark.django_db
def test_malformed_file_names_field_and_line_and_applies_nothing():
    text = EXAMPLE.read_text().replace("time_zone: America/New_York", "time_zone: Mars/Olympus")
    with pytest.raises(YamlError) as caught:
        apply_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("time_zone"))
    assert caught.value.path == ("time_zone",)
    assert caught.value.line == line
    assert "IANA" in str(caught.value)
    assert HealthSystem.objects.count() == 0


@pytest.mark.django_db
def test_error_late_in_file_rolls_back_earlier_sections():
    apply_text(EXAMPLE.read_text())
    before = snapshot()
    text = EXAMPLE.read_text().replace("name: Riverside Health", "name: Renamed Health")
    text = text.replace("    - [date_of_birth, mrn]", "    - [date_of_birth, shoe_size]")
    with pytest.raises(YamlError) as caught:
        apply_text(text)
    assert caught.value.path == ("verification_policy", "factor_sets")
    assert "shoe_size" in caught.value.message
    assert snapshot() == before


@pytest.mark.django_db
def test_unknown_key_and_inline_secret_are_refused_with_line():
    with pytest.raises(YamlError, match=r"connection.colour \(line 4\): unknown field"):
        apply_text("slug: a\nname: A\nconnection:\n  colour: blue\nfhir_base_url: https://a.example/fhir\n")
    with pytest.raises(YamlError, match="secrets do not belong in files"):
        apply_text("slug: a\nname: A\nfhir_base_url: https://a.example/fhir\nconnection:\n  client_secret: hunter2\n")


@pytest.mark.django_db
def test_secret_comes_from_environment_and_is_never_exported(monkeypatch):
    monkeypatch.setenv("RIVERSIDE_SECRET", "canary-secret-8812")
    text = EXAMPLE.read_text().replace(
        "  auth_method: private_key_jwt", "  auth_method: client_secret_basic\n  client_secret_env: RIVERSIDE_SECRET"
    )
    apply_text(text)
    connection = EHRConnection.objects.get()
    assert connection.client_secret() == "canary-secret-8812"
    assert "canary-secret-8812" not in connection.client_secret_encrypted
    assert "canary-secret-8812" not in export_text("riverside")
    assert apply_text(text).changed == []


@pytest.mark.django_db
def test_missing_secret_variable_is_named(monkeypatch):
    monkeypatch.delenv("NOPE_SECRET", raising=False)
    text = EXAMPLE.read_text().replace("  auth_method: private_key_jwt", "  client_secret_env: NOPE_SECRET")
    with pytest.raises(YamlError, match="NOPE_SECRET is not set"):
        apply_text(text)


@pytest.mark.django_db
def test_invalid_yaml_reports_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: a\nname: [unclosed\n")
    with pytest.raises(CommandError, match=r"line \d+.*nothing was applied"):
        call_command("apply_health_system", str(bad))


@pytest.mark.django_db
def test_removed_targets_and_rules_are_deleted():
    apply_text(EXAMPLE.read_text())
    text = EXAMPLE.read_text().replace(
        "mapping_rules: []",
        "mapping_rules:\n  - {resource: patient, field: phone, expression: \"telecom.where(system='phone').value\"}",
    )
    apply_text(text)
    assert MappingRule.objects.count() == 1
    apply_text(EXAMPLE.read_text())
    assert MappingRule.objects.count() == 0


@pytest.mark.django_db
def test_capability_overrides_apply_export_and_name_a_bad_key():
    text = EXAMPLE.read_text() + "capabilities:\n  supports_match: false\n  mrn_system: urn:oid:1.2.3\n"
    apply_text(text)
    connection = EHRConnection.objects.get(health_system__slug="riverside")
    assert connection.capability_overrides == {"supports_match": False, "mrn_system": "urn:oid:1.2.3"}
    assert "supports_match: false" in export_text("riverside")
    assert apply_text(text).changed == []
    with pytest.raises(YamlError) as refused:
        apply_text(EXAMPLE.read_text() + "capabilities:\n  supports_match: maybe\n")
    assert "capabilities.supports_match" in str(refused.value) and "true or false" in str(refused.value)
    apply_text(EXAMPLE.read_text())
    connection.refresh_from_db()
    assert connection.capability_overrides == {}


@pytest.mark.django_db
def test_write_settings_apply_export_and_name_a_bad_key():
    text = EXAMPLE.read_text() + (
        "writes:\n  task_owner: Organization/refill-desk\n  message_topics: {forms: a question about a form}\n"
    )
    apply_text(text)
    system = HealthSystem.objects.get(slug="riverside")
    assert system.write_settings == {
        "task_owner": "Organization/refill-desk",
        "message_topics": {"forms": "a question about a form"},
    }
    assert "task_owner: Organization/refill-desk" in export_text("riverside")
    assert apply_text(text).changed == []
    for bad, named in [
        ("writes:\n  task_owner: Dr. Chen\n", "writes.task_owner"),
        ("writes:\n  message_topics: {Billing Dept: billing}\n", "writes.message_topics"),
        ("writes:\n  excluded_medications: [isotretinoin]\n", "writes.excluded_medications"),
        ("writes:\n  urgent_wordz: [help]\n", "writes.urgent_wordz"),
    ]:
        with pytest.raises(YamlError) as refused:
            apply_text(EXAMPLE.read_text() + bad)
        assert named in str(refused.value), (bad, str(refused.value))
    apply_text(EXAMPLE.read_text())
    system.refresh_from_db()
    assert system.write_settings == {}


@pytest.mark.django_db
def test_a_factor_set_searchable_only_by_birth_date_is_refused_naming_it():
    text = EXAMPLE.read_text().replace("name_parts_required: [family_name, given_name]", "name_parts_required: []")
    with pytest.raises(YamlError) as refused:
        apply_text(text)
    assert "verification_policy.factor_sets" in str(refused.value) and "date_of_birth + ssn_last4" in str(refused.value)
    apply_text(text.replace("- [date_of_birth, ssn_last4]", "- [date_of_birth, ssn_last4, family_name]"))
