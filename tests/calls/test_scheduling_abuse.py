"""An attacker's second look at scheduling by voice (issue 22): offers, booking, cancel and reschedule.

Each test is one attempt by a caller, another agent client, a buggy or hostile agent backend, someone
reading Redis or the logs, or a hostile EHR; over HTTP against the sandbox EHR, generic R4 flavour
(the harder server: no hold, no refusal of a double booking). A test that passes documents a
guarantee; an xfail names a defect not yet fixed.
"""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.utils import timezone
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from calls.models import StaffRequest
from ehr_integrations.models import SchedulingRules
from tests import builders
from tests.calls import test_scheduling, test_scheduling_epic
from tests.calls.conftest import open_call, verified_call, wait_for_prefetch
from tests.calls.ehr_writes import set_writes
from tests.calls.hostile_ehr import Answer, HostileEHR

# The scheduling tests' fixtures: a site with scheduling scopes, rules and its statement recorded (R4, Epic).
scheduling_site, epic_site = test_scheduling.scheduling_site, test_scheduling_epic.epic_site
flavoured = test_scheduling.flavoured
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def sandbox(request, sandbox_factory):
    """The generic flavour unless a test names another (indirect parametrize)."""
    yield from flavoured(sandbox_factory, getattr(request, "param", "generic"))


def _slots(api, call_id: str, **query):
    return api.get(f"/api/v1/calls/{call_id}/slots", {"visit_type": "follow-up", **query})


def _offers(api, call_id: str, **query) -> list[dict]:
    answer = _slots(api, call_id, **query)
    assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.content
    return answer.json()["data"]


def _book_path(call_id: str) -> str:
    return f"/api/v1/calls/{call_id}/appointments"


def _path(call_id: str, handle: str, action: str) -> str:
    return f"/api/v1/calls/{call_id}/appointments/{handle}/{action}"


def _ask(api, path: str, body: dict) -> dict:
    asked = api.post(path, {**body, "confirm": False}, format="json")
    assert asked.status_code == 200 and asked.json()["status"] == "confirm", asked.content
    return asked.json()


def _confirm(api, path: str, body: dict, confirmation_id: str):
    return api.post(path, {**body, "confirm": True, "confirmation_id": confirmation_id}, format="json")


def _two_steps(api, path: str, body: dict):
    return _confirm(api, path, body, _ask(api, path, body)["confirmation_id"])


def _booked(api, call_id: str, offer_id: str) -> dict:
    done = _two_steps(api, _book_path(call_id), {"offer_id": offer_id})
    assert done.status_code == 201, done.content
    return done.json()["data"]


def _active(sandbox) -> list[dict]:
    return [b for b in sandbox._control("GET", "schedule")["booked"] if not b["cancelled"]]


def _appointment_writes(sandbox) -> list[dict]:
    """The bookings and cancels the EHR received."""
    return [
        e
        for e in sandbox.requests()
        if (e["method"], e["path"]) == ("POST", "/fhir/Appointment") or e["method"] == "PATCH"
    ]


def _other_patient(sandbox, patient: dict) -> dict:
    return next(p for p in sandbox.patients() if p["id"] != patient["id"])


def _set_rules(site, **changes) -> None:
    row = SchedulingRules.objects.get(health_system=site)
    row.rules = {**row.rules, **changes}
    row.save()


# -- handles, clients, confirmations ------------------------------------------------------------------


