"""Guessing, enumeration and aimed lockouts, over HTTP against the sandbox (issue 18)."""

import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from audit.models import AuditRecord
from ehr_integrations.models import VerificationPolicy
from tests.calls.conftest import open_call, verify

pytestmark = pytest.mark.django_db(transaction=True)


def _patient_searches(sandbox) -> int:
    return len([r for r in sandbox.requests() if r["path"] in ("/fhir/Patient", "/fhir/Patient/_search")])


def _budget_spent_records() -> int:
    return AuditRecord.objects.filter(outcome="budget_spent").count()


@pytest.mark.parametrize(
    ("factor_set", "wrong", "right"),
    [
        (["date_of_birth", "mrn"], lambda i: {"mrn": f"WRONG{i:03d}"}, lambda p: {"mrn": p["mrn"]}),
        (["date_of_birth", "ssn_last4", "family_name"], lambda i: {"ssn_last4": f"{(i * 37) % 10000:04d}"},
         lambda p: {"ssn_last4": p["ssn_last4"]}),
        (["date_of_birth", "family_name", "given_name"],
         lambda i: {"given_name": f"Guess{chr(97 + i % 26)}{chr(97 + i // 26)}"}, lambda p: {"given_name": p["given"]}),
    ],
    ids=["dob+mrn", "dob+ssn", "dob+name"],
)  # fmt: skip
def test_thirty_guesses_over_new_calls_reach_the_ehr_at_most_the_budget_then_a_person(
    api, patient, sandbox, site, factor_set, wrong, right
):
    VerificationPolicy.objects.filter(health_system=site).update(factor_sets=[factor_set], name_parts_required=[])
    claimed = {"date_of_birth": patient["birth_date"], "family_name": patient["family"], "given_name": patient["given"]}
    claimed = {k: v for k, v in claimed.items() if k in factor_set}
    if factor_set[-1] == "given_name":
        claimed.pop("given_name")
    sandbox.reset_log()
    answers = [verify(api, open_call(api), **claimed, **wrong(i)).json()["status"] for i in range(30)]
    budget = settings.VERIFY_BUDGET_PER_DOB
    assert _patient_searches(sandbox) <= budget, _patient_searches(sandbox)
    assert answers[-1] == "escalate" and set(answers) == {"needs_more", "escalate"}
    assert verify(api, open_call(api), **claimed, **right(patient)).json()["status"] == "escalate"
    assert _budget_spent_records() >= 1


def test_comma_lists_of_eight_patients_mrns_lock_none_of_them_out(api, sandbox, site):
    VerificationPolicy.objects.filter(health_system=site).update(factor_sets=[["date_of_birth", "mrn"]])
    eight = sandbox.patients()[:8]
    listed = ",".join(p["mrn"] for p in eight)
    for patient in eight[:6]:
        verify(api, open_call(api), date_of_birth=patient["birth_date"], mrn=listed)
    for patient in eight:
        answer = verify(api, open_call(api), date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()
        assert answer["status"] == "verified", (patient["id"], answer)


def test_no_patient_wrong_factor_and_two_candidates_answer_byte_for_byte_alike(api, patient, sandbox, site):
    VerificationPolicy.objects.filter(health_system=site).update(
        factor_sets=[["date_of_birth", "family_name", "given_name"], ["date_of_birth", "mrn"]]
    )
    twin = next(p for p in sandbox.patients() if p["id"] in sandbox.hard_cases()["shared_name_and_birth_date"])
    nobody = verify(api, open_call(api), date_of_birth="1902-02-02", mrn="NOBODY1")
    wrong = verify(api, open_call(api), date_of_birth=patient["birth_date"], mrn="WRONG1")
    two = verify(api, open_call(api), date_of_birth=twin["birth_date"], family_name=twin["family"],
                 given_name=twin["given"])  # fmt: skip
    assert nobody.status_code == wrong.status_code == two.status_code == 200
    assert nobody.content == wrong.content == two.content, (nobody.content, wrong.content, two.content)


def test_concurrent_wrong_turns_on_one_number_never_exceed_its_budget(api, patient, sandbox, site):
    limit = 10
    VerificationPolicy.objects.filter(health_system=site).update(
        factor_sets=[["date_of_birth", "mrn"]], max_failures_per_caller_hour=limit, max_failures_per_call=3
    )
    calls = [open_call(api, caller_phone="+15555550177") for _ in range(12)]
    sandbox.reset_log()
    turns = [(call_id, n * 3 + i) for n, call_id in enumerate(calls) for i in range(3)]
    barrier = threading.Barrier(len(turns))

    def guess(call_id: str, turn: int) -> None:
        client = APIClient()
        client.credentials(**api._credentials)
        try:
            barrier.wait()
            verify(client, call_id, date_of_birth=f"19{40 + turn % 50:02d}-0{1 + turn % 9}-1{turn % 9}",
                   mrn=f"W{turn}X")  # fmt: skip
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=turn) for turn in turns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _patient_searches(sandbox) <= limit, _patient_searches(sandbox)
