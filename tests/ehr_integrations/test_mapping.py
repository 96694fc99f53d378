import pytest
from django.core.exceptions import ValidationError

from compliance.yaml_lines import YamlError
from ehr_integrations.models import MappingRule
from ehr_integrations.normalize.mapping import build_mapping, load_mapping, validate_expression, validate_rule
from ehr_integrations.normalize.patient import normalize_patient
from ehr_integrations.setup.config_as_code import apply_text

PHONE_EXTENSION = "http://sandbox.example.org/fhir/StructureDefinition/primary-phone"
PHONE_RULE = f"extension.where(url = '{PHONE_EXTENSION}').value"
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"use": "official", "given": ["Ann"], "family": "Lee"}],
    "extension": [{"url": PHONE_EXTENSION, "valueString": "+18165550142"}],
}


@pytest.mark.parametrize(
    "expression, says",
    [
        ("name.given.", "Not a valid FHIRPath expression"),
        ("name.where(", "Not a valid FHIRPath expression"),
        ("name.given | ", "Not a valid FHIRPath expression"),
        ("'unterminated", "Not a valid FHIRPath expression"),
        ("name.bogus()", "Not implemented: bogus"),
        ("name.where()", "where wrong arity"),
        ("%nowhere.given", "undefined environment variable"),
        ("", "A FHIRPath expression is required"),
        ("   ", "A FHIRPath expression is required"),
    ],
)
def test_a_broken_expression_is_refused_with_a_clear_message(expression, says):
    with pytest.raises(ValidationError) as refused:
        validate_expression(expression)
    assert says in refused.value.messages[0]


@pytest.mark.parametrize(
    "expression",
    [PHONE_RULE, "name.where(use = 'official').given.first()", "identifier.where(type.text = 'MRN').value", "id"],
)
def test_a_sound_expression_passes(expression):
    validate_expression(expression)


def test_preset_defaults_apply_until_a_rule_overrides_a_field():
    assert normalize_patient(PATIENT, build_mapping("generic")).phone is None
    overridden = build_mapping("generic", {("patient", "phone"): PHONE_RULE})
    assert normalize_patient(PATIENT, overridden).phone == "+18165550142"
    assert overridden.is_overridden("patient", "phone")
    assert not overridden.is_overridden("patient", "given_name")


@pytest.mark.django_db
def test_a_rule_with_a_broken_expression_is_refused(health_system):
    rule = MappingRule(health_system=health_system, resource="patient", field="phone", expression="telecom.where(")
    with pytest.raises(ValidationError) as refused:
        validate_rule(rule)
    assert "expression" in refused.value.message_dict


@pytest.mark.django_db
def test_a_rule_for_a_field_outside_the_schema_is_refused(health_system):
    rule = MappingRule(health_system=health_system, resource="patient", field="ssn", expression="id")
    with pytest.raises(ValidationError) as refused:
        validate_rule(rule)
    assert "has no field 'ssn'" in refused.value.message_dict["field"][0]


@pytest.mark.django_db
def test_health_system_yaml_with_a_broken_expression_is_refused_at_its_line(health_system):
    text = (
        "slug: riverside\nname: Riverside Health\nfhir_base_url: http://127.0.0.1:9/fhir\n"
        "connection:\n  client_id: gw-riverside\n"
        'mapping_rules:\n  - resource: patient\n    field: phone\n    expression: "telecom.where("\n'
    )
    with pytest.raises(YamlError) as refused:
        apply_text(text)
    assert "Not a valid FHIRPath expression" in str(refused.value)
    assert not MappingRule.objects.exists()


@pytest.mark.django_db
def test_an_edited_rule_changes_the_mapping_without_a_restart(health_system):
    before = load_mapping(health_system)
    assert load_mapping(health_system) is before  # cached while nothing changed
    assert normalize_patient(PATIENT, before).phone is None
    rule = MappingRule.objects.create(health_system=health_system, resource="patient", field="phone", expression="id")
    rule.expression = PHONE_RULE
    rule.save()
    assert normalize_patient(PATIENT, load_mapping(health_system)).phone == "+18165550142"
    rule.enabled = False
    rule.save()
    assert normalize_patient(PATIENT, load_mapping(health_system)).phone is None
    rule.delete()
    assert not load_mapping(health_system).overridden


@pytest.mark.django_db
def test_a_broken_rule_that_slipped_into_the_database_is_ignored_not_fatal(health_system):
    MappingRule.objects.bulk_create(
        [MappingRule(health_system=health_system, resource="patient", field="given_name", expression="name.where(")]
    )
    mapping = load_mapping(health_system)
    assert not mapping.is_overridden("patient", "given_name")
    assert normalize_patient(PATIENT, mapping).given_name == "Ann"


@pytest.mark.django_db
def test_the_mapping_follows_the_health_system_time_zone(health_system):
    health_system.time_zone = "America/Chicago"
    health_system.save()
    assert load_mapping(health_system).time_zone == "America/Chicago"
