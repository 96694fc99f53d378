"""An attacker's look at the two write tools (issue 21): refill requests and care-team messages.

Each test is one attempt by a caller, another agent client, a buggy or hostile agent backend, or
someone reading Redis or the database; over HTTP against the sandbox EHR. A test that passes
documents a guarantee; an xfail names a defect not yet fixed.
"""

import json
import logging
import time
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from django.db import connection
from django_redis import get_redis_connection

from audit.models import AuditRecord
from calls.models import StaffRequest
from ehr_integrations.models import EHRConnection
from tests import builders
from tests.calls import test_refill_requests
from tests.calls.conftest import verified_call, verify
from tests.calls.ehr_writes import creates, make_writable, set_writes, written
from tests.calls.hostile_ehr import Answer, HostileEHR

# The refill tests' fixtures: a writable site, the refill hard cases and their patient.
writable_site, cases, patient = (
    test_refill_requests.writable_site,
    test_refill_requests.cases,
    test_refill_requests.patient,
)
MARKER = "zq9abuse-marker"  # unique words: PHI that must reach only the EHR's resource


def _post(api, call_id: str, tool: str, body: dict, **headers):
    return api.post(f"/api/v1/calls/{call_id}/{tool}", body, format="json", **headers)


def _refill_id(api, call_id: str, medication: str) -> str:
    asked = _post(api, call_id, "refill-requests", {"medication_id": medication, "confirm": False})
    assert asked.status_code == 200 and asked.json()["status"] == "confirm", asked.content
    return asked.json()["confirmation_id"]


def _message_id(api, call_id: str, text: str, topic: str = "clinic") -> str:
    asked = _post(api, call_id, "care-team-messages", {"topic": topic, "text": text, "confirm": False})
    assert asked.status_code == 200 and asked.json()["status"] == "confirm", asked.content
    return asked.json()["confirmation_id"]


def _send(api, call_id: str, text: str, topic: str = "clinic"):
    body = {"topic": topic, "text": text, "confirm": True, "confirmation_id": _message_id(api, call_id, text, topic)}
    return _post(api, call_id, "care-team-messages", body)


def test_a_confirmation_id_works_only_on_its_own_call_tool_and_client(api, writable_site, sandbox, patient, cases):
    medication = cases["refillable"]
    call_id = verified_call(api, patient)
    refill_id = _refill_id(api, call_id, medication)
    message_id = _message_id(api, call_id, "please call me back")
    intruder = builders.agent_client("Other Voice", writable_site)
    other = api.__class__()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {intruder.api_key}")

    as_message = _post(
        api,
        call_id,
        "care-team-messages",
        {"topic": "clinic", "text": "please call me back", "confirm": True, "confirmation_id": refill_id},
    )
    as_refill = _post(
        api, call_id, "refill-requests", {"medication_id": medication, "confirm": True, "confirmation_id": message_id}
    )
    by_other_client = _post(
        other, call_id, "refill-requests", {"medication_id": medication, "confirm": True, "confirmation_id": refill_id}
    )

    elsewhere = verified_call(api, patient)
    first = _post(api, call_id, "refill-requests", {"medication_id": medication, "confirm": False},
                  HTTP_IDEMPOTENCY_KEY="same-key")  # fmt: skip
    reused = _post(api, elsewhere, "refill-requests", {"medication_id": medication, "confirm": False},
                   HTTP_IDEMPOTENCY_KEY="same-key")  # fmt: skip

    assert [as_message.status_code, as_refill.status_code] == [409, 409]
    # another call's answer is never replayed under the same key
    assert first.status_code == 200 and reused.status_code == 409 and "idempotency_key" in reused.json()["errors"]
    assert by_other_client.status_code == 404 and by_other_client["Content-Type"] == "application/json"
    assert creates(sandbox) == [] and written(sandbox) == []


def test_a_verified_call_cannot_become_another_patient_to_redeem_a_confirmation(
    api, writable_site, sandbox, patient, cases
):
    call_id = verified_call(api, patient)
    confirmation_id = _refill_id(api, call_id, cases["refillable"])
    other = next(p for p in sandbox.patients() if p["id"] != patient["id"])

    again = verify(api, call_id, date_of_birth=other["birth_date"], mrn=other["mrn"])
    sent = _post(
        api,
        call_id,
        "refill-requests",
        {"medication_id": cases["refillable"], "confirm": True, "confirmation_id": confirmation_id},
    )

    assert again.json()["status"] == "verified"  # already verified: the identity does not change
    assert sent.status_code == 201, sent.content
    (task,) = written(sandbox)
    assert task["for"] == {"reference": f"Patient/{patient['id']}"}