def test_offer_and_appointment_handles_mean_nothing_outside_their_call(api, scheduling_site, sandbox, patient):
    mine = verified_call(api, patient)
    theirs = verified_call(api, _other_patient(sandbox, patient))
    their_offers = _offers(api, theirs)
    their_booking = _booked(api, theirs, their_offers[0]["id"])
    my_offer = _offers(api, mine)[1]
    slot_id = _active(sandbox)[0]["slot"]
    appointment_id = _active(sandbox)[0]["id"]
    sandbox.reset_log()

    refused = [
        api.post(_book_path(mine), {"offer_id": their_offers[1]["id"], "confirm": False}, format="json"),
        api.post(_book_path(mine), {"offer_id": "of-" + "0" * 16, "confirm": False}, format="json"),
        api.post(_path(mine, their_booking["id"], "cancel"), {"confirm": False}, format="json"),
        api.post(
            _path(mine, their_booking["id"], "reschedule"),
            {"offer_id": my_offer["id"], "confirm": False},
            format="json",
        ),  # fmt: skip
        api.post(_path(mine, "ap-" + "f" * 16, "cancel"), {"confirm": False}, format="json"),
    ]
    ehr_ids = [
        api.post(_book_path(mine), {"offer_id": slot_id, "confirm": False}, format="json"),
        api.post(_path(mine, appointment_id, "cancel"), {"confirm": False}, format="json"),
        api.post(_path(mine, f"Appointment%2F{appointment_id}", "cancel"), {"confirm": False}, format="json"),
    ]

    assert [(r.status_code, r.json()["status"]) for r in refused] == [(200, "refused")] * len(refused)
    assert [r.json()["reason"] for r in refused] == ["unknown_offer"] * 2 + ["unknown_appointment"] * 3
    assert all(r.status_code in (400, 404) and r["Content-Type"] == "application/json" for r in ehr_ids), [
        (r.status_code, r.content[:200]) for r in ehr_ids
    ]
    assert _appointment_writes(sandbox) == [] and len(_active(sandbox)) == 1


