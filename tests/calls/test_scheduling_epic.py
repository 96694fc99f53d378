"""Scheduling on the Epic flavour (issue 22): the Argonaut `$find`, `$hold` and `$book` on its STU3
endpoint, chosen because its R4 API offers no Slot search and the connection names a STU3 base."""

import pytest

from calls.models import StaffRequest
from ehr_integrations.models import EHRConnection, SchedulingRules
from ehr_integrations.setup.connection_check import record_statement
from tests.calls.conftest import SCOPES, SECRET, verified_call, wait_for_prefetch
from tests.calls.test_scheduling import flavoured, rules_for

EPIC_SCOPES = [*SCOPES, "system/Appointment.write"]


@pytest.fixture
def sandbox(sandbox_factory):
    yield from flavoured(sandbox_factory, "epic")


@pytest.fixture
def epic_site(site, sandbox):
    sandbox.register_client("gw-riverside", scopes=EPIC_SCOPES, auth="client_secret_basic", secret=SECRET)
    EHRConnection.objects.filter(health_system=site).update(
        scopes=" ".join(EPIC_SCOPES), scheduling_stu3_base_url=f"{sandbox.base_url}/api/FHIR/STU3"
    )
    record_statement(site, sandbox.fhir_get("metadata"))
    SchedulingRules.objects.create(health_system=site, rules=rules_for(sandbox))
    return site


def _offers(api, call_id: str) -> list[dict]:
    answer = api.get(f"/api/v1/calls/{call_id}/slots", {"visit_type": "follow-up"}).json()
    assert answer["status"] == "ok", answer
    return answer["data"]


def _book(api, call_id: str, body: dict):
    return api.post(f"/api/v1/calls/{call_id}/appointments", body, format="json")


def _operations(sandbox) -> list[str]:
    return [e["path"].rsplit("/", 1)[-1] for e in sandbox.requests() if "/STU3/Appointment/$" in e["path"]]


def test_epic_offers_come_from_find_the_read_back_holds_and_the_yes_books(api, epic_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offers = _offers(api, call_id)
    asked = _book(api, call_id, {"offer_id": offers[0]["id"], "confirm": False}).json()
    confirm = {"offer_id": offers[0]["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]}
    booked = _book(api, call_id, confirm)
    again = _book(api, call_id, confirm)

    assert len(offers) == 3 and asked["status"] == "confirm"
    assert booked.status_code == 201 and booked.json()["say"].startswith("You're booked for a follow-up visit ")
    assert again.status_code == 200 and again.json()["data"]["id"] == booked.json()["data"]["id"]
    assert _operations(sandbox) == ["$find", "$hold", "$book", "$book"]
    assert not [e for e in sandbox.requests() if e["path"].startswith("/fhir/Slot")]  # not on Epic's R4
    schedule = sandbox._control("GET", "schedule")
    assert len(schedule["booked"]) == 1 and len(schedule["slots"]) == 1
    listed = api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"]
    assert schedule["booked"][0]["id"] in [a["id"] for a in listed]


def test_a_time_held_for_another_caller_is_a_conflict_at_the_read_back(api, epic_site, sandbox, patient):
    someone_else = next(p for p in sandbox.patients() if p["id"] != patient["id"] and p["mrn"])
    first, second = verified_call(api, patient), verified_call(api, someone_else)
    offer = _offers(api, first)[0]
    other = next(o for o in _offers(api, second) if o["datetime"] == offer["datetime"] and
                 o["provider_id"] and o["provider_name"] == offer["provider_name"])  # fmt: skip
    assert _book(api, first, {"offer_id": offer["id"], "confirm": False}).json()["status"] == "confirm"

    lost = _book(api, second, {"offer_id": other["id"], "confirm": False}).json()

    assert lost["status"] == "conflict" and lost["say"].startswith("That time was just taken."), lost
    assert other["datetime"] not in [
        o["datetime"] for o in lost["data"] if o["provider_name"] == offer["provider_name"]
    ]


def test_without_a_stu3_base_epic_scheduling_goes_to_the_scheduling_desk(api, epic_site, sandbox, patient):
    EHRConnection.objects.filter(health_system=epic_site).update(scheduling_stu3_base_url="")
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    sandbox.reset_log()

    answer = api.get(f"/api/v1/calls/{call_id}/slots", {"visit_type": "follow-up"}).json()

    assert answer["status"] == "escalate" and answer["transfer"]["purpose"] == "scheduling"
    assert [e["path"] for e in sandbox.requests() if "Appointment" in e["path"] or "Slot" in e["path"]] == []


def test_on_epic_a_cancel_goes_to_scheduling_and_a_reschedule_leaves_the_old_one_to_staff(
    api, epic_site, sandbox, patient
):
    call_id = verified_call(api, patient)
    offers = _offers(api, call_id)
    asked = _book(api, call_id, {"offer_id": offers[0]["id"], "confirm": False}).json()
    first = _book(
        api, call_id, {"offer_id": offers[0]["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]}
    )
    handle = first.json()["data"]["id"]

    cancel = api.post(f"/api/v1/calls/{call_id}/appointments/{handle}/cancel", {"confirm": False}, format="json")
    path = f"/api/v1/calls/{call_id}/appointments/{handle}/reschedule"
    asked = api.post(path, {"offer_id": offers[1]["id"], "confirm": False}, format="json").json()
    moved = api.post(path, {"offer_id": offers[1]["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]},
                     format="json").json()  # fmt: skip

    assert cancel.json()["status"] == "escalate" and cancel.json()["transfer"]["purpose"] == "scheduling"
    assert moved["status"] == "ok" and moved["data"]["old_status"] == "cancel_pending", moved
    assert "our scheduling staff will cancel it" in moved["say"]
    assert StaffRequest.objects.get().kind == "cancel"
    assert len(sandbox._control("GET", "schedule")["booked"]) == 2