def test_a_confirm_after_the_call_ended_writes_nothing(api, writable_site, sandbox, patient, cases):
    call_id = verified_call(api, patient)
    refill_id = _refill_id(api, call_id, cases["refillable"])
    message_id = _message_id(api, call_id, "please call me back")

    assert api.post(f"/api/v1/calls/{call_id}/end", {}, format="json").status_code == 200
    refill = _post(
        api,
        call_id,
        "refill-requests",
        {"medication_id": cases["refillable"], "confirm": True, "confirmation_id": refill_id},
    )
    message = _post(
        api,
        call_id,
        "care-team-messages",
        {"topic": "clinic", "text": "please call me back", "confirm": True, "confirmation_id": message_id},
    )

    assert refill.status_code == message.status_code == 410, (refill.content, message.content)
    assert refill.json()["status"] == message.json()["status"] == "ended"
    assert creates(sandbox) == []


def test_someone_elses_or_a_crafted_medication_id_is_refused_with_json(api, writable_site, sandbox, patient, cases):
    call_id = verified_call(api, patient)
    others = [p for p in sandbox.patients() if p["id"] != patient["id"]]
    foreign = sandbox.hard_cases()["complete"]
    assert foreign != patient["id"] and others
    bundle = sandbox.fhir_get("MedicationRequest", {"patient": foreign})
    foreign_medication = bundle["entry"][0]["resource"]["id"]

    answers = {
        value: _post(api, call_id, "refill-requests", {"medication_id": value, "confirm": False})
        for value in (foreign_medication, ".", "..", "x" * 64)
    }
    crafted = [
        _post(api, call_id, "refill-requests", {"medication_id": value, "confirm": False})
        for value in ("../Patient/" + patient["id"], "a?subject=x", "a b", "", None, "x" * 65)
    ]

    for value, answer in answers.items():
        assert answer.status_code == 200, (value, answer.content)
        assert answer.json()["status"] == "refused" and answer.json()["reason"] == "unknown_medication", value
    assert [a.status_code for a in crafted] == [400] * len(crafted)
    assert all("medication_id" in a.json()["errors"] for a in crafted)
    assert creates(sandbox) == []