def test_another_agent_client_cannot_search_book_or_cancel_on_the_call(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    booked = _booked(api, call_id, _offers(api, call_id)[1]["id"])
    intruder = builders.agent_client("Other Voice", scheduling_site)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {intruder.api_key}")
    sandbox.reset_log()

    answers = [
        _slots(other, call_id),
        other.post(_book_path(call_id), {"offer_id": offer["id"], "confirm": False}, format="json"),
        other.post(_path(call_id, booked["id"], "cancel"), {"confirm": False}, format="json"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all(a["Content-Type"] == "application/json" for a in answers)
    assert [e for e in sandbox.requests() if e["path"].startswith(("/fhir/Slot", "/fhir/Appointment"))] == []


def test_a_confirmation_redeems_only_its_own_tool_request_and_call(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    elsewhere = verified_call(api, patient)
    upcoming = api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"][0]["handle"]
    offers = _offers(api, call_id)
    booking_id = _ask(api, _book_path(call_id), {"offer_id": offers[0]["id"]})["confirmation_id"]
    reschedule = {"offer_id": offers[0]["id"]}

    replays = [
        _confirm(api, _book_path(call_id), {"offer_id": offers[1]["id"]}, booking_id),  # another offer
        _confirm(api, _path(call_id, upcoming, "reschedule"), reschedule, booking_id),  # another tool
        _confirm(api, _path(call_id, upcoming, "cancel"), {}, booking_id),
        _confirm(api, _book_path(elsewhere), {"offer_id": offers[0]["id"]}, booking_id),  # another call
    ]
    assert api.post(f"/api/v1/calls/{call_id}/end", {}, format="json").status_code == 200
    after_end = _confirm(api, _book_path(call_id), {"offer_id": offers[0]["id"]}, booking_id)

    assert [r.status_code for r in replays] == [409, 409, 409, 409], [r.content for r in replays]
    assert all("confirmation_id" in r.json()["errors"] for r in replays)
    assert after_end.status_code == 410 and after_end.json()["status"] == "ended"
    assert _appointment_writes(sandbox) == [] and _active(sandbox) == []


def test_a_call_not_verified_or_ended_reaches_no_schedule(api, scheduling_site, sandbox, patient):
    unverified = open_call(api)
    ended = verified_call(api, patient)
    offer = _offers(api, ended)[0]
    api.post(f"/api/v1/calls/{ended}/end", {}, format="json")
    sandbox.reset_log()

    before = [_slots(api, unverified), api.post(_book_path(unverified), {"offer_id": offer["id"], "confirm": False},
                                                  format="json")]  # fmt: skip
    after = [
        _slots(api, ended),
        api.post(_book_path(ended), {"offer_id": offer["id"], "confirm": False}, format="json"),
    ]

    assert [(a.status_code, a.json()["status"]) for a in before] == [(403, "not_verified")] * 2
    assert [(a.status_code, a.json()["status"]) for a in after] == [(410, "ended")] * 2
    assert [e for e in sandbox.requests() if e["path"].startswith(("/fhir/Slot", "/fhir/Appointment"))] == []


# -- query values -------------------------------------------------------------------------------------


def test_malformed_slot_queries_answer_a_json_400_naming_the_field(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    attempts = [
        ({"visit_type": "Follow Up"}, "visit_type"),
        ({"visit_type": "x" * 41}, "visit_type"),
        ({"visit_type": "../Slot"}, "visit_type"),
        ({"after": "2026-02-30"}, "after"),
        ({"after": "tomorrow"}, "after"),
        ({"after": "2027-01-05T10:00:00-05:00"}, "after"),
        ({"before": "1999-12-31"}, "before"),
        ({"before": "9" * 5000}, "before"),
        ({"provider": "pv-" + "0" * 15 + "g"}, "provider"),
        ({"provider": "pv-" + "0" * 16}, "provider"),  # well formed, never given on this call
    ]
    for query, field in attempts:
        answer = _slots(api, call_id, **query)
        assert answer.status_code == 400 and answer["Content-Type"] == "application/json", (query, answer.content)
        assert field in answer.json()["errors"], (query, answer.json())
    far = _slots(api, call_id, after="9999-12-31")
    backwards = _slots(api, call_id, after="2027-01-20", before="2027-01-10")
    assert far.status_code == backwards.status_code == 200
    assert far.json()["data"] == backwards.json()["data"] == []


def test_malformed_scheduling_bodies_and_methods_answer_json_naming_the_field(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]["id"]
    handle = api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"][0]["handle"]
    book, cancel, move = _book_path(call_id), _path(call_id, handle, "cancel"), _path(call_id, handle, "reschedule")
    attempts = [
        (book, {"offer_id": offer, "confirm": "true"}, "confirm"),
        (book, {"offer_id": [offer], "confirm": False}, "offer_id"),
        (book, {"offer_id": None, "confirm": False}, "offer_id"),
        (book, {"offer_id": offer.upper(), "confirm": False}, "offer_id"),
        (book, {"offer_id": offer, "confirm": True}, "confirmation_id"),
        (book, {"offer_id": offer, "confirm": True, "confirmation_id": "f" * 64}, "confirmation_id"),
        (cancel, {"confirm": 1}, "confirm"),
        (move, {"confirm": False}, "offer_id"),
    ]
    for path, body, field in attempts:
        answer = api.post(path, body, format="json")
        assert answer.status_code == 400 and field in answer.json()["errors"], (path, body, answer.content[:300])
    for path in (book, cancel, move):
        garbled = api.generic("POST", path, b"{not json", content_type="application/json")
        huge = api.generic("POST", path, b'{"offer_id": "' + b"a" * (3 << 20) + b'"}', content_type="application/json")
        wrong_method = api.get(path) if path != book else api.delete(path)
        for answer in (garbled, huge, wrong_method):
            assert 400 <= answer.status_code < 500 and answer["Content-Type"] == "application/json", (
                path,
                answer.status_code,
                answer.content[:200],
            )
    smuggled = api.post(move, {"offer_id": offer, "confirm": False, "appointment_id": "ap-" + "0" * 16}, format="json")
    assert smuggled.json()["data"]["id"] == handle  # the path names the appointment, never the body
    assert _appointment_writes(sandbox) == [] and _active(sandbox) == []


def test_the_last_day_of_the_calendar_as_before_is_not_a_500(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)

    answer = _slots(api, call_id, before="9999-12-31")

    assert answer["Content-Type"] == "application/json", answer.content[:200]
    assert answer.status_code == 200 and len(answer.json()["data"]) == 3, answer.content[:300]


# -- a hostile EHR ------------------------------------------------------------------------------------


@pytest.fixture
def hostile(scheduling_site, sandbox):
    """The site's FHIR base behind a proxy that can rewrite what the EHR answers (PATCH passed on too)."""
    ehr = HostileEHR(sandbox.fhir_url)
    ehr.httpd.RequestHandlerClass.do_PATCH = ehr.httpd.RequestHandlerClass.do_GET
    scheduling_site.fhir_base_url = ehr.fhir_url
    scheduling_site.save()
    yield ehr
    ehr.stop()


def _bundle_of(*resources: dict):
    def change(answer: Answer) -> Answer:
        bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
        return answer.replace(status=200, body=json.dumps(bundle).encode())

    return change


def _a_listed_schedule(sandbox) -> str:
    """The Schedule of the first provider the site's rules list (tests/calls/test_scheduling.rules_for)."""
    return sandbox._control("GET", "schedule")["schedules"][0]["id"]


def _free_slot(n: int, start: datetime, schedule: str, code: str = "follow-up") -> dict:
    return {
        "resourceType": "Slot",
        "id": f"slot-edge-{n}",
        "schedule": {"reference": f"Schedule/{schedule}"},
        "status": "free",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "serviceType": [{"coding": [{"code": code}]}],
    }


def _midnights_of_a_day_lasting(hours: int) -> tuple[datetime, datetime]:
    """The next New York day (from the day after tomorrow) that lasts `hours`: a DST change day."""
    day = timezone.now().astimezone(NEW_YORK).date() + timedelta(days=2)
    for _ in range(360):
        start = datetime.combine(day, time(0), NEW_YORK)
        end = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)
        if end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours):
            return start, end
        day += timedelta(days=1)
    raise AssertionError(f"no {hours}-hour day within a year")


@pytest.mark.parametrize("length_h", [23, 25], ids=["spring-forward", "fall-back"])
def test_after_and_before_are_whole_days_in_the_site_zone_across_dst(
    api, scheduling_site, hostile, sandbox, patient, length_h
):
    _set_rules(scheduling_site, horizon_days=366)
    start, end = _midnights_of_a_day_lasting(length_h)
    day = start.date().isoformat()
    inside = [start, end - timedelta(minutes=30)]
    outside = [start - timedelta(minutes=30), end]
    slots = [_free_slot(n, t, _a_listed_schedule(sandbox)) for n, t in enumerate(inside + outside)]
    for method, path in (("GET", "/fhir/Slot"), ("POST", "/fhir/Slot/_search")):
        hostile.tamper(method, path, _bundle_of(*slots))
    call_id = verified_call(api, patient)

    offers = _offers(api, call_id, after=day, before=day)

    assert [datetime.fromisoformat(o["datetime"]) for o in offers] == inside
    assert [datetime.fromisoformat(o["datetime"]).utcoffset() for o in offers] == [
        t.astimezone(NEW_YORK).utcoffset() for t in inside
    ]


@pytest.mark.parametrize(
    "kind",
    [
        "other-schedule",  # a server that ignored schedule=: offered under an allowed provider's name
        "other-visit-type",  # a server that ignored service-type=
        "busy",
        "no-time-zone",
    ],
)  # fmt: skip
def test_slots_the_server_should_not_have_answered_are_never_offered(
    api, scheduling_site, hostile, sandbox, patient, kind
):
    soon = timezone.now() + timedelta(days=3)
    slot = _free_slot(0, soon.astimezone(NEW_YORK), _a_listed_schedule(sandbox))
    if kind == "other-schedule":  # a server that ignores `schedule=` answers every clinician's slots
        slot["schedule"] = {"reference": "Schedule/someone-the-rules-do-not-list"}
    elif kind == "other-visit-type":
        slot["serviceType"] = [{"coding": [{"code": "surgery-consult"}]}]
    elif kind == "busy":
        slot["status"] = "busy"
    else:
        slot["start"] = soon.replace(tzinfo=None).isoformat()
    for method, path in (("GET", "/fhir/Slot"), ("POST", "/fhir/Slot/_search")):
        hostile.tamper(method, path, _bundle_of(slot))
    call_id = verified_call(api, patient)

    answer = _slots(api, call_id)

    assert answer.status_code == 200 and answer.json()["data"] == [], answer.json()


def _change_read_back(**fields):
    def change(answer: Answer) -> Answer:
        resource = json.loads(answer.body)
        if resource.get("resourceType") != "Appointment":
            return answer
        for key, value in fields.items():
            if key == "practitioner":
                for p in resource.get("participant") or []:
                    if str(p.get("actor", {}).get("reference", "")).startswith("Practitioner/"):
                        p["actor"]["reference"] = value
            else:
                resource[key] = value
        return answer.replace(body=json.dumps(resource).encode())

    return change


@pytest.mark.parametrize(
    "change",
    [
        _change_read_back(status="proposed"),
        _change_read_back(start="2031-01-01T09:00:00Z"),
        _change_read_back(slot=[{"reference": "Slot/another"}]),
        _change_read_back(identifier=[]),
        lambda a: a.replace(body=b"<html>oops</html>", headers={"Content-Type": "text/html"}),
        _change_read_back(practitioner="Practitioner/not-the-one-offered"),
    ],
    ids=["not-booked", "other-start", "other-slot", "not-ours", "html", "other-practitioner"],
)  # fmt: skip
def test_a_booking_read_back_that_disagrees_never_says_booked(api, scheduling_site, hostile, sandbox, patient, change):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    hostile.tamper("GET", "/fhir/Appointment/", change)

    answer = _two_steps(api, _book_path(call_id), {"offer_id": offer["id"]})

    assert answer.status_code == 503 and answer["Content-Type"] == "application/json", answer.content[:300]
    assert answer.json()["reason"] == "write_unconfirmed" and "You're booked" not in answer.json()["say"]
    assert StaffRequest.objects.get().kind == "booking"


def test_a_cancel_the_ehr_does_not_show_is_never_said_done(api, scheduling_site, hostile, sandbox, patient):
    call_id = verified_call(api, patient)
    booked = _booked(api, call_id, _offers(api, call_id)[0]["id"])
    hostile.tamper("GET", "/fhir/Appointment/", _change_read_back(status="booked"))  # the PATCH "took"

    answer = _two_steps(api, _path(call_id, booked["id"], "cancel"), {})

    assert answer.status_code == 503 and answer.json()["reason"] == "write_unconfirmed", answer.content
    assert "is cancelled" not in answer.json()["say"] and "staff" in answer.json()["say"]
    assert StaffRequest.objects.get().kind == "cancel"


def _foreign_upcoming(sandbox, patient: dict) -> dict:
    """A booked, future appointment of another patient, as the EHR holds it."""
    now = timezone.now()
    for other in sandbox.patients():
        if other["id"] == patient["id"]:
            continue
        for item in sandbox.fhir_get("Appointment", {"patient": other["id"]}).get("entry") or []:
            resource = item["resource"]
            start = datetime.fromisoformat(resource.get("start", "1970-01-01T00:00:00Z").replace("Z", "+00:00"))
            if resource.get("status") == "booked" and start > now + timedelta(days=1):
                return resource
    raise AssertionError("the sandbox has no upcoming appointment of another patient")


def test_another_patients_appointment_in_the_ehr_s_answer_cannot_be_cancelled(
    api, scheduling_site, hostile, sandbox, patient
):
    foreign = _foreign_upcoming(sandbox, patient)

    def with_foreign(answer: Answer) -> Answer:
        bundle = json.loads(answer.body)
        bundle["entry"] = [*(bundle.get("entry") or []), {"resource": foreign, "search": {"mode": "match"}}]
        return answer.replace(body=json.dumps(bundle).encode())

    for method, path in (("GET", "/fhir/Appointment"), ("POST", "/fhir/Appointment/_search")):
        hostile.tamper(method, path, with_foreign)
    call_id = verified_call(api, patient)
    listed = api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"]
    handles = [a["handle"] for a in listed if a["id"] == foreign["id"]]

    cancelled = [_two_steps(api, _path(call_id, handle, "cancel"), {}) for handle in handles]

    assert handles == [], [c.json()["say"] for c in cancelled]
    assert sandbox.fhir_get(f"Appointment/{foreign['id']}")["status"] == "booked"


# -- rules, limits and the write itself --------------------------------------------------------------


@pytest.mark.parametrize(
    "tightened",
    [
        "visit type withdrawn",
        "provider withdrawn",
        "lead time raised",
    ],
)  # fmt: skip
def test_rules_tightened_between_read_back_and_yes_hold_at_the_yes(api, scheduling_site, sandbox, patient, tightened):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    asked = _ask(api, _book_path(call_id), {"offer_id": offer["id"]})
    rules = SchedulingRules.objects.get(health_system=scheduling_site).rules
    if tightened == "visit type withdrawn":
        _set_rules(scheduling_site, visit_types={k: v for k, v in rules["visit_types"].items() if k != "follow-up"})
    elif tightened == "provider withdrawn":
        offered = offer["provider_name"]
        _set_rules(scheduling_site, providers=[p for p in rules["providers"] if p["name"] != offered])
    else:
        _set_rules(scheduling_site, lead_time_hours=24 * 14)
    sandbox.reset_log()

    answer = _confirm(api, _book_path(call_id), {"offer_id": offer["id"]}, asked["confirmation_id"])

    assert answer["Content-Type"] == "application/json" and answer.status_code in (200, 409), answer.content[:300]
    assert answer.json()["status"] in ("escalate", "refused", "invalid"), answer.json()
    assert _appointment_writes(sandbox) == [] and _active(sandbox) == []


def test_the_per_call_booking_limit_holds_for_reschedules_and_spares_retries(
    api, scheduling_site, sandbox, patient, settings
):
    settings.WRITES_PER_CALL = {**settings.WRITES_PER_CALL, "appointments": 2}
    call_id = verified_call(api, patient)
    offers = _offers(api, call_id)
    first = _booked(api, call_id, offers[0]["id"])
    _booked(api, call_id, offers[1]["id"])
    sandbox.reset_log()

    over = _two_steps(api, _book_path(call_id), {"offer_id": offers[2]["id"]})
    moved = _two_steps(api, _path(call_id, first["id"], "reschedule"), {"offer_id": offers[2]["id"]})
    retried = _two_steps(api, _book_path(call_id), {"offer_id": offers[0]["id"]})  # a booking already counted

    assert over.json()["reason"] == moved.json()["reason"] == "write_limit", (over.json(), moved.json())
    assert retried.status_code == 200 and retried.json()["data"]["id"] == first["id"], retried.content
    assert _appointment_writes(sandbox) == [] and len(_active(sandbox)) == 2  # the old one untouched


def test_a_retried_confirm_after_the_booking_stands_is_the_same_appointment(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    first = _two_steps(api, _book_path(call_id), {"offer_id": offer["id"]})
    again = _two_steps(api, _book_path(call_id), {"offer_id": offer["id"]})  # a new read-back of the same time

    assert first.status_code == 201 and again.status_code == 200, again.content
    assert again.json()["data"]["id"] == first.json()["data"]["id"] and len(_active(sandbox)) == 1


def test_a_reschedule_onto_its_own_time_never_leaves_the_caller_without_it(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    booked = _booked(api, call_id, offer["id"])

    moved = _two_steps(api, _path(call_id, booked["id"], "reschedule"), {"offer_id": offer["id"]})

    assert len(_active(sandbox)) == 1, (moved.json(), sandbox._control("GET", "schedule")["booked"])


def test_a_reschedule_whose_new_booking_fails_keeps_the_old_one_and_never_says_moved(
    api, scheduling_site, sandbox, patient
):
    call_id = verified_call(api, patient)
    offers = _offers(api, call_id)
    old = _booked(api, call_id, offers[0]["id"])
    path = _path(call_id, old["id"], "reschedule")
    asked = _ask(api, path, {"offer_id": offers[1]["id"]})
    sandbox.add_fault("/fhir/Appointment", error_rate=1.0, error_status=503)  # the POST and the search that settles it

    moved = _confirm(api, path, {"offer_id": offers[1]["id"]}, asked["confirmation_id"])

    assert moved.status_code == 503 and moved.json()["reason"] == "write_unconfirmed", moved.content
    assert "moved" not in moved.json()["say"] and "cancelled" not in moved.json()["say"]
    assert [e for e in sandbox.requests() if e["method"] == "PATCH"] == []  # the old one is never touched
    assert [b["cancelled"] for b in sandbox._control("GET", "schedule")["booked"]] == [False]
    assert StaffRequest.objects.get().kind == "booking"


def test_two_confirmed_reschedules_of_one_appointment_never_leave_two(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offers = _offers(api, call_id)
    old = _booked(api, call_id, offers[0]["id"])
    path = _path(call_id, old["id"], "reschedule")
    to_second = _ask(api, path, {"offer_id": offers[1]["id"]})  # "Tuesday?" "Hmm, rather Wednesday."
    to_third = _ask(api, path, {"offer_id": offers[2]["id"]})

    first = _confirm(api, path, {"offer_id": offers[1]["id"]}, to_second["confirmation_id"])
    second = _confirm(api, path, {"offer_id": offers[2]["id"]}, to_third["confirmation_id"])  # a stale yes

    assert first.status_code == 201 and first.json()["data"]["old_status"] == "cancelled", first.content
    assert second.json()["status"] != "ok", second.json()
    assert len(_active(sandbox)) == 1, sandbox._control("GET", "schedule")["booked"]


def test_a_late_retry_of_a_booking_confirm_after_the_cancel_books_nothing(api, scheduling_site, sandbox, patient):
    set_writes(scheduling_site, sandbox, conditional_create="absent")
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    asked = _ask(api, _book_path(call_id), {"offer_id": offer["id"]})
    booked = _confirm(api, _book_path(call_id), {"offer_id": offer["id"]}, asked["confirmation_id"])
    assert _two_steps(api, _path(call_id, booked.json()["data"]["id"], "cancel"), {}).status_code == 200

    late = _confirm(api, _book_path(call_id), {"offer_id": offer["id"]}, asked["confirmation_id"])

    assert late.status_code != 201 and late.json()["status"] != "ok", late.json()
    assert _active(sandbox) == []


def test_a_booking_in_doubt_that_a_retry_settles_closes_its_staff_follow_up(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    asked = _ask(api, _book_path(call_id), {"offer_id": offer["id"]})
    sandbox.add_fault("/fhir/Appointment/appointment-b*", error_rate=1.0, error_status=503)  # the read-back fails
    doubt = _confirm(api, _book_path(call_id), {"offer_id": offer["id"]}, asked["confirmation_id"])
    sandbox.clear_faults()

    retried = _confirm(api, _book_path(call_id), {"offer_id": offer["id"]}, asked["confirmation_id"])

    assert doubt.status_code == 503 and retried.status_code == 200, retried.content
    assert len(_active(sandbox)) == 1
    assert StaffRequest.objects.get().status != "open"


def test_a_caller_who_cancels_and_changes_their_mind_can_book_the_time_again(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    offer = _offers(api, call_id)[0]
    booked = _booked(api, call_id, offer["id"])
    assert _two_steps(api, _path(call_id, booked["id"], "cancel"), {}).status_code == 200

    again = _two_steps(api, _book_path(call_id), {"offer_id": offer["id"]})

    assert again.status_code == 201 and again.json()["data"]["status"] == "booked", again.content
    assert len(_active(sandbox)) == 1


def test_confirms_of_one_booking_sent_at_once_book_once_and_both_say_booked(
    gateway, agent, scheduling_site, sandbox, patient
):
    set_writes(scheduling_site, sandbox, conditional_create="absent")
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        call_id = http.post("/api/v1/calls", json={"health_system": "riverside"}).json()["data"]["call_id"]
        given = {"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        assert http.post(f"/api/v1/calls/{call_id}/verify", json=given).json()["status"] == "verified"
        offer = http.get(f"/api/v1/calls/{call_id}/slots", params={"visit_type": "follow-up"}).json()["data"][0]
        asked = http.post(_book_path(call_id), json={"offer_id": offer["id"], "confirm": False}).json()
        body = {"offer_id": offer["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]}
        sandbox.add_fault("/fhir/Appointment", latency_ms=600)  # both searches and POSTs in flight at once
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: http.post(_book_path(call_id), json=body).json(), range(2)))

    assert [a["status"] for a in answers] == ["ok", "ok"], answers
    assert answers[0]["data"]["id"] == answers[1]["data"]["id"]
    assert len(_active(sandbox)) == 1


# -- PHI at rest and in transit -----------------------------------------------------------------------


def test_no_phi_in_redis_keys_values_the_logs_or_the_ehr_urls(api, scheduling_site, sandbox, patient, caplog):
    caplog.set_level(logging.DEBUG)
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    sandbox.reset_log()
    offers = _offers(api, call_id)
    booked = _booked(api, call_id, offers[0]["id"])
    sandbox.add_fault("/fhir/Appointment/appointment-b*", error_rate=1.0, error_status=503)
    doubt = _two_steps(api, _path(call_id, booked["id"], "reschedule"), {"offer_id": offers[1]["id"]})
    assert doubt.status_code in (200, 201, 503), doubt.content
    sandbox.clear_faults()

    redis = get_redis_connection("default")
    keys = list(redis.scan_iter(count=1000))
    raw = b"".join(k + (redis.dump(k) or b"") for k in keys)
    record = sandbox.fhir_get(f"Patient/{patient['id']}")
    names = [n for entry in record.get("name") or [] for n in [entry.get("family"), *(entry.get("given") or [])] if n]
    secrets = [patient["id"], patient["mrn"], patient["birth_date"], *names, "Dr. Test", "follow-up visit"]
    assert [s for s in secrets if s.encode() in raw] == []
    scheduling = [e for e in sandbox.requests() if e["path"].startswith(("/fhir/Slot", "/fhir/Appointment"))]
    assert scheduling and all(patient["id"] not in e["path"] for e in scheduling)
    assert not {"patient", "subject", "actor", "name", "birthdate"} & {p for e in scheduling for p in e["params"]}
    plain = " ".join(str(r) for r in StaffRequest.objects.values_list("about", "reason", "kind"))
    assert all(s not in plain for s in [patient["mrn"], patient["birth_date"], *names])
    assert [s for s in [patient["mrn"], patient["birth_date"], *names] if s in caplog.text] == []


@pytest.mark.parametrize("sandbox", ["epic"], indirect=True)
def test_one_call_cannot_hold_time_after_time_on_epic(api, epic_site, sandbox, patient):
    call_id = verified_call(api, patient)
    day = timezone.now().astimezone(NEW_YORK).date()
    # Three clinic days (the sandbox's clinic is shut at weekends: a Saturday's first times are Monday's).
    days = [d for d in (day + timedelta(days=n) for n in range(3, 10)) if d.weekday() < 5][:3]
    read_backs, offered = 0, set()
    for after in days:
        for offer in _offers(api, call_id, after=after.isoformat()):
            offered.add(offer["id"])  # one handle per time
            answer = api.post(_book_path(call_id), {"offer_id": offer["id"], "confirm": False}, format="json")
            read_backs += answer.json()["status"] == "confirm"

    holds = [e for e in sandbox.requests() if e["path"].endswith("/STU3/Appointment/$hold") and e["status"] < 300]
    assert len(offered) > 3  # more distinct times read back than a call may hold
    assert read_backs and len(holds) <= 3, (read_backs, len(holds))
