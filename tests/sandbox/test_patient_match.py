"""Patient/$match: graded matches, and onlyCertainMatches returning one certain match or none."""

import pytest

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"


def parameters(only_certain: bool = False, **patient) -> dict:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": {"resourceType": "Patient", **patient}},
            {"name": "onlyCertainMatches", "valueBoolean": only_certain},
        ],
    }


def graded(bundle) -> dict[str, str]:
    return {
        e["resource"]["id"]: next(x["valueCode"] for x in e["search"]["extension"] if x["url"] == MATCH_GRADE)
        for e in bundle["entry"]
    }


@pytest.fixture
def truth(sandbox):
    return {p["id"]: p for p in sandbox.patients()}


def test_name_and_birth_date_shared_by_two_patients_gives_two_probable_matches(sandbox, truth):
    twins = sandbox.hard_cases()["shared_name_and_birth_date"]
    twin = truth[twins[0]]
    name = [{"family": twin["family"], "given": [twin["given"]]}]

    graded_all = graded(sandbox.fhir_post("Patient/$match", parameters(name=name, birthDate=twin["birth_date"])))
    only_certain = sandbox.fhir_post(
        "Patient/$match", parameters(only_certain=True, name=name, birthDate=twin["birth_date"])
    )

    assert graded_all == {twins[0]: "probable", twins[1]: "probable"}
    assert only_certain["entry"] == []


def test_mrn_and_birth_date_is_one_certain_match(sandbox, truth):
    complete = truth[sandbox.hard_cases()["complete"]]

    bundle = sandbox.fhir_post(
        "Patient/$match",
        parameters(only_certain=True, identifier=[{"value": complete["mrn"]}], birthDate=complete["birth_date"]),
    )

    assert graded(bundle) == {complete["id"]: "certain"}
    assert bundle["entry"][0]["search"]["score"] > 0.5


def test_a_wrong_birth_date_rules_the_patient_out(sandbox, truth):
    complete = truth[sandbox.hard_cases()["complete"]]

    bundle = sandbox.fhir_post(
        "Patient/$match",
        parameters(
            name=[{"family": complete["family"], "given": [complete["given"]]}],
            identifier=[{"value": complete["mrn"]}],
            birthDate="1900-01-01",
        ),
    )

    assert complete["id"] not in graded(bundle)


def test_a_body_that_is_not_parameters_is_400(sandbox):
    outcome = sandbox.fhir_post("Patient/$match", {"resourceType": "Patient"})

    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "invalid"
