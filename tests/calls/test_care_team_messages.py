"""Messages to the care team over HTTP against the sandbox EHR (issue 21, the message half)."""

import logging

import pytest
from django.db import connection

from audit.models import AuditRecord
from calls.models import StaffRequest
from tests.calls.conftest import verified_call
from tests.calls.ehr_writes import creates, make_writable, set_write_settings, set_writes, written

MARKER = "zq7marker-knee-question"  # unique words: PHI that must reach only the EHR's resource


@pytest.fixture
def writable_site(site, sandbox):
    make_writable(site, sandbox)
    return site


def _message(api, call_id: str, body: dict, **headers):
    return api.post(f"/api/v1/calls/{call_id}/care-team-messages", body, format="json", **headers)


def _read_back(api, call_id: str, topic: str, text: str) -> dict:
    answer = _message(api, call_id, {"topic": topic, "text": text, "confirm": False})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _confirm(api, call_id: str, topic: str, text: str, confirmation_id: str, **headers):
    body = {"topic": topic, "text": text, "confirm": True, "confirmation_id": confirmation_id}
    return _message(api, call_id, body, **headers)


def test_a_message_confirmed_three_times_is_one_communication(api, writable_site, sandbox, patient, caplog):
    caplog.set_level(logging.DEBUG)
    text = f"Can Dr. Patel call me back about my {MARKER} before Friday"
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "clinic", text)
    assert asked["status"] == "confirm" and asked["data"] == {"topic": "clinic", "route": "Communication"}
    assert asked["say"].startswith("I'll send your care team a message about a question for the clinic")
    assert asked["say"].endswith('before Friday". Shall I send it?')
    assert creates(sandbox) == []  # the read-back wrote nothing

    first = _confirm(api, call_id, "clinic", text, asked["confirmation_id"], HTTP_IDEMPOTENCY_KEY="msg-1")
    replayed = _confirm(api, call_id, "clinic", text, asked["confirmation_id"], HTTP_IDEMPOTENCY_KEY="msg-1")
    again = _confirm(api, call_id, "clinic", text, asked["confirmation_id"])

    assert first.status_code == 201, first.content
    assert (
        first.json()["say"] == "Your message was sent to your care team; they usually answer within two business days."
    )
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert again.status_code == 200 and again.json()["data"]["reference"] == first.json()["data"]["reference"]
    (message,) = written(sandbox)
    assert message["resourceType"] == "Communication" and message["payload"] == [{"contentString": text}]
    assert message["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert first.json()["data"]["reference"] == f"Communication/{message['id']}"
    records = AuditRecord.objects.filter(action="create").values_list("outcome", flat=True)
    assert list(records.order_by("id")) == ["write_requested", "write_confirmed", "write_requested", "write_confirmed"]
    assert MARKER not in caplog.text
    assert all(MARKER not in str(e) for e in sandbox.requests())  # no words in any URL or log entry


def test_a_long_message_is_read_back_by_its_first_words(api, writable_site, patient):
    text = " ".join(f"word{n}" for n in range(40))
    asked = _read_back(api, verified_call(api, patient), "billing", text)
    assert 'word14 and so on". Shall I send it?' in asked["say"] and "word15" not in asked["say"]


def test_an_urgent_message_is_not_sent_but_routed_to_the_clinical_line(api, writable_site, sandbox, patient):
    call_id = verified_call(api, patient)

    answer = _message(
        api, call_id, {"topic": "clinic", "text": "I have CHEST PAIN since this morning", "confirm": False}
    )
    urged = _message(api, call_id, {"topic": "clinic", "text": "my son says he wants to kill myself", "confirm": True,
                                    "confirmation_id": "0" * 32})  # fmt: skip

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "escalate" and "911" in body["say"] and body["transfer"]["purpose"] == "clinical"
    assert "confirmation_id" not in body
    assert urged.json()["status"] == "escalate"  # checked before any confirmation id
    assert creates(sandbox) == [] and written(sandbox) == []
    assert AuditRecord.objects.filter(action="create", outcome="escalated").count() == 2


def test_a_site_adds_urgent_words_and_its_own_topics(api, writable_site, sandbox, patient):
    set_write_settings(
        writable_site, {"urgent_words": ["black stool"], "message_topics": {"forms": "a question about a form"}}
    )
    call_id = verified_call(api, patient)

    urgent = _message(api, call_id, {"topic": "forms", "text": "I noticed black stool today", "confirm": False})
    shipped_topic = _message(api, call_id, {"topic": "billing", "text": "a question", "confirm": False})
    own_topic = _read_back(api, call_id, "forms", "Which form do I need for work?")

    assert urgent.json()["status"] == "escalate"
    assert shipped_topic.status_code == 400 and "forms" in shipped_topic.json()["errors"]["topic"]
    assert "a question about a form" in own_topic["say"]


def test_without_confirm_and_a_valid_confirmation_id_nothing_is_sent(api, writable_site, sandbox, patient):
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "records", "Please send my records to my new doctor")

    missing = _message(api, call_id, {"topic": "records", "text": "Please send my records to my new doctor",
                                      "confirm": True})  # fmt: skip
    changed = _confirm(api, call_id, "records", "Please send my records to someone else", asked["confirmation_id"])
    too_long = _message(api, call_id, {"topic": "records", "text": "x" * 501, "confirm": False})
    unknown_topic = _message(api, call_id, {"topic": "gossip", "text": "hello", "confirm": False})

    assert missing.status_code == 400 and missing.json()["errors"]["confirmation_id"]
    assert changed.status_code == 409
    assert too_long.status_code == 400 and too_long.json()["errors"]["text"]
    assert unknown_topic.status_code == 400 and "clinic" in unknown_topic.json()["errors"]["topic"]
    assert creates(sandbox) == [] and written(sandbox) == []


