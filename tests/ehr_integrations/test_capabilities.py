"""Effective capabilities: the preset checked against the server, the grant, the answers and the overrides."""

from types import MappingProxyType

import pytest
from django.core.exceptions import ValidationError

from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.capabilities import Inputs, ServerFacts, effective
from ehr_integrations.presets import preset
from ehr_integrations.presets.overrides import validate_overrides

ALL_V1 = ("system/*.read",)
STATEMENT = {
    "resourceType": "CapabilityStatement",
    "rest": [
        {
            "mode": "server",
            "resource": [
                {
                    "type": "Patient",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{"name": "identifier"}, {"name": "birthdate"}],
                    "operation": [
                        {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"}
                    ],
                },
                {
                    "type": "Appointment",
                    "interaction": [{"code": "search-type"}],
                    "searchInclude": ["Appointment:actor"],
                },
                {"type": "MedicationRequest", "interaction": [{"code": "search-type"}]},
                {"type": "Communication", "interaction": [{"code": "search-type"}]},
                {"type": "Practitioner", "interaction": [{"code": "read"}]},
            ],
        }
    ],
}


def _inputs(vendor: str = "epic", statement: dict | None = None, **site_overrides) -> Inputs:
    facts = ServerFacts.parse(statement) if statement else ServerFacts()
    return Inputs(preset(vendor), facts, MappingProxyType(site_overrides))


def test_without_anything_known_the_preset_decides():
    caps = effective(_inputs(), granted=None)
    assert caps.preset.supports_match and caps.post_search and caps.sources["supports_match"] == "preset"
    assert all(caps.permits(tool) for tool in ("verify", "appointments", "medications", "messages"))


def test_the_server_switches_off_what_it_does_not_advertise():
    caps = effective(_inputs("generic", STATEMENT), granted=ALL_V1)
    # No MedicationDispense, Location or Medication in the statement; only Appointment:actor advertised.
    assert caps.preset.dispense_search_param is None and not caps.enrichment("medications", "dispenses")
    assert caps.sources["dispenses"] == "server"
    assert caps.preset.includes_for("MedicationRequest") == () and caps.preset.includes_for("Appointment") == (
        "Appointment:actor",
    )
    assert "Location" not in caps.preset.readable_references and "Practitioner" in caps.preset.readable_references


def test_match_is_used_only_where_advertised_and_granted():
    advertised = effective(_inputs("epic", STATEMENT), granted=ALL_V1)
    assert advertised.preset.supports_match and advertised.sources["supports_match"] == "server"
    without = {**STATEMENT, "rest": [{**STATEMENT["rest"][0], "resource": STATEMENT["rest"][0]["resource"][1:]}]}
    not_advertised = effective(_inputs("epic", without), granted=ALL_V1)
    assert not not_advertised.preset.supports_match and not_advertised.sources["supports_match"] == "server"
    refused = effective(_inputs("epic", STATEMENT), granted=ALL_V1, refused=frozenset({"match"}))
    assert not refused.preset.supports_match and refused.sources["supports_match"] == "answer"


@pytest.mark.parametrize(
    "granted", [("system/Patient.read", "system/Appointment.read"), ("system/Patient.rs", "system/Appointment.s")]
)
def test_the_grant_in_either_grammar_withholds_a_core_query_and_names_the_scope(granted):
    caps = effective(_inputs("generic"), granted=granted)
    assert caps.permits("verify") and caps.permits("appointments")
    assert not caps.permits("medications") and caps.withheld["medications"][0] == "grant"
    assert "system/MedicationRequest.s" in caps.withheld["medications"][1]
    with pytest.raises(EHRRequestRejected) as refused:
        caps.require("medications")
    assert refused.value.status == 403
    assert not caps.enrichment("medications", "dispenses") and caps.preset.dispense_search_param is None


def test_a_core_resource_the_server_does_not_serve_is_not_supported():
    caps = effective(_inputs("generic", {"rest": [{"mode": "server", "resource": [{"type": "Patient"}]}]}), None)
    with pytest.raises(EHRUnavailable) as missing:
        caps.require("messages")
    assert missing.value.reason == "not_supported"


def test_overrides_win_but_never_over_the_grant():
    caps = effective(
        _inputs("generic", supports_match=True, post_search=False, mrn_system="urn:oid:1.2.3",
                enrichments={"dispenses": False}),
        granted=ALL_V1,
    )  # fmt: skip
    assert caps.preset.supports_match and not caps.post_search
    assert caps.preset.mrn_identifier.search_system == "urn:oid:1.2.3" and caps.sources["mrn_system"] == "override"
    assert not caps.enrichment("medications", "dispenses") and caps.sources["dispenses"] == "override"
    no_patient_search = effective(_inputs("generic", supports_match=True), granted=("system/Appointment.rs",))
    assert not no_patient_search.preset.supports_match and not no_patient_search.permits("verify")


def test_a_vendor_without_dispenses_keeps_refills_as_prescribed_not_unknown():
    import dataclasses

    inputs = _inputs("generic")
    inputs = dataclasses.replace(inputs, preset=dataclasses.replace(inputs.preset, dispense_search_param=None))
    assert effective(inputs, granted=("system/Patient.rs",)).enrichment("medications", "dispenses")