def test_confirms_sent_at_once_write_one_task_without_conditional_create(gateway, agent, site, sandbox, patient, cases):
    make_writable(site, sandbox)
    set_writes(site, sandbox, conditional_create="absent")  # search before create: the racy route
    medication = cases["refillable"]
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        call_id = http.post("/api/v1/calls", json={"health_system": "riverside"}).json()["data"]["call_id"]
        verified = http.post(
            f"/api/v1/calls/{call_id}/verify", json={"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        )
        assert verified.json()["status"] == "verified", verified.content
        asked = http.post(
            f"/api/v1/calls/{call_id}/refill-requests", json={"medication_id": medication, "confirm": False}
        )
        body = {"medication_id": medication, "confirm": True, "confirmation_id": asked.json()["confirmation_id"]}
        sandbox.add_fault("/fhir/Task*", latency_ms=400)  # every search and create in flight at once
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(lambda _: http.post(f"/api/v1/calls/{call_id}/refill-requests", json=body), range(4))
            )
        sandbox.clear_faults()
        after = http.post(f"/api/v1/calls/{call_id}/refill-requests", json=body)

    assert len(written(sandbox)) == 1, [a.json().get("reason") for a in answers]
    assert all(a.status_code in (200, 201, 503) for a in answers), [a.content for a in answers]
    assert after.status_code == 200 and after.json()["data"]["state"] == "sent", after.content


@pytest.mark.parametrize(
    "text",
    [
        "I've had chest pains since this morning",
        "my husband had a few seizures overnight",
        "I cant breathe when I lie down",
        "I have \uff43\uff48\uff45\uff53\uff54 \uff50\uff41\uff49\uff4e",  # full-width letters
        "se\u0301ve\u0300re bleeding",  # combining accents
        "chest\u200bpain and dizzy",  # a zero-width space between the words
    ],
)
def test_urgent_words_are_caught_however_they_are_written(api, writable_site, sandbox, patient, text):
    answer = _post(
        api, verified_call(api, patient), "care-team-messages", {"topic": "clinic", "text": text, "confirm": False}
    )

    assert answer.status_code == 200 and answer.json()["status"] == "escalate", (text, answer.content)
    assert "911" in answer.json()["say"] and creates(sandbox) == []


def test_the_same_words_in_another_unicode_form_or_spacing_are_one_message(api, writable_site, sandbox, patient):
    call_id = verified_call(api, patient)
    composed = unicodedata.normalize("NFC", f"Is my café visit {MARKER} covered")

    first = _send(api, call_id, composed)
    spaced = _send(api, call_id, "  " + composed.replace(" ", "\t  ") + "\n")
    decomposed = _send(api, call_id, unicodedata.normalize("NFD", composed))

    assert first.status_code == 201, first.content
    assert [spaced.status_code, decomposed.status_code] == [200, 200], (spaced.content, decomposed.content)
    assert (
        spaced.json()["data"]["reference"]
        == decomposed.json()["data"]["reference"]
        == first.json()["data"]["reference"]
    )
    assert len(written(sandbox)) == 1


def test_the_per_call_message_limit_holds_against_new_words_and_new_confirmations(api, writable_site, sandbox, patient):
    call_id = verified_call(api, patient)
    sent = [_send(api, call_id, f"question number {n}") for n in range(3)]
    over = _send(api, call_id, "question number 3")
    case_changed = _send(api, call_id, "QUESTION NUMBER 0")  # other words: a new message, over the limit
    resent = _send(api, call_id, "question number 1")  # a new confirmation of a sent message: not a new write

    assert [s.status_code for s in sent] == [201, 201, 201]
    assert over.status_code == case_changed.status_code == 200
    assert over.json()["status"] == case_changed.json()["status"] == "refused"
    assert over.json()["reason"] == "write_limit" and "staff" in over.json()["say"]
    assert resent.status_code == 200 and resent.json()["data"]["reference"] == sent[1].json()["data"]["reference"]
    assert len(written(sandbox)) == 3
    other_call = verified_call(api, patient)  # the limit is per call: a new call may write again
    assert _send(api, other_call, "question number 3").status_code == 201


def test_no_phi_in_redis_the_logs_the_audit_rows_or_the_staff_queue_s_plain_fields(
    api, writable_site, sandbox, patient, cases, caplog
):
    caplog.set_level(logging.DEBUG)
    call_id = verified_call(api, patient)
    medication = cases["refillable"]
    refill_id = _refill_id(api, call_id, medication)
    note = f"the blue bottle {MARKER}"
    body = {"medication_id": medication, "note": note, "confirm": False}
    asked = _post(api, call_id, "refill-requests", body)
    sent = _post(
        api,
        call_id,
        "refill-requests",
        {**body, "confirm": True, "confirmation_id": asked.json()["confirmation_id"]},
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert refill_id and sent.status_code == 201, sent.content
    set_writes(writable_site, sandbox, writes="none")  # the next message goes to the staff queue
    queued = _send(api, call_id, f"my knee {MARKER} question")
    assert queued.status_code == 200 and queued.json()["data"]["state"] == "queued", queued.content

    redis = get_redis_connection("default")
    raw = b"".join(k + (redis.dump(k) or b"") for k in redis.scan_iter(count=1000))
    secrets = [MARKER, patient["mrn"], patient["birth_date"], "atorvastatin", "blue bottle"]
    assert [s for s in secrets if s.encode() in raw.lower() or s.encode() in raw] == []
    assert patient["id"].encode() not in b"".join(redis.scan_iter(count=1000))  # keys name no patient
    audit = " ".join(str(r) for r in AuditRecord.objects.values_list())
    staff = " ".join(str(r) for r in StaffRequest.objects.values_list())
    assert MARKER not in audit and MARKER not in staff and "knee" not in staff
    assert all(MARKER not in str(e) for e in sandbox.requests())
    assert MARKER not in caplog.text and "blue bottle" not in caplog.text


def test_malformed_bodies_answer_a_json_400_naming_the_field(api, writable_site, sandbox, patient):
    call_id = verified_call(api, patient)
    attempts = {
        "refill-requests": [
            ({"medication_id": "a", "confirm": False, "note": "x" * 201}, "note"),
            ({"medication_id": "a", "confirm": "true"}, "confirm"),
            ({"medication_id": "a", "confirm": True, "confirmation_id": ["a"]}, "confirmation_id"),
        ],
        "care-team-messages": [
            ({"topic": "Billing", "text": "hi", "confirm": False}, "topic"),
            ({"topic": "billing", "text": "x" * 501, "confirm": False}, "text"),
            ({"topic": "billing", "text": "   \n\t ", "confirm": False}, "text"),
            ({"topic": "billing", "text": {"a": 1}, "confirm": False}, "text"),
            ({"topic": "nosuchtopic", "text": "hi", "confirm": False}, "topic"),
        ],
    }
    for tool, bodies in attempts.items():
        for body, field in bodies:
            answer = _post(api, call_id, tool, body)
            assert answer.status_code == 400 and field in answer.json()["errors"], (tool, body, answer.content)
        garbled = api.generic("POST", f"/api/v1/calls/{call_id}/{tool}", b"{not json", content_type="application/json")
        assert garbled.status_code == 400 and garbled["Content-Type"] == "application/json", garbled.content
    assert creates(sandbox) == []


@pytest.fixture
def hostile(writable_site, sandbox):
    """The site's FHIR base behind a proxy that can rewrite what the EHR answers."""
    ehr = HostileEHR(sandbox.fhir_url)
    writable_site.fhir_base_url = ehr.fhir_url
    writable_site.save()
    yield ehr
    ehr.stop()


def _other_patient(sandbox, patient: dict) -> str:
    return next(p["id"] for p in sandbox.patients() if p["id"] != patient["id"])


def _json_change(**fields) -> Callable[[Answer], Answer]:
    def change(answer: Answer) -> Answer:
        return answer.replace(body=json.dumps({**json.loads(answer.body), **fields}).encode())

    return change


def _confirmed_refill(api, call_id: str, medication: str):
    body = {"medication_id": medication, "confirm": True, "confirmation_id": _refill_id(api, call_id, medication)}
    return _post(api, call_id, "refill-requests", body)


@pytest.mark.parametrize(
    "method, path, change",
    [
        ("POST", "/fhir/Task", _json_change(id="not-ours-1")),  # names a resource it did not write
        ("POST", "/fhir/Task", lambda a: a.replace(status=201, body=b"{}", headers={
            "Content-Type": "application/fhir+json", "Location": "http://127.0.0.1:9/fhir/Task/elsewhere"})),
        ("GET", "/fhir/Task/", _json_change(focus={"reference": "MedicationRequest/someone-elses"})),
        ("GET", "/fhir/Task/", lambda a: a.replace(status=200, body=b"<html>oops</html>",
                                                    headers={"Content-Type": "text/html"})),
        ("GET", "/fhir/Task/", "for another patient"),
    ],
    ids=["created-another-id", "201-without-id", "read-back-other-focus", "read-back-html", "read-back-other-patient"],
)  # fmt: skip
def test_an_ehr_that_answers_the_write_with_something_else_never_yields_a_sent(
    api, hostile, sandbox, patient, cases, method, path, change
):
    if change == "for another patient":
        change = _json_change(**{"for": {"reference": f"Patient/{_other_patient(sandbox, patient)}"}})
    call_id = verified_call(api, patient)
    hostile.tamper(method, path, change)

    answer = _confirmed_refill(api, call_id, cases["refillable"])

    assert answer.status_code == 503 and answer["Content-Type"] == "application/json", answer.content
    assert answer.json()["reason"] == "write_unconfirmed" and "haven't sent it as done" in answer.json()["say"]
    assert StaffRequest.objects.get().status == "open"
    outcomes = list(AuditRecord.objects.filter(action="create").order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["write_requested", "write_failed"]


def test_a_slow_drip_answer_is_cut_at_the_deadline_and_settled_by_a_search(api, hostile, sandbox, patient, cases):
    call_id = verified_call(api, patient)
    EHRConnection.objects.filter(health_system__slug="riverside").update(request_deadline_s=1.5)
    hostile.tamper("POST", "/fhir/Task", lambda a: a.replace(drip_s=0.05))  # about a minute for one Task
    started = time.monotonic()

    answer = _confirmed_refill(api, call_id, cases["refillable"])

    assert time.monotonic() - started < 12  # the deadline (1.5 s), the search, the read-back; not the drip
    assert answer.status_code == 200 and answer.json()["data"]["state"] == "sent", answer.content  # found by search
    assert len(written(sandbox)) == 1


def test_a_huge_answer_to_the_write_is_refused_not_buffered(api, hostile, sandbox, patient, cases, caplog):
    call_id = verified_call(api, patient)
    hostile.tamper("POST", "/fhir/Task", _json_change(text={"status": "generated", "div": "x" * (48 << 20)}))

    answer = _confirmed_refill(api, call_id, cases["refillable"])

    # The 48 MB answer is cut off at EHR_MAX_RESPONSE_BYTES (16 MB) and the write settled by its identifier.
    assert answer.status_code == 200 and answer.json()["data"]["state"] == "sent", answer.status_code
    assert len(written(sandbox)) == 1
    assert "response_too_large" in caplog.text


def _without_ids(answer: Answer) -> Answer:
    bundle = json.loads(answer.body)
    for e in bundle.get("entry") or []:
        e["resource"].pop("id", None)
    return answer.replace(body=json.dumps(bundle).encode())


def test_a_search_that_finds_the_write_without_an_id_is_in_doubt_not_a_500(
    api, writable_site, hostile, sandbox, patient, cases
):
    set_writes(writable_site, sandbox, conditional_create="absent")
    call_id = verified_call(api, patient)
    body = {"medication_id": cases["refillable"], "confirm": True}
    body["confirmation_id"] = _refill_id(api, call_id, cases["refillable"])
    assert _post(api, call_id, "refill-requests", body).status_code == 201
    for method, path in (("POST", "/fhir/Task/_search"), ("GET", "/fhir/Task")):
        hostile.tamper(method, path, _without_ids)

    again = _post(api, call_id, "refill-requests", body)

    assert again.status_code == 503 and again.json()["reason"] == "write_unconfirmed", again.content
    assert len(written(sandbox)) == 1


def test_a_communication_read_back_with_a_malformed_about_is_in_doubt_not_a_500(
    api, writable_site, hostile, sandbox, patient, cases
):
    set_writes(writable_site, sandbox, writes="communication")
    call_id = verified_call(api, patient)
    about = {"reference": f"MedicationRequest/{cases['refillable']}"}
    hostile.tamper("GET", "/fhir/Communication/", _json_change(about=about))  # an object where a list belongs

    answer = _confirmed_refill(api, call_id, cases["refillable"])

    assert answer.status_code == 503 and answer.json()["reason"] == "write_unconfirmed", answer.content


@contextmanager
def _audit_refuses(outcome: str) -> Iterator[None]:
    """The PHI access log refuses only records of this outcome (a trigger, as tests/audit/unwritable.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION abuse_refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit log unwritable (test)'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER abuse_refuse_insert BEFORE INSERT ON audit_auditrecord FOR EACH ROW"
            f" WHEN (NEW.outcome = '{outcome}') EXECUTE FUNCTION abuse_refuse_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS abuse_refuse_insert ON audit_auditrecord")


def test_an_audit_log_down_before_the_write_keeps_it_from_the_ehr(api, writable_site, sandbox, patient, cases):
    call_id = verified_call(api, patient)
    body = {"medication_id": cases["refillable"], "confirm": True}
    body["confirmation_id"] = _refill_id(api, call_id, cases["refillable"])

    with _audit_refuses("write_requested"):
        refused = _post(api, call_id, "refill-requests", body)
    retried = _post(api, call_id, "refill-requests", body)

    assert refused.status_code == 503 and refused.json()["reason"] == "audit_unavailable", refused.content
    assert "sent" not in refused.json()["say"]
    assert retried.status_code == 201 and [e["status"] for e in creates(sandbox)] == [201]


def test_an_audit_log_down_after_a_failed_write_still_leaves_the_staff_follow_up(
    api, writable_site, sandbox, patient, cases
):
    call_id = verified_call(api, patient)
    text = "please call me about my forms"
    body = {
        "topic": "records",
        "text": text,
        "confirm": True,
        "confirmation_id": _message_id(api, call_id, text, "records"),
    }
    sandbox.add_fault("/fhir/Communication", error_rate=1.0, error_status=500)

    with _audit_refuses("write_failed"):
        answer = _post(api, call_id, "care-team-messages", body)
    sandbox.clear_faults()

    assert answer.status_code == 503 and "sent" not in answer.json()["say"], answer.content
    follow_up = StaffRequest.objects.get()  # a write in doubt is never left without one
    assert follow_up.status == "open" and follow_up.kind == "message"


def test_ending_the_call_erases_its_pending_confirmations(api, writable_site, patient, cases):
    call_id = verified_call(api, patient)
    _refill_id(api, call_id, cases["refillable"])
    _message_id(api, call_id, f"my {MARKER} question")

    assert api.post(f"/api/v1/calls/{call_id}/end", {}, format="json").status_code == 200

    left = [k for k in get_redis_connection("default").scan_iter(match=f"*{call_id}*", count=1000)]
    assert left == []  # the confirmations lived in the call's store, shredded with it