def test_a_timeout_after_the_write_committed_still_sends_once(api, writable_site, sandbox, patient):
    set_writes(writable_site, sandbox, conditional_create="absent")
    text = "Is my appointment still on for Tuesday"
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "clinic", text)
    sandbox.add_fault("/fhir/Communication", hang_after_commit=True)

    answer = _confirm(api, call_id, "clinic", text, asked["confirmation_id"])
    sandbox.clear_faults()
    retried = _confirm(api, call_id, "clinic", text, asked["confirmation_id"])

    assert answer.status_code == 200 and answer.json()["data"]["state"] == "sent", answer.content
    assert retried.json()["data"]["reference"] == answer.json()["data"]["reference"]
    assert len(written(sandbox)) == 1
    assert [e["fault"] for e in creates(sandbox)] == ["hang_after_commit"]


def test_a_site_that_takes_only_tasks_gets_a_task_for_its_recipient(api, writable_site, sandbox, patient):
    set_writes(writable_site, sandbox, writes="task")
    set_write_settings(
        writable_site, {"message_recipient": "Organization/clinic-inbox", "turnaround": "the clinic answers by noon"}
    )
    text = "Please ask the nurse about my lab results"
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "clinic", text)

    sent = _confirm(api, call_id, "clinic", text, asked["confirmation_id"])

    assert sent.status_code == 201 and sent.json()["data"]["route"] == "Task", sent.content
    assert sent.json()["say"].endswith("the clinic answers by noon.")
    (task,) = written(sandbox)
    assert task["description"] == text and task["owner"] == {"reference": "Organization/clinic-inbox"}
    assert "focus" not in task and task["for"] == {"reference": f"Patient/{patient['id']}"}


