import pytest

from ehr_integrations.models import Vendor
from ehr_integrations.normalize.flat import field_names
from ehr_integrations.normalize.mapping import INPUT_FIELDS, validate_expression
from ehr_integrations.presets import preset, vendors

COMPUTED = {("patient", "mrn"), ("medication", "refills_remaining"), ("medication", "last_filled")}
COMPUTED |= {("medication", "refill_eligible")}


def test_there_is_one_preset_per_vendor_choice():
    assert vendors() == sorted(Vendor.values)


@pytest.mark.parametrize("vendor", Vendor.values)
def test_every_flat_field_has_a_valid_default_or_is_computed(vendor):
    fields = preset(vendor).fields
    for resource in ("patient", "appointment", "medication", "message"):
        expected = set(field_names(resource)) | set(INPUT_FIELDS.get(resource, ()))
        given = set(fields[resource])
        assert given <= expected, given - expected
        assert {(resource, f) for f in expected - given} <= COMPUTED
        for expression in fields[resource].values():
            validate_expression(expression)


def test_presets_are_loaded_once_and_frozen():
    assert preset("epic") is preset("epic")
    with pytest.raises(AttributeError):
        preset("epic").supports_match = False  # type: ignore[misc]


def test_capabilities_differ_as_the_vendors_do():
    epic, oracle, generic = preset("epic"), preset("oracle_health"), preset("generic")
    assert epic.supports_match and not oracle.supports_match
    assert epic.client_id_header == "Epic-Client-ID" and oracle.client_id_header is None
    assert ("identifier",) in epic.patient_search_sets and ("family",) not in epic.patient_search_sets
    assert oracle.communication_search_param == "recipient"
    assert generic.includes_for("Appointment") and not epic.includes_for("Appointment")


def test_an_unknown_vendor_has_no_preset():
    with pytest.raises(KeyError):
        preset("meditech")
