"""FHIR searches the gateway relies on, over real HTTP on the generic flavour."""

from datetime import date, timedelta

import httpx
import pytest


@pytest.fixture
def complete(sandbox):
    case = sandbox.hard_cases()["complete"]
    return next(p for p in sandbox.patients() if p["id"] == case)


def ids(bundle, mode="match"):
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def test_identifier_with_and_without_system(sandbox, complete):
    with_system = sandbox.fhir_get(
        "Patient", {"identifier": f"http://sandbox.example.org/fhir/sid/mrn|{complete['mrn']}"}
    )
    without = sandbox.fhir_get("Patient", {"identifier": complete["mrn"]})
    wrong_system = sandbox.fhir_get("Patient", {"identifier": f"urn:oid:9.9|{complete['mrn']}"})

    assert ids(with_system) == ids(without) == [complete["id"]]
    assert ids(wrong_system) == []


def test_family_given_and_birthdate_narrow_to_the_patient(sandbox, complete):
    bundle = sandbox.fhir_get(
        "Patient",
        {"family": complete["family"].upper(), "given": complete["given"][:3], "birthdate": complete["birth_date"]},
    )

    assert ids(bundle) == [complete["id"]]


def test_phone_search_accepts_any_formatting(sandbox, complete):
    digits = complete["phone"][-10:]

    for value in (complete["phone"], digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"):
        assert ids(sandbox.fhir_get("Patient", {"phone": value})) == [complete["id"]]


def test_hard_cases_shared_name_and_birth_date_and_shared_phone_return_two(sandbox):
    cases = sandbox.hard_cases()
    truth = {p["id"]: p for p in sandbox.patients()}
    twin = truth[cases["shared_name_and_birth_date"][0]]
    household = truth[cases["shared_phone"][0]]

    twins = sandbox.fhir_get(
        "Patient", {"family": twin["family"], "given": twin["given"], "birthdate": twin["birth_date"]}
    )
    shared = sandbox.fhir_get("Patient", {"phone": household["phone"]})

    assert sorted(ids(twins)) == sorted(cases["shared_name_and_birth_date"])
    assert sorted(ids(shared)) == sorted(cases["shared_phone"])
    assert truth[cases["no_phone"]]["phone"] is None


def test_count_pages_through_every_result_with_next_links(sandbox):
    first = sandbox.fhir_get("Patient", {"_count": 70})
    seen, page = ids(first), first
    while next_link := [link["url"] for link in page["link"] if link["relation"] == "next"]:
        assert "family" not in next_link[0] and "_getpages=" in next_link[0]
        page = sandbox.fhir_get(next_link[0])
        seen += ids(page)

    assert first["total"] == 200
    assert len(seen) == len(set(seen)) == 200


def test_unknown_parameter_is_ignored_with_a_warning_or_refused_when_strict(sandbox, complete):
    lenient = sandbox.fhir_get("Patient", {"identifier": complete["mrn"], "shoe-size": "9"})
    token = sandbox._access_token()
    strict = httpx.get(
        sandbox.fhir_url + "/Patient",
        params={"identifier": complete["mrn"], "shoe-size": "9"},
        headers={"Authorization": f"Bearer {token}", "Prefer": "handling=strict"},
    )

    assert ids(lenient) == [complete["id"]]
    outcome = next(e["resource"] for e in lenient["entry"] if e["search"]["mode"] == "outcome")
    assert outcome["issue"][0]["severity"] == "warning"
    assert strict.status_code == 400
    assert strict.json()["resourceType"] == "OperationOutcome"


def test_post_search_keeps_identifiers_out_of_the_url(sandbox, complete):
    token = sandbox._access_token()
    response = httpx.post(
        sandbox.fhir_url + "/Patient/_search",
        data={"family": complete["family"], "birthdate": complete["birth_date"]},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert complete["id"] in ids(response.json())


def test_appointments_by_patient_date_range_and_status(sandbox, complete):
    today = date.today()
    patient = f"Patient/{complete['id']}"
    cases = sandbox.hard_cases()

    upcoming = sandbox.fhir_get("Appointment", [("patient", patient), ("date", f"ge{today}")])
    booked = sandbox.fhir_get("Appointment", [("patient", patient), ("date", f"ge{today}"), ("status", "booked")])
    past = sandbox.fhir_get(
        "Appointment", [("patient", patient), ("date", f"lt{today}"), ("date", f"ge{today - timedelta(days=400)}")]
    )

    assert {cases["upcoming_appointment"], cases["cancelled_appointment"]} <= set(ids(upcoming))
    assert cases["cancelled_appointment"] not in ids(booked)
    assert cases["upcoming_appointment"] in ids(booked)
    assert cases["past_appointment"] in ids(past)
    starts = [e["resource"]["start"] for e in upcoming["entry"]]
    assert starts == sorted(starts)


def test_include_of_appointment_actors_adds_practitioner_and_location(sandbox, complete):
    bundle = sandbox.fhir_get("Appointment", {"patient": complete["id"], "_include": "Appointment:actor"})

    included = {e["resource"]["resourceType"] for e in bundle["entry"] if e["search"]["mode"] == "include"}
    assert {"Patient", "Practitioner", "Location"} <= included


def test_medication_requests_by_status_and_their_dispenses(sandbox, complete):
    cases = sandbox.hard_cases()

    active = sandbox.fhir_get("MedicationRequest", {"patient": complete["id"], "status": "active"})
    stopped = sandbox.fhir_get("MedicationRequest", {"patient": complete["id"], "status": "stopped"})
    no_refills = sandbox.fhir_get(f"MedicationRequest/{cases['no_refills']}")
    fills = sandbox.fhir_get("MedicationDispense", {"prescription": f"MedicationRequest/{cases['no_refills']}"})

    assert {cases["refills_left"], cases["no_refills"]} <= set(ids(active))
    assert cases["stopped_medication"] in ids(stopped)
    # 2 refills allowed and 3 fills (the first fill is not a refill): none left
    assert no_refills["dispenseRequest"]["numberOfRepeatsAllowed"] == 2
    assert fills["total"] == 3


def test_communications_by_subject_recipient_and_sent(sandbox, complete):
    message_id = sandbox.hard_cases()["message"]
    message = sandbox.fhir_get(f"Communication/{message_id}")
    sent_day = message["sent"][:10]

    by_subject = sandbox.fhir_get("Communication", {"subject": f"Patient/{complete['id']}", "sent": f"ge{sent_day}"})
    by_recipient = sandbox.fhir_get("Communication", {"recipient": message["recipient"][0]["reference"]})
    later = sandbox.fhir_get("Communication", {"subject": complete["id"], "sent": f"gt{sent_day}"})

    assert message_id in ids(by_subject)
    assert message_id in ids(by_recipient)
    assert message_id not in ids(later)


def test_practitioner_location_and_medication_reads(sandbox, complete):
    request = sandbox.fhir_get(f"MedicationRequest/{sandbox.hard_cases()['refills_left']}")
    practitioner = sandbox.fhir_get(request["requester"]["reference"])
    locations = sandbox.fhir_get("Location", {"name": "Clinic"})
    medication = sandbox.fhir_get("Medication", {"code": request["medicationCodeableConcept"]["coding"][0]["code"]})

    assert practitioner["resourceType"] == "Practitioner"
    assert practitioner["name"][0]["text"] == request["requester"]["display"]
    assert locations["total"] >= 1
    assert medication["total"] == 1
