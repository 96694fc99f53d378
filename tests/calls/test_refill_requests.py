"""Refill requests over HTTP against the sandbox EHR (issue 21, the refill half of its acceptance)."""

import pytest

from calls.models import StaffRequest
from tests.calls.conftest import verified_call
from tests.calls.ehr_writes import creates as _posts
from tests.calls.ehr_writes import make_writable, set_write_settings, set_writes
from tests.calls.ehr_writes import written as _writes


@pytest.fixture
def writable_site(site, sandbox):
    make_writable(site, sandbox)
    return site


@pytest.fixture
def cases(sandbox) -> dict:
    """The refill hard cases: one patient with a refillable, a no-refills and a controlled prescription."""
    return sandbox.hard_cases()["refill_requests"]


@pytest.fixture
def patient(sandbox, cases) -> dict:
    return next(p for p in sandbox.patients() if p["id"] == cases["patient"])


def _refill(api, call_id: str, body: dict, **headers):
    return api.post(f"/api/v1/calls/{call_id}/refill-requests", body, format="json", **headers)


def _read_back(api, call_id: str, medication_id: str) -> dict:
    answer = _refill(api, call_id, {"medication_id": medication_id, "confirm": False})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _about(resource: dict) -> str:
    target = resource.get("focus") or resource["about"][0]
    return target["reference"]


