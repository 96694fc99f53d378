"""Caller verification over real HTTP against the sandbox EHR."""

import pytest

from calls.models import CallSession
from ehr_integrations.models import VerificationPolicy
from tests.calls.conftest import open_call, verify

pytestmark = pytest.mark.django_db
PHI_RESOURCES = ("Appointment", "MedicationRequest", "Communication", "Medication", "MedicationDispense")


def ehr_paths(sandbox) -> list[str]:
    return [entry["path"] for entry in sandbox.requests()]


def test_verifies_in_two_turns(api, patient, sandbox):
    call_id = open_call(api)
    first = verify(api, call_id, date_of_birth=patient["birth_date"]).json()
    assert first["status"] == "needs_more"
    assert first["missing"] == ["mrn"]
    assert not any("/Patient" in p for p in ehr_paths(sandbox)), "no EHR search before a factor set is complete"
    second = verify(api, call_id, mrn=patient["mrn"]).json()
    assert second == {"status": "verified", "say": "Thank you, I've confirmed your identity."}
    assert CallSession.objects.get(pk=call_id).verification_method == "date_of_birth+mrn"


def test_each_needs_more_asks_one_question_in_the_policy_order(api, patient):
    VerificationPolicy.objects.update(
        factor_sets=[["date_of_birth", "ssn_last4"]], name_parts_required=["family_name", "given_name"]
    )
    call_id = open_call(api)
    first = verify(api, call_id, date_of_birth=patient["birth_date"]).json()
    assert first["missing"] == ["ssn_last4", "family_name", "given_name"]
    assert first["ask"] == "ssn_last4"
    assert first["prompt"] == "Could you tell me the last four digits of your Social Security number?"
    assert first["say"] == "Thank you. Could you tell me the last four digits of your Social Security number?"
    second = verify(api, call_id, ssn_last4=patient["ssn_last4"]).json()
    assert (second["ask"], second["prompt"]) == ("family_name", "Could you tell me your last name?")
    assert second["say"] == "Got it, thanks. Could you tell me your last name?"
    third = verify(api, call_id, family_name=patient["family"]).json()
    assert third["ask"] == "given_name" and third["missing"] == ["given_name"]
    wrong = verify(api, call_id, given_name="Nobody").json()
    assert wrong["status"] == "needs_more" and wrong["ask"] == "date_of_birth"
    assert wrong["say"] == "Sorry, let's try again. Could you tell me your date of birth?"


def test_ssn_factor_asks_for_the_name_the_vendor_search_needs(api, patient):
    call_id = open_call(api)
    first = verify(api, call_id, date_of_birth=patient["birth_date"], ssn_last4=patient["ssn_last4"]).json()
    assert first["status"] == "needs_more" and first["missing"] == ["family_name"]
    assert verify(api, call_id, family_name=patient["family"]).json()["status"] == "verified"


def test_phi_endpoints_refuse_before_verification_without_touching_the_ehr(api, patient, sandbox):
    call_id = open_call(api)
    verify(api, call_id, date_of_birth=patient["birth_date"])
    sandbox.reset_log()
    for tool in ("appointments", "medications", "messages", "patient"):
        response = api.get(f"/api/v1/calls/{call_id}/{tool}")
        assert response.status_code == 403
        assert response.json()["status"] == "not_verified"
    assert ehr_paths(sandbox) == []


def _failure(api, identifiers: dict):
    call_id = open_call(api)
    response = verify(api, call_id, **identifiers)
    return response.status_code, response.content


def test_the_three_failures_are_indistinguishable(api, patient):
    no_such_patient = _failure(api, {"date_of_birth": "1901-01-01", "mrn": "ZZ-000000"})
    wrong_birth_date = _failure(api, {"date_of_birth": "1902-02-02", "mrn": patient["mrn"]})
    wrong_second_factor = _failure(api, {"date_of_birth": patient["birth_date"], "mrn": "ZZ-000000"})
    assert no_such_patient == wrong_birth_date == wrong_second_factor
    assert no_such_patient[0] == 200
    assert b'"needs_more"' in no_such_patient[1] and b'"attempts_left":2' in no_such_patient[1]