def test_every_value_shown_to_the_admin_names_its_source():
    rows = effective(_inputs("epic", STATEMENT), granted=("system/Patient.rs",)).rows()
    assert {source for _, _, source in rows} <= {"preset", "server", "grant", "answer", "override"}
    assert any(name == "appointments (core query)" and source == "grant" for name, _, source in rows)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"supports_mtach": True}, "supports_mtach"),
        ({"supports_match": "yes"}, "supports_match"),
        ({"patient_search_sets": [["birthdate"]]}, "patient_search_sets"),
        ({"patient_search_sets": [["ssn"]]}, "patient_search_sets"),
        ({"includes": {"Appointment": ["Patient:link"]}}, "includes"),
        ({"enrichments": {"dispenses": "off"}}, "enrichments.dispenses"),
        ({"appointment_statuses": {"expected": ["booked", "entered-in-error"]}}, "appointment_statuses.expected"),
        ({"mrn_system": ""}, "mrn_system"),
        ({"mrn_system": "urn:oid:1.2,urn:oid:3"}, "mrn_system"),
        ({"mrn_system": "urn:*"}, "mrn_system"),
    ],
)
def test_a_bad_override_is_refused_naming_the_key(overrides, named):
    with pytest.raises(ValidationError) as refused:
        validate_overrides(overrides)
    assert refused.value.messages[0].startswith(f"{named}:")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            400,
            {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported"}]},
            "not_supported",
        ),
        (400, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}, "bad_request"),
        (404, {"not": "an outcome"}, "not_found"),
    ],
)
def test_a_server_saying_not_supported_is_typed_so_whatever_the_status(status, body, reason):
    import json

    from ehr_integrations.fhir.client import _accepted
    from ehr_integrations.transport.http import EHRResponse

    with pytest.raises(EHRRequestRejected) as refused:
        _accepted(EHRResponse(status, {}, json.dumps(body).encode()))
    assert (refused.value.status, refused.value.reason) == (status, reason)


def test_a_stub_statement_tells_nothing_and_the_preset_decides():
    stub = effective(_inputs("generic", {"resourceType": "CapabilityStatement"}), None)
    listed_bare = effective(_inputs("generic", {"rest": [{"mode": "server", "resource": [{"type": "Patient"}]}]}), None)
    assert all(stub.permits(tool) for tool in ("verify", "appointments", "medications", "messages"))
    assert listed_bare.permits("verify")


def test_an_override_beats_the_statement_but_not_the_servers_answer():
    caps = effective(_inputs("generic", supports_match=True), granted=ALL_V1, refused=frozenset({"match"}))
    assert not caps.preset.supports_match and caps.sources["supports_match"] == "answer"


def test_an_include_whose_targets_the_grant_cannot_read_is_not_asked():
    caps = effective(_inputs("generic"), granted=("system/Appointment.rs", "system/MedicationRequest.rs",
                                                    "system/Medication.rs", "system/Patient.rs"))  # fmt: skip
    assert caps.preset.includes_for("Appointment") == () and caps.sources["includes"] == "grant"
    assert caps.preset.includes_for("MedicationRequest") == ("MedicationRequest:medication",)


def test_an_mrn_carrying_a_bar_stays_one_value_in_the_match_body():
    from ehr_integrations.fhir.patient_search import _match_body

    given = {"date_of_birth": "1970-01-01", "family_name": "A", "given_name": "B", "mrn": "urn:evil|123"}
    patient = _match_body(given, preset("epic"))["parameter"][0]["resource"]
    assert patient["identifier"] == [{"value": "urn:evil|123"}]


def test_one_bad_stored_override_drops_only_itself():
    from ehr_integrations.presets.overrides import usable

    assert usable({"mrn_system": "urn:oid:1.2.3", "supports_match": "yes", "future_key": 1}) == {
        "mrn_system": "urn:oid:1.2.3"
    }


def test_the_mrn_system_override_alone_marks_the_mrn():
    from ehr_integrations.identity import is_mrn

    caps = effective(_inputs("generic", mrn_system="urn:oid:1.2.3"), None)
    rule = caps.preset.mrn_identifier
    mr = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
    typed_elsewhere = {"system": "urn:oid:9.9", "value": "1", "type": mr}
    assert is_mrn({"system": "urn:oid:1.2.3", "value": "1"}, rule) and not is_mrn(typed_elsewhere, rule)


def test_search_sets_the_server_cannot_search_by_are_dropped():
    # The statement's Patient lists identifier and birthdate only: no name or phone search there.
    caps = effective(_inputs("generic", STATEMENT), granted=ALL_V1)
    assert caps.preset.patient_search_sets == (("identifier",),) and caps.sources["patient_search_sets"] == "server"
    kept = effective(_inputs("generic", STATEMENT, patient_search_sets=[["birthdate", "family"]]), granted=ALL_V1)
    assert kept.preset.patient_search_sets == (("birthdate", "family"),)