def test_a_confirmed_refill_sent_three_times_is_one_task(api, writable_site, sandbox, patient, cases):
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    assert asked["status"] == "confirm", asked
    assert asked["say"].startswith("I'll ask ") and asked["say"].endswith("Shall I send it?")
    assert "refill your" in asked["say"] and asked["data"]["route"] == "Task"
    assert _posts(sandbox) == []  # the read-back wrote nothing

    confirm = {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    first = _refill(api, call_id, confirm, HTTP_IDEMPOTENCY_KEY="refill-1")
    replayed = _refill(api, call_id, confirm, HTTP_IDEMPOTENCY_KEY="refill-1")
    again = _refill(api, call_id, confirm)

    assert first.status_code == 201, first.content
    assert first.json()["say"].startswith("Your request was sent to ")
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert again.status_code == 200 and again.json()["data"]["reference"] == first.json()["data"]["reference"]
    written = _writes(sandbox)
    assert [(w["resourceType"], _about(w)) for w in written] == [("Task", f"MedicationRequest/{medication}")]
    assert first.json()["data"]["reference"] == f"Task/{written[0]['id']}"


def test_a_timeout_after_the_task_committed_still_writes_once(api, writable_site, sandbox, patient, cases):
    medication = cases["refillable"]
    set_writes(writable_site, sandbox, conditional_create="absent")  # the search before and after must hold it
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    sandbox.add_fault("/fhir/Task", hang_after_commit=True)
    confirm = {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}

    answer = _refill(api, call_id, confirm)
    sandbox.clear_faults()
    retried = _refill(api, call_id, confirm)

    assert answer.status_code == 200, answer.content  # found by its identifier after the timeout
    assert answer.json()["data"]["state"] == "sent"
    assert retried.json()["data"]["reference"] == answer.json()["data"]["reference"]
    assert len(_writes(sandbox)) == 1
    assert [e["fault"] for e in _posts(sandbox)] == ["hang_after_commit"]  # the retry found it: no second POST


def test_without_confirm_and_a_valid_confirmation_id_nothing_reaches_the_ehr(
    api, writable_site, sandbox, patient, cases
):
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    other_call = verified_call(api, patient)

    missing = _refill(api, call_id, {"medication_id": medication, "confirm": True})
    made_up = _refill(api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": "0" * 32})
    changed = _refill(
        api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"],
                       "note": "and two more bottles"},
    )  # fmt: skip
    elsewhere = _refill(
        api, other_call, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )
    not_boolean = _refill(api, call_id, {"medication_id": medication, "confirm": "yes"})

    assert missing.status_code == 400 and "confirmation_id" in missing.json()["errors"]
    assert [made_up.status_code, changed.status_code, elsewhere.status_code] == [409, 409, 409]
    assert not_boolean.status_code == 400 and not_boolean.json()["errors"]["confirm"]
    assert _posts(sandbox) == [] and _writes(sandbox) == []


def test_a_controlled_substance_is_handed_to_the_pharmacy(api, writable_site, sandbox, patient, cases):
    call_id = verified_call(api, patient)

    answer = _refill(api, call_id, {"medication_id": cases["controlled_substance"], "confirm": False})

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "escalate" and "oxycodone" in body["say"] and "pharmacy" in body["say"]
    assert "confirmation_id" not in body and _posts(sandbox) == []


def test_no_refills_left_becomes_a_renewal_request(api, writable_site, sandbox, patient, cases):
    medication = cases["no_refills"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    assert asked["data"]["kind"] == "renewal" and "no refills left" in asked["say"] and "renew" in asked["say"]

    sent = _refill(
        api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )

    assert sent.status_code == 201, (sent.content, list(StaffRequest.objects.values_list("reason")))
    (task,) = _writes(sandbox)
    assert task["code"]["text"].startswith("Renewal") and _about(task) == f"MedicationRequest/{medication}"


def test_an_inactive_or_unknown_medication_is_refused_with_a_say(api, writable_site, sandbox):
    complete = sandbox.hard_cases()["complete"]
    call_id = verified_call(api, next(p for p in sandbox.patients() if p["id"] == complete))
    stopped = _read_back(api, call_id, sandbox.hard_cases()["stopped_medication"])
    unknown = _read_back(api, call_id, "no-such-prescription")

    assert (stopped["status"], stopped["reason"]) == ("refused", "inactive_medication")
    assert (unknown["status"], unknown["reason"]) == ("refused", "unknown_medication")
    assert stopped["say"] and unknown["say"]


def test_a_site_that_creates_only_communications_gets_one(api, writable_site, sandbox, patient, cases):
    set_writes(writable_site, sandbox, writes="communication")
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)

    sent = _refill(
        api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )

    assert sent.status_code == 201 and sent.json()["data"]["route"] == "Communication"
    assert [(w["resourceType"], _about(w)) for w in _writes(sandbox)] == [
        ("Communication", f"MedicationRequest/{medication}")
    ]


def test_a_site_without_writes_queues_the_request_for_staff(api, writable_site, sandbox, patient, admin_client, cases):
    set_writes(writable_site, sandbox, writes="none")
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    assert asked["data"]["route"] == "staff_queue" and "our staff" in asked["say"]

    queued = _refill(
        api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )

    assert queued.status_code == 200 and queued.json()["data"]["state"] == "queued"
    assert "staff" in queued.json()["say"] and "sent" not in queued.json()["say"]
    assert _posts(sandbox) == []
    request = StaffRequest.objects.get()
    assert request.about == f"MedicationRequest/{medication}"
    page = admin_client.get("/admin/calls/staffrequest/")
    assert page.status_code == 200 and f"MedicationRequest/{medication}" in page.content.decode()


def test_a_site_names_the_task_owner_the_turnaround_and_medicines_it_excludes(
    api, writable_site, sandbox, patient, cases
):
    set_write_settings(
        writable_site,
        {
            "task_owner": "Organization/refill-desk",
            "turnaround": "the refill desk answers the same day",
            "excluded_medications": [{"rxnorm": "0", "name": "lisinopril"}],
        },
    )
    call_id = verified_call(api, patient)
    medication = cases["refillable"]
    asked = _read_back(api, call_id, medication)
    sent = _refill(
        api, call_id, {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["say"].endswith("; the refill desk answers the same day.")
    (task,) = _writes(sandbox)
    assert task["owner"] == {"reference": "Organization/refill-desk"}

    set_write_settings(
        writable_site, {"excluded_medications": [{"rxnorm": "0", "name": asked["say"].split("your ")[1].split()[0]}]}
    )
    excluded = _refill(api, call_id, {"medication_id": medication, "confirm": False})
    assert excluded.json()["status"] == "escalate" and "pharmacy" in excluded.json()["say"]
    assert len(_posts(sandbox)) == 1


@pytest.mark.parametrize("status", [500, 409])
def test_a_refused_or_failed_write_says_nothing_was_sent_and_a_retry_sends_it_once(
    api, writable_site, sandbox, patient, cases, status
):
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, medication)
    confirm = {"medication_id": medication, "confirm": True, "confirmation_id": asked["confirmation_id"]}
    sandbox.add_fault("/fhir/Task", error_rate=1.0, error_status=status)

    failed = _refill(api, call_id, confirm)
    sandbox.clear_faults()
    assert failed.status_code == 503 and failed.json()["reason"] == "write_unconfirmed", failed.content
    assert "haven't sent it as done" in failed.json()["say"] and _writes(sandbox) == []
    follow_up = StaffRequest.objects.get()
    assert follow_up.status == "open" and follow_up.reason.startswith("the EHR write is not confirmed")

    retried = _refill(api, call_id, confirm)

    assert retried.status_code == 201, retried.content
    assert len(_writes(sandbox)) == 1
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and "later retry" in follow_up.reason  # staff are not asked to do it twice