def test_third_failure_escalates_and_fourth_reaches_no_ehr(api, patient, sandbox):
    call_id = open_call(api)
    wrong = {"date_of_birth": patient["birth_date"], "mrn": "NOT-AN-MRN"}
    assert verify(api, call_id, **wrong).json()["attempts_left"] == 2
    assert verify(api, call_id, **wrong).json()["attempts_left"] == 1
    third = verify(api, call_id, **wrong).json()
    assert third["status"] == "escalate"
    assert third["transfer"]["purpose"] == "verification"
    sandbox.reset_log()
    fourth = verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"])
    assert fourth.json()["status"] == "escalate"
    assert ehr_paths(sandbox) == []
    assert api.get(f"/api/v1/calls/{call_id}/appointments").status_code == 403


def test_patient_lockout_holds_across_calls_and_caller_numbers(api, patient, site):
    VerificationPolicy.objects.filter(health_system=site).update(max_failures_per_patient=2)
    wrong_ssn = "9999" if patient["ssn_last4"] != "9999" else "8888"
    wrong = {"date_of_birth": patient["birth_date"], "family_name": patient["family"], "ssn_last4": wrong_ssn}
    verify(api, open_call(api, caller_phone="+15555550001"), **wrong)
    verify(api, open_call(api, caller_phone="+15555550002"), **wrong)
    right = {"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
    locked = verify(api, open_call(api, caller_phone="+15555550003"), **right).json()
    assert locked["status"] == "needs_more"


def test_a_verified_caller_forgives_the_patients_failures(api, patient, site):
    """The patient's failures are forgiven by a success (in the step that checks the lockout): one more
    failure after it does not lock the patient out on a limit of two."""
    VerificationPolicy.objects.filter(health_system=site).update(max_failures_per_patient=2)
    wrong_ssn = "9999" if patient["ssn_last4"] != "9999" else "8888"
    wrong = {"date_of_birth": patient["birth_date"], "family_name": patient["family"], "ssn_last4": wrong_ssn}
    right = {"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
    for _ in range(2):
        verify(api, open_call(api), **wrong)
        assert verify(api, open_call(api), **right).json()["status"] == "verified"


def test_caller_number_limit_escalates_across_calls(api, patient, site):
    VerificationPolicy.objects.filter(health_system=site).update(max_failures_per_caller_hour=2)
    wrong = {"date_of_birth": "1901-01-01", "mrn": "NOT-AN-MRN"}
    verify(api, open_call(api, caller_phone="+15555550009"), **wrong)
    verify(api, open_call(api, caller_phone="+15555550009"), **wrong)
    answer = verify(
        api, open_call(api, caller_phone="+15555550009"), date_of_birth=patient["birth_date"], mrn=patient["mrn"]
    ).json()
    assert answer["status"] == "escalate"


def test_success_resets_the_calls_failures(api, patient):
    call_id = open_call(api)
    verify(api, call_id, date_of_birth=patient["birth_date"], mrn="NOT-AN-MRN")
    assert verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()["status"] == "verified"
    assert CallSession.objects.get(pk=call_id).failed_attempts == 0


def test_shared_name_and_birth_date_is_separated_by_mrn(api, sandbox, site):
    twins = [p for p in sandbox.patients() if p["id"] in sandbox.hard_cases()["shared_name_and_birth_date"]]
    VerificationPolicy.objects.filter(health_system=site).update(
        factor_sets=[["date_of_birth", "mrn"], ["date_of_birth", "family_name", "given_name"]]
    )
    first = twins[0]
    call_id = open_call(api)
    assert verify(api, call_id, date_of_birth=first["birth_date"], mrn=first["mrn"]).json()["status"] == "verified"
    assert api.get(f"/api/v1/calls/{call_id}/patient").json()["data"]["given_name"] == first["given"]
    ambiguous = verify(
        api, open_call(api), date_of_birth=first["birth_date"], family_name=first["family"], given_name=first["given"]
    )
    nobody = verify(api, open_call(api), date_of_birth="1901-01-01", family_name="Zzyzx", given_name="Nobody")
    # Two patients fit: a failure like any other, answered byte for byte as one (ask for the next factor).
    assert ambiguous.json()["status"] == "needs_more" and ambiguous.content == nobody.content
