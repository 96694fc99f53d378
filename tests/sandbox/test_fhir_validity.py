"""Every resource every flavour serves parses as FHIR R4 with fhirclient's models (strict)."""

import pytest
from fhirclient.models.bundle import Bundle
from fhirclient.models.element import Element

FLAVOURS = ("generic", "epic", "oracle_health")
ALL_TYPES = {
    "Patient",
    "Practitioner",
    "Location",
    "Medication",
    "Appointment",
    "MedicationRequest",
    "MedicationDispense",
    "Communication",
}


def check_primitive_extensions(node) -> None:
    """fhirclient skips `_field` primitive extensions (Epic's masked SSN); parse those as Elements."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_") and isinstance(value, dict):
                Element(value, strict=True)
            check_primitive_extensions(value)
    elif isinstance(node, list):
        for item in node:
            check_primitive_extensions(item)


def searches_covering_every_type(handle) -> list[tuple[str, dict]]:
    cases = handle.hard_cases()
    patient = f"Patient/{cases['complete']}"
    request = handle.fhir_get(f"MedicationRequest/{cases['refills_left']}")
    message = handle.fhir_get(f"Communication/{cases['message']}")
    communications = {"recipient": message["recipient"][0]["reference"]}
    if handle.flavour != "oracle_health":
        communications = {"subject": patient, "_include": "Communication:sender"}
    patient_ids = [cases["complete"], *cases["shared_name_and_birth_date"], cases["no_phone"]]
    return [
        ("Patient", {"_id": ",".join(patient_ids)}),
        ("Appointment", {"patient": patient, "_include": "Appointment:actor"}),
        ("MedicationRequest", {"patient": patient, "_include": "MedicationRequest:medication"}),
        ("MedicationDispense", {"patient": patient}),
        ("Communication", communications),
        ("Practitioner", {"_id": request["requester"]["reference"].split("/")[1]}),
        ("Location", {"name": "Clinic"}),
        ("Medication", {"code": "314076,860975,617314,197361"}),
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_resource_type_served_parses_as_fhir_r4(sandbox_factory, flavour):
    handle = sandbox_factory(flavour=flavour)
    served = set()

    for resource_type, params in searches_covering_every_type(handle):
        bundle = handle.fhir_get(resource_type, params)
        assert bundle["resourceType"] == "Bundle", (resource_type, bundle)
        Bundle(bundle, strict=True)
        check_primitive_extensions(bundle)
        served.update(e["resource"]["resourceType"] for e in bundle["entry"])

    assert served >= ALL_TYPES


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_match_results_and_capability_statement_parse_as_fhir_r4(sandbox_factory, flavour):
    from fhirclient.models.capabilitystatement import CapabilityStatement

    handle = sandbox_factory(flavour=flavour)
    twin = handle.hard_cases()["shared_name_and_birth_date"][0]
    truth = next(p for p in handle.patients() if p["id"] == twin)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "resource",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": truth["family"], "given": [truth["given"]]}],
                    "birthDate": truth["birth_date"],
                },
            }
        ],
    }

    bundle = handle.fhir_post("Patient/$match", body)

    Bundle(bundle, strict=True)
    assert len(bundle["entry"]) == 2
    CapabilityStatement(handle.fhir_get("metadata"), strict=True)
