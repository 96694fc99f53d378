"""Scheduling by voice over HTTP against the sandbox EHR (issue 22): offers, booking, conflicts, cancel,
reschedule, and the site's rules."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.models import AuditRecord
from calls.models import StaffRequest
from calls.tools import scheduling_calls as sc
from ehr_integrations.models import EHRConnection, SchedulingRules
from ehr_integrations.setup.connection_check import record_statement
from tests.calls.conftest import SCOPES, SECRET, verified_call, wait_for_prefetch
from tests.calls.test_mcp import answer as mcp_answer
from tests.calls.test_mcp import mcp

SCHEDULING_SCOPES = [*SCOPES, "system/Slot.read", "system/Schedule.read", "system/Appointment.write"]


def rules_for(sandbox) -> dict:
    schedules = sandbox._control("GET", "schedule")["schedules"]
    return {
        "visit_types": {
            "follow-up": {"code": "follow-up", "label": "follow-up visit", "patients": ["established"]},
            "new-patient": {"code": "new-patient", "label": "new patient visit", "patients": ["new"]},
        },
        "providers": [
            {
                "practitioner": s["practitioner_id"],
                "schedule": s["id"],
                "name": f"Dr. Test {n}",
                "location": "Main Clinic",
            }
            for n, s in enumerate(schedules[:2], start=1)
        ],
    }


def flavoured(sandbox_factory, flavour: str):
    """The `sandbox` fixture's reset handle, of another flavour."""
    handle = sandbox_factory(flavour=flavour)
    handle.reset()
    handle.set_token_lifetime(300)
    yield handle
    handle.reset()


@pytest.fixture(params=["generic", "oracle_health"])
def sandbox(request, sandbox_factory):
    """Both flavours with Slot search, POST and PATCH: Oracle Health refuses a busy slot (409), a generic
    R4 server stores a second booking and the gateway finds it in its read-back."""
    yield from flavoured(sandbox_factory, request.param)


@pytest.fixture
def scheduling_site(site, sandbox):
    """The site with scheduling scopes, its CapabilityStatement recorded and scheduling rules."""
    sandbox.register_client("gw-riverside", scopes=SCHEDULING_SCOPES, auth="client_secret_basic", secret=SECRET)
    EHRConnection.objects.filter(health_system=site).update(scopes=" ".join(SCHEDULING_SCOPES))
    record_statement(site, sandbox.fhir_get("metadata"))
    SchedulingRules.objects.create(health_system=site, rules=rules_for(sandbox))
    return site


def _slots(api, call_id: str, **query):
    return api.get(f"/api/v1/calls/{call_id}/slots", {"visit_type": "follow-up", **query})


def _book(api, call_id: str, body: dict, **headers):
    return api.post(f"/api/v1/calls/{call_id}/appointments", body, format="json", **headers)


def _booked(api, call_id: str, offer_id: str):
    asked = _book(api, call_id, {"offer_id": offer_id, "confirm": False}).json()
    assert asked["status"] == "confirm", asked
    return _book(api, call_id, {"offer_id": offer_id, "confirm": True, "confirmation_id": asked["confirmation_id"]})


def _scheduling_requests(sandbox) -> list[dict]:
    return [
        e for e in sandbox.requests() if e["path"].startswith(("/fhir/Slot", "/fhir/Appointment", "/fhir/Schedule"))
    ]


