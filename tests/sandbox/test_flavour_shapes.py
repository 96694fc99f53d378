"""Golden tests: the same underlying patient, rendered the way each vendor renders it."""

import pytest

RENDERED_VALUE = "http://hl7.org/fhir/StructureDefinition/rendered-value"
ORACLE_CODE_SET_4 = "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/4"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.fixture
def same_patient(sandbox_factory):
    """The `complete` hard case in all three flavours (same seed, so the same person)."""
    handles = {flavour: sandbox_factory(flavour=flavour) for flavour in ("generic", "epic", "oracle_health")}
    complete = handles["generic"].hard_cases()["complete"]
    truth = next(p for p in handles["generic"].patients() if p["id"] == complete)
    return handles, truth


def test_the_flavours_serve_the_same_person(same_patient):
    handles, truth = same_patient

    for handle in handles.values():
        patient = handle.fhir_get(f"Patient/{truth['id']}")
        assert patient["name"][0]["family"] == truth["family"]
        assert patient["name"][0]["given"][0] == truth["given"]
        assert patient["birthDate"] == truth["birth_date"]


def test_epic_identifiers_have_type_text_only_oid_systems_and_a_masked_ssn(same_patient):
    handles, truth = same_patient

    patient = handles["epic"].fhir_get(f"Patient/{truth['id']}")

    assert patient["identifier"] == [
        {
            "use": "usual",
            "type": {"text": "EPI"},
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0",
            "value": f"E{truth['mrn']}",
        },
        {
            "use": "usual",
            "type": {"text": "MRN"},
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14",
            "value": truth["mrn"],
        },
        {
            "use": "usual",
            "type": {"text": "SSN"},
            "system": "urn:oid:2.16.840.1.113883.4.1",
            "_value": {"extension": [{"url": RENDERED_VALUE, "valueString": f"xxx-xx-{truth['ssn_last4']}"}]},
        },
    ]
    digits = truth["phone"][-10:]
    assert patient["telecom"] == [
        {"system": "phone", "value": f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", "use": "home"}
    ]


def test_epic_prescriptions_reference_a_medication_resource(same_patient):
    handles, truth = same_patient
    request_id = handles["epic"].hard_cases()["refills_left"]

    request = handles["epic"].fhir_get(f"MedicationRequest/{request_id}")
    medication = handles["epic"].fhir_get(request["medicationReference"]["reference"])

    assert "medicationCodeableConcept" not in request
    assert medication["resourceType"] == "Medication"
    assert medication["code"]["text"] == request["medicationReference"]["display"]


def test_epic_enforces_its_minimum_search_sets(same_patient):
    handles, truth = same_patient
    epic = handles["epic"]

    given_only = epic.fhir_get("Patient", {"given": truth["given"]})
    no_patient = epic.fhir_get("Appointment", {"status": "booked"})
    family_and_birthdate = epic.fhir_get("Patient", {"family": truth["family"], "birthdate": truth["birth_date"]})

    assert given_only["resourceType"] == "OperationOutcome"
    assert given_only["issue"][0]["code"] == "required"
    assert no_patient["resourceType"] == "OperationOutcome"
    assert truth["id"] in [e["resource"]["id"] for e in family_and_birthdate["entry"]]


def test_oracle_health_mrn_is_code_set_4_code_10_and_v2_mr_and_there_is_no_ssn(same_patient):
    handles, truth = same_patient

    patient = handles["oracle_health"].fhir_get(f"Patient/{truth['id']}")

    assert patient["identifier"] == [
        {
            "use": "usual",
            "type": {
                "coding": [
                    {"system": ORACLE_CODE_SET_4, "code": "10", "display": "MRN", "userSelected": True},
                    {"system": V2_0203, "code": "MR", "display": "Medical record number"},
                ],
                "text": "MRN",
            },
            "system": "urn:oid:2.16.840.1.113883.6.1000",
            "value": truth["mrn"],
        }
    ]
    assert truth["ssn_last4"] not in str(patient).replace(truth["mrn"], "").replace(truth["phone"], "")
    assert "ssn" not in str(patient).lower()


def test_oracle_health_appointment_participants_carry_only_display_names(same_patient):
    handles, truth = same_patient
    appointment_id = handles["oracle_health"].hard_cases()["upcoming_appointment"]

    oracle = handles["oracle_health"].fhir_get(f"Appointment/{appointment_id}")
    generic = handles["generic"].fhir_get(f"Appointment/{appointment_id}")

    actors = [p["actor"] for p in oracle["participant"]]
    assert actors[0]["reference"] == f"Patient/{truth['id']}"
    assert actors[1:] == [{"display": a["display"]} for a in (p["actor"] for p in generic["participant"][1:])]


def test_oracle_health_has_no_patient_level_communication_search(same_patient):
    handles, truth = same_patient

    outcome = handles["oracle_health"].fhir_get("Communication", {"subject": f"Patient/{truth['id']}"})
    generic = handles["generic"].fhir_get("Communication", {"subject": f"Patient/{truth['id']}"})

    assert outcome["resourceType"] == "OperationOutcome"
    assert generic["resourceType"] == "Bundle" and generic["total"] >= 1


def test_generic_keeps_the_phone_in_a_site_extension_not_telecom(same_patient):
    handles, truth = same_patient

    patient = handles["generic"].fhir_get(f"Patient/{truth['id']}")

    assert "telecom" not in patient
    assert patient["extension"] == [
        {"url": "http://sandbox.example.org/fhir/StructureDefinition/primary-phone", "valueString": truth["phone"]}
    ]
    assert {i["system"]: i["value"] for i in patient["identifier"]} == {
        "http://sandbox.example.org/fhir/sid/mrn": truth["mrn"],
        "http://hl7.org/fhir/sid/us-ssn": patient["identifier"][1]["value"],
    }
    assert patient["identifier"][1]["value"].endswith(truth["ssn_last4"])


def test_generic_and_oracle_prescriptions_carry_the_drug_inline(same_patient):
    handles, truth = same_patient
    request_id = handles["generic"].hard_cases()["refills_left"]

    for flavour in ("generic", "oracle_health"):
        request = handles[flavour].fhir_get(f"MedicationRequest/{request_id}")
        assert "medicationReference" not in request
        assert (
            request["medicationCodeableConcept"]["coding"][0]["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
        )