def test_a_site_without_writes_queues_the_message_encrypted(api, writable_site, sandbox, patient, admin_client):
    set_writes(writable_site, sandbox, writes="none")
    text = f"Question about my {MARKER}"
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "clinic", text)
    assert asked["data"]["route"] == "staff_queue" and "our staff" in asked["say"]

    queued = _confirm(api, call_id, "clinic", text, asked["confirmation_id"])

    assert queued.status_code == 200 and queued.json()["data"]["state"] == "queued", queued.content
    assert "staff" in queued.json()["say"] and "sent" not in queued.json()["say"]
    assert creates(sandbox) == []
    request = StaffRequest.objects.get()
    assert (request.kind, request.about, request.detail) == ("message", "topic:clinic", text)
    with connection.cursor() as cursor:
        cursor.execute("SELECT detail_encrypted FROM calls_staffrequest")
        assert MARKER not in cursor.fetchone()[0]  # encrypted at rest
    page = admin_client.get(f"/admin/calls/staffrequest/{request.pk}/change/")
    assert page.status_code == 200 and MARKER in page.content.decode()  # staff can read it


def test_an_unverified_call_writes_nothing(api, writable_site, sandbox):
    from tests.calls.conftest import open_call

    call_id = open_call(api)
    answer = _message(api, call_id, {"topic": "clinic", "text": "hello", "confirm": False})
    assert answer.status_code in (401, 403) and answer.json()["status"] == "not_verified"
    assert creates(sandbox) == []


def test_only_front_desk_staff_read_a_queued_message(api, writable_site, sandbox, patient, client, onboarding_engineer):
    from django.contrib.auth.models import Group, User

    from compliance.roles import FRONT_DESK

    set_writes(writable_site, sandbox, writes="none")
    text = f"Please call me about my {MARKER}"
    call_id = verified_call(api, patient)
    asked = _read_back(api, call_id, "clinic", text)
    assert _confirm(api, call_id, "clinic", text, asked["confirmation_id"]).status_code == 200
    request = StaffRequest.objects.get()
    page = f"/admin/calls/staffrequest/{request.pk}/change/"
    desk = User.objects.create_user("desk", password="x", is_staff=True)
    desk.groups.add(Group.objects.get(name=FRONT_DESK))

    client.force_login(onboarding_engineer)
    assert MARKER not in client.get(page).content.decode()  # sees the request, not the words
    client.force_login(desk)
    assert MARKER in client.get(page).content.decode()
    (reading,) = AuditRecord.objects.filter(agent_client="staff:desk")  # the reading is in the access log
    assert (reading.action, reading.patient_reference, reading.purpose) == ("read", patient["id"], "staff_follow_up")
    assert reading.resource_ids == [f"StaffRequest/{request.pk}"] and MARKER not in str(reading.__dict__)
    assert client.get("/admin/ehr_integrations/healthsystem/").status_code == 403
    done = client.post(page, {"status": "done"})
    assert done.status_code == 302, done.content.decode()[:500]
    request.refresh_from_db()
    assert request.status == "done"


def test_a_call_cannot_flood_the_care_team_but_a_retry_is_never_refused(api, writable_site, sandbox, patient, settings):
    settings.WRITES_PER_CALL = {**settings.WRITES_PER_CALL, "care-team-messages": 2}
    call_id = verified_call(api, patient)
    answers = []
    for n in range(3):
        text = f"Message number {n}"
        asked = _read_back(api, call_id, "clinic", text)
        answers.append(_confirm(api, call_id, "clinic", text, asked["confirmation_id"]))
    first_again = _read_back(api, call_id, "clinic", "Message number 0")
    retried = _confirm(api, call_id, "clinic", "Message number 0", first_again["confirmation_id"])

    assert [a.status_code for a in answers] == [201, 201, 200]
    assert (answers[2].json()["status"], answers[2].json()["reason"]) == ("refused", "write_limit")
    assert retried.status_code == 200 and retried.json()["data"]["state"] == "sent"  # the same message: no new write
    assert len(written(sandbox)) == 2
    other_call = verified_call(api, patient)  # the limit is per call
    asked = _read_back(api, other_call, "clinic", "A new call's message")
    assert _confirm(api, other_call, "clinic", "A new call's message", asked["confirmation_id"]).status_code == 201