def test_a_caller_hears_three_offers_books_one_and_the_next_appointments_answer_lists_it(
    api, scheduling_site, sandbox, patient
):
    call_id = verified_call(api, patient)
    offered = _slots(api, call_id)
    assert offered.status_code == 200, offered.content
    offers = offered.json()["data"]
    assert len(offers) == 3 and offered.json()["say"].startswith("I have three openings for a follow-up visit: ")
    assert all(o["id"].startswith("of-") and o["provider_id"].startswith("pv-") for o in offers)
    assert all(datetime.fromisoformat(o["datetime"]).utcoffset() in (timedelta(hours=-5), timedelta(hours=-4))
               for o in offers)  # fmt: skip

    asked = _book(api, call_id, {"offer_id": offers[0]["id"], "confirm": False}).json()
    assert asked["status"] == "confirm" and asked["say"].startswith("I'll book a follow-up visit ")
    assert not sandbox._control("GET", "schedule")["booked"]  # the read-back wrote nothing
    confirm = {"offer_id": offers[0]["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]}
    booked = _book(api, call_id, confirm)
    again = _book(api, call_id, confirm)  # a retried confirm: one booking

    assert booked.status_code == 201, booked.content
    assert booked.json()["say"].startswith("You're booked for a follow-up visit ")
    assert again.status_code == 200 and again.json()["data"]["id"] == booked.json()["data"]["id"]
    schedule = sandbox._control("GET", "schedule")
    assert len(schedule["booked"]) == 1 and not schedule["booked"][0]["cancelled"]
    assert [s["id"] for s in schedule["slots"]] == [schedule["booked"][0]["slot"]]  # the slot is busy
    listed = api.get(f"/api/v1/calls/{call_id}/appointments").json()
    assert listed["source"] == "prefetch"  # the prefetched list was read again after the write
    assert schedule["booked"][0]["id"] in [a["id"] for a in listed["data"]]
    writes = AuditRecord.objects.filter(call_session=call_id, action="create").order_by("pk")
    assert [w.outcome for w in writes] == ["write_requested", "write_confirmed", "write_requested", "write_confirmed"]
    assert f"Appointment/{schedule['booked'][0]['id']}" in writes[1].resource_ids
    assert datetime.fromisoformat(offers[0]["datetime"]) in [
        datetime.fromisoformat(a["datetime"]) for a in listed["data"]
    ]


def test_offers_respect_the_lead_time_and_the_horizon(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    soonest = timezone.now() + timedelta(hours=2)

    offers = _slots(api, call_id).json()["data"]
    too_far = _slots(api, call_id, after=(timezone.now() + timedelta(days=61)).date().isoformat()).json()

    # the sandbox has free slots every half hour from the next hour on: the first ones are refused
    assert offers and all(datetime.fromisoformat(o["datetime"]) >= soonest for o in offers)
    assert datetime.fromisoformat(offers[0]["datetime"]) < soonest + timedelta(hours=1)
    assert too_far["data"] == [] and "open times" in too_far["say"]


def test_a_visit_type_the_rules_do_not_allow_is_routed_to_scheduling_and_the_ehr_sees_nothing(
    api, scheduling_site, sandbox, patient
):
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    sandbox.reset_log()

    new_patient = _slots(api, call_id, visit_type="new-patient")  # the site's callers are established patients
    unknown = _slots(api, call_id, visit_type="surgery")

    for answer in (new_patient, unknown):
        assert answer.status_code == 200, answer.content
        body = answer.json()
        assert (
            body["status"] == "escalate" and body["transfer"]["purpose"] == "scheduling" and "scheduling" in body["say"]
        )
    assert _scheduling_requests(sandbox) == []


def test_two_calls_booking_the_same_slot_one_books_the_other_hears_new_offers(api, scheduling_site, sandbox, patient):
    first, second = verified_call(api, patient), verified_call(api, patient)
    offer = _slots(api, first).json()["data"][0]
    other = next(o for o in _slots(api, second).json()["data"] if o["datetime"] == offer["datetime"])

    won = _booked(api, first, offer["id"])
    lost = _booked(api, second, other["id"])

    assert won.status_code == 201, won.content
    assert lost.status_code == 200 and lost.json()["status"] == "conflict", lost.content
    assert lost.json()["say"].startswith("That time was just taken.") and len(lost.json()["data"]) == 3
    assert other["id"] not in [o["id"] for o in lost.json()["data"]]  # never the taken slot again
    assert len([b for b in sandbox._control("GET", "schedule")["booked"] if not b["cancelled"]]) == 1


@pytest.mark.parametrize("quirk", ["read_back_fails", "misbooks"])
def test_a_read_back_that_fails_or_disagrees_never_says_booked(api, scheduling_site, sandbox, patient, quirk):
    call_id = verified_call(api, patient)
    offer = _slots(api, call_id).json()["data"][0]
    if quirk == "misbooks":  # the server stores the next booking as proposed, not booked
        sandbox._control("POST", "schedule/quirk", {"misbook": True})
    else:
        sandbox.add_fault("/fhir/Appointment/appointment-b*", error_rate=1.0, error_status=503)

    answer = _booked(api, call_id, offer["id"])

    assert answer.status_code == 503 and answer.json()["reason"] == "write_unconfirmed", answer.content
    assert "couldn't confirm" in answer.json()["say"] and "You're booked" not in answer.json()["say"]
    assert StaffRequest.objects.get().kind == "booking"


def test_a_reschedule_whose_cancel_fails_keeps_the_new_time_and_tells_staff(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    first = _booked(api, call_id, _slots(api, call_id).json()["data"][0]["id"]).json()["data"]
    offer = _slots(api, call_id).json()["data"][1]
    old_id = sandbox._control("GET", "schedule")["booked"][0]["id"]
    sandbox.add_fault(f"/fhir/Appointment/{old_id}", error_rate=1.0, error_status=503)
    path = f"/api/v1/calls/{call_id}/appointments/{first['id']}/reschedule"

    asked = api.post(path, {"offer_id": offer["id"], "confirm": False}, format="json").json()
    assert asked["status"] == "confirm" and asked["say"].startswith("I'll move your appointment ")
    moved = api.post(path, {"offer_id": offer["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]},
                     format="json")  # fmt: skip

    assert moved.status_code == 201, moved.content
    body = moved.json()
    assert body["data"]["old_status"] == "cancel_pending" and body["say"].startswith("You're booked ")
    assert "our scheduling staff will cancel it" in body["say"]
    booked = sandbox._control("GET", "schedule")["booked"]
    assert [b["cancelled"] for b in booked] == [False, False]  # the old one stands until staff cancel it
    request = StaffRequest.objects.get()
    assert (request.kind, request.about) == ("cancel", f"Appointment/{old_id}")


def test_a_reschedule_books_the_new_time_then_cancels_the_old(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    first = _booked(api, call_id, _slots(api, call_id).json()["data"][0]["id"]).json()["data"]
    offer = _slots(api, call_id).json()["data"][1]
    path = f"/api/v1/calls/{call_id}/appointments/{first['id']}/reschedule"

    asked = api.post(path, {"offer_id": offer["id"], "confirm": False}, format="json").json()
    moved = api.post(path, {"offer_id": offer["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]},
                     format="json")  # fmt: skip

    assert moved.status_code == 201 and moved.json()["data"]["old_status"] == "cancelled", moved.content
    assert [b["cancelled"] for b in sandbox._control("GET", "schedule")["booked"]] == [True, False]
    methods = [(e["method"], e["path"].split("/")[2]) for e in _scheduling_requests(sandbox) if e["method"] != "GET"]
    assert methods.index(("POST", "Appointment")) < methods.index(("PATCH", "Appointment"))


def test_a_cancel_in_two_steps_frees_the_slot(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    booked = _booked(api, call_id, _slots(api, call_id).json()["data"][0]["id"]).json()["data"]
    path = f"/api/v1/calls/{call_id}/appointments/{booked['id']}/cancel"

    asked = api.post(path, {"confirm": False}, format="json").json()
    assert asked["status"] == "confirm" and asked["say"].startswith("I'll cancel your appointment ")
    done = api.post(path, {"confirm": True, "confirmation_id": asked["confirmation_id"]}, format="json")

    assert done.status_code == 200 and done.json()["data"]["status"] == "cancelled", done.content
    assert sandbox._control("GET", "schedule")["slots"] == []
    unknown = api.post(f"/api/v1/calls/{call_id}/appointments/ap-{'0' * 16}/cancel", {"confirm": False}, format="json")
    assert unknown.json()["status"] == "refused"


def test_two_calls_confirming_the_same_slot_at_once_make_one_booking(gateway, agent, scheduling_site, sandbox, patient):
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:

        def asked(call_id: str, when: str | None) -> dict:
            offers = http.get(f"/api/v1/calls/{call_id}/slots", params={"visit_type": "follow-up"}).json()["data"]
            offer = next(o for o in offers if when in (None, o["datetime"]))
            answer = http.post(
                f"/api/v1/calls/{call_id}/appointments", json={"offer_id": offer["id"], "confirm": False}
            )
            return {"call_id": call_id, "offer": offer, "confirmation_id": answer.json()["confirmation_id"]}

        def confirm(step: dict) -> dict:
            body = {"offer_id": step["offer"]["id"], "confirm": True, "confirmation_id": step["confirmation_id"]}
            return http.post(f"/api/v1/calls/{step['call_id']}/appointments", json=body).json()

        def call() -> str:
            call_id = http.post("/api/v1/calls", json={"health_system": "riverside"}).json()["data"]["call_id"]
            given = {"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
            assert http.post(f"/api/v1/calls/{call_id}/verify", json=given).json()["status"] == "verified"
            return call_id

        first = asked(call(), None)
        second = asked(call(), first["offer"]["datetime"])
        # Both read the slot as free, then both POST: the server has no hold (the bookings meet in the EHR).
        sandbox.add_fault("/fhir/Appointment", latency_ms=800)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(confirm, [first, second]))

    assert sorted(a["status"] for a in answers) == ["conflict", "ok"], answers
    lost = next(a for a in answers if a["status"] == "conflict")
    assert len(lost["data"]) == 3 and lost["say"].startswith("That time was just taken.")
    booked = sandbox._control("GET", "schedule")["booked"]
    if sandbox.flavour == "oracle_health":  # the server refused the second booking (409)
        assert [b["cancelled"] for b in booked] == [False], booked
    else:  # both landed: the later one found the earlier in its read-back and cancelled itself
        assert sorted(b["cancelled"] for b in booked) == [False, True], booked


def test_without_a_scheduling_grant_callers_are_routed_to_scheduling(api, site, sandbox, patient):
    sandbox.register_client("gw-riverside", scopes=SCOPES, auth="client_secret_basic", secret=SECRET)
    record_statement(site, sandbox.fhir_get("metadata"))
    SchedulingRules.objects.create(health_system=site, rules=rules_for(sandbox))
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    sandbox.reset_log()

    answer = _slots(api, call_id).json()

    assert answer["status"] == "escalate" and answer["transfer"]["purpose"] == "scheduling", answer
    assert "not able to book appointments by phone" in answer["say"]
    assert _scheduling_requests(sandbox) == []


def test_an_appointment_heard_in_the_appointments_answer_is_cancelled_by_its_handle(
    api, scheduling_site, sandbox, patient
):
    call_id = verified_call(api, patient)
    upcoming = api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"]
    first = upcoming[0]
    assert first["handle"].startswith("ap-") and first["id"] not in first["handle"]
    path = f"/api/v1/calls/{call_id}/appointments/{first['handle']}/cancel"

    asked = api.post(path, {"confirm": False}, format="json").json()
    done = api.post(path, {"confirm": True, "confirmation_id": asked["confirmation_id"]}, format="json").json()
    elsewhere = verified_call(api, patient)  # the same appointment's handle means nothing in another call
    other = api.post(
        f"/api/v1/calls/{elsewhere}/appointments/{first['handle']}/cancel", {"confirm": False}, format="json"
    )

    assert asked["status"] == "confirm" and "with " in asked["say"], asked
    assert (
        done["status"] == "ok" and done["say"].startswith("Your appointment ") and done["say"].endswith("is cancelled.")
    )
    assert sandbox.fhir_get(f"Appointment/{first['id']}")["status"] == "cancelled"
    assert first["id"] not in [a["id"] for a in api.get(f"/api/v1/calls/{call_id}/appointments").json()["data"]]
    assert other.json()["status"] == "refused" and other.json()["reason"] == "unknown_appointment"


def test_the_scheduling_tools_are_in_openapi_and_every_manifest_with_their_mcp_hints(api, site):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    mcp = {t["name"]: t for t in api.get("/api/v1/tools", {"format": "mcp"}).json()["tools"]}
    openai = {t["function"]["name"] for t in api.get("/api/v1/tools", {"format": "openai"}).json()}

    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/calls/{call_id}/appointments"])
    assert "get" in paths["/api/v1/calls/{call_id}/slots"]
    for action in ("cancel", "reschedule"):
        path = paths[f"/api/v1/calls/{{call_id}}/appointments/{{appointment_id}}/{action}"]
        assert "appointment_id" in [p["name"] for p in path["post"]["parameters"] if p["in"] == "path"]
        body = path["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert "appointment_id" not in schema["components"]["schemas"][body]["properties"]  # in the path only
    functions = ("find_appointment_times", "book_appointment", "cancel_appointment", "reschedule_appointment")
    assert set(functions) <= set(mcp) and set(functions) <= openai
    assert "annotations" not in mcp["find_appointment_times"]
    hints = {name: mcp[name]["annotations"]["destructiveHint"] for name in functions[1:]}
    assert hints == {"book_appointment": False, "cancel_appointment": True, "reschedule_appointment": True}


def test_an_mcp_client_finds_books_and_moves_an_appointment(gateway, agent, scheduling_site, sandbox, patient):
    async def steps(session):
        opened = mcp_answer(await session.call_tool("open_call", {"health_system": "riverside"}))
        call_id = opened["data"]["call_id"]
        given = {"call_id": call_id, "date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        await session.call_tool("verify_caller", given)

        async def two_steps(name: str, arguments: dict) -> dict:
            asked = mcp_answer(await session.call_tool(name, {"call_id": call_id, **arguments, "confirm": False}))
            confirm = {"call_id": call_id, **arguments, "confirm": True, "confirmation_id": asked["confirmation_id"]}
            return mcp_answer(await session.call_tool(name, confirm))

        found = mcp_answer(
            await session.call_tool("find_appointment_times", {"call_id": call_id, "visit_type": "follow-up"})
        )
        booked = await two_steps("book_appointment", {"offer_id": found["data"][0]["id"]})
        moved = await two_steps(
            "reschedule_appointment", {"appointment_id": booked["data"]["id"], "offer_id": found["data"][1]["id"]}
        )
        return found, booked, moved

    found, booked, moved = mcp(gateway, agent.api_key, steps)
    assert found["status"] == "ok" and len(found["data"]) == 3
    assert booked["status"] == "ok" and booked["data"]["status"] == "booked"
    assert moved["status"] == "ok" and moved["data"]["old_status"] == "cancelled", moved
    assert [b["cancelled"] for b in sandbox._control("GET", "schedule")["booked"]] == [True, False]


def test_a_reschedule_to_a_time_taken_meanwhile_leaves_the_old_appointment(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    first = _booked(api, call_id, _slots(api, call_id).json()["data"][0]["id"]).json()["data"]
    offers = _slots(api, call_id).json()["data"]
    path = f"/api/v1/calls/{call_id}/appointments/{first['id']}/reschedule"
    asked = api.post(path, {"offer_id": offers[0]["id"], "confirm": False}, format="json").json()
    sandbox.add_fault("/fhir/Appointment", error_rate=1.0, error_status=409)  # the server: that slot is taken

    moved = api.post(path, {"offer_id": offers[0]["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]},
                     format="json").json()  # fmt: skip

    assert moved["status"] == "conflict" and len(moved["data"]) == 3, moved
    assert [b["cancelled"] for b in sandbox._control("GET", "schedule")["booked"]] == [False]  # the old one stands


def test_offers_narrow_to_a_provider_handle_and_to_days_in_the_site_time_zone(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    first = _slots(api, call_id).json()["data"][0]
    day = (timezone.now() + timedelta(days=8)).astimezone(ZoneInfo("America/New_York")).date()
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)  # a weekday: the clinic is open

    by_provider = _slots(api, call_id, provider=first["provider_id"], after=day.isoformat(), before=day.isoformat())
    unknown = _slots(api, call_id, provider="pv-" + "0" * 16)
    not_a_handle = _slots(api, call_id, provider="Dr. Test 1")

    offers = by_provider.json()["data"]
    assert offers and all(o["provider_id"] == first["provider_id"] for o in offers), by_provider.json()
    assert all(datetime.fromisoformat(o["datetime"]).date() == day for o in offers)
    assert unknown.status_code == 400 and "provider" in unknown.json()["errors"]
    assert not_a_handle.status_code == 400 and "provider" in not_a_handle.json()["errors"]


def test_a_time_taken_meanwhile_is_offered_again_with_the_provider_and_day_the_caller_asked_for(
    api, scheduling_site, sandbox, patient
):
    first, second = verified_call(api, patient), verified_call(api, patient)
    name = _slots(api, first).json()["data"][-1]["provider_name"]
    handles = {  # a provider's handle is the call's own
        call_id: next(o["provider_id"] for o in _slots(api, call_id).json()["data"] if o["provider_name"] == name)
        for call_id in (first, second)
    }
    day = (timezone.now() + timedelta(days=8)).astimezone(ZoneInfo("America/New_York")).date()
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)  # a weekday: the clinic is open
    days = {"after": day.isoformat(), "before": day.isoformat()}
    offer = _slots(api, first, provider=handles[first], **days).json()["data"][0]
    narrowed = _slots(api, second, provider=handles[second], **days).json()["data"]
    other = next(o for o in narrowed if o["datetime"] == offer["datetime"])

    assert _booked(api, first, offer["id"]).status_code == 201
    lost = _booked(api, second, other["id"]).json()

    assert lost["status"] == "conflict" and lost["data"], lost
    assert all(o["provider_id"] == handles[second] for o in lost["data"]), lost["data"]
    assert all(datetime.fromisoformat(o["datetime"]).date() == day for o in lost["data"]), lost["data"]
    assert other["datetime"] not in [o["datetime"] for o in lost["data"]]


def test_ending_the_call_erases_its_offers_and_bookings(api, scheduling_site, sandbox, patient):
    call_id = verified_call(api, patient)
    _booked(api, call_id, _slots(api, call_id).json()["data"][0]["id"])
    kept = [f"call:{call_id}:data:{name}" for name in (sc.OFFERS, sc.BOOKED)]
    assert all(cache.get(key) for key in kept)

    api.post(f"/api/v1/calls/{call_id}/end", {}, format="json")

    assert [cache.get(key) for key in kept] == [None, None]


def test_the_admin_says_which_scheduling_path_the_site_takes_and_why(admin_client, scheduling_site, sandbox):
    page = admin_client.get(f"/admin/ehr_integrations/healthsystem/{scheduling_site.pk}/change/").content.decode()

    routes = page.split('id="write-routes"', 1)[1].split("</table>", 1)[0]
    assert "<td>scheduling</td><td>slot_search</td>" in routes
    assert "Slot search, Appointment create and patch are advertised" in routes


def test_one_call_cannot_book_out_the_schedule(api, scheduling_site, sandbox, patient, settings):
    settings.WRITES_PER_CALL = {**settings.WRITES_PER_CALL, "appointments": 2}
    call_id = verified_call(api, patient)
    answers = []
    for _ in range(3):
        offer = _slots(api, call_id).json()["data"][0]
        asked = _book(api, call_id, {"offer_id": offer["id"], "confirm": False}).json()
        confirm = {"offer_id": offer["id"], "confirm": True, "confirmation_id": asked["confirmation_id"]}
        answers.append((_book(api, call_id, confirm), confirm))

    assert [a.status_code for a, _ in answers] == [201, 201, 200]
    assert (answers[2][0].json()["status"], answers[2][0].json()["reason"]) == ("refused", "write_limit")
    assert len(sandbox._control("GET", "schedule")["booked"]) == 2
    assert _book(api, call_id, answers[0][1]).status_code == 200  # a retried confirm is never refused
