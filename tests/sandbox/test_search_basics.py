"""Patient read and search, and the patient-level searches the gateway runs, on the generic flavour."""


def test_patient_search_by_family_and_birthdate_finds_the_ground_truth_patient(sandbox):
    complete = sandbox.hard_cases()["complete"]
    truth = next(p for p in sandbox.patients() if p["id"] == complete)

    bundle = sandbox.fhir_get("Patient", {"family": truth["family"], "birthdate": truth["birth_date"]})

    assert bundle["resourceType"] == "Bundle"
    assert complete in [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]


def test_patient_read_returns_the_patient(sandbox):
    complete = sandbox.hard_cases()["complete"]

    patient = sandbox.fhir_get(f"Patient/{complete}")

    assert patient["resourceType"] == "Patient"
    assert patient["id"] == complete


def test_unknown_patient_is_404_operation_outcome(sandbox):
    outcome = sandbox.fhir_get("Patient/does-not-exist")

    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "not-found"


def test_patient_level_searches_return_that_patients_records(sandbox):
    complete = sandbox.hard_cases()["complete"]

    for resource_type, param in (
        ("Appointment", "patient"),
        ("MedicationRequest", "patient"),
        ("Communication", "subject"),
    ):
        bundle = sandbox.fhir_get(resource_type, {param: f"Patient/{complete}"})
        resources = [e["resource"] for e in bundle["entry"]]
        assert resources, resource_type
        assert all(r["resourceType"] == resource_type for r in resources)
        references = [r.get("subject", {}).get("reference") for r in resources] + [
            p["actor"].get("reference") for r in resources for p in r.get("participant", [])
        ]
        assert all(f"Patient/{complete}" in references for _ in resources)
