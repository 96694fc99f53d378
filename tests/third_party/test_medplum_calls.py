"""Whole calls over the REST API against a FHIR server the project did not write (Medplum's router and
in-memory repository; conftest.py), for a generic-vendor site configured from the docs alone.

Where the gateway fails against it, the test is marked xfail(strict=True) with the cause: a gateway
assumption (fixed elsewhere, then the mark goes) or a gap of this server against FHIR R4
(test_medplum_semantics.py pins each such gap down without the gateway).
"""

from datetime import timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest

from ehr_integrations.fhir.client import deadline_in
from ehr_integrations.fhir.escaping import escape
from ehr_integrations.fhir.patient_search import find_candidates
from ehr_integrations.fhir.site import client_for
from ehr_integrations.models import EHRConnection
from ehr_integrations.normalize.mapping import load_mapping
from ehr_integrations.setup.connection_check import check_connection
from ehr_integrations.transport import io_loop
from tests.calls.conftest import open_call, verify, wait_for_prefetch
from tests.third_party.population import ADA, BEA, CARLOS, MRN_SYSTEM

pytestmark = [pytest.mark.third_party, pytest.mark.django_db]
SITE_TZ = ZoneInfo("America/New_York")  # tests/builders.py health_system()
ESCAPE_PIPE_GAP = pytest.mark.xfail(
    strict=True, reason="Medplum gap: an escaped | still splits system from value (test_medplum_semantics.py)"
)


def _verified(api, person) -> str:
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=person.birth_date, mrn=person.mrn).json()
    assert answer["status"] == "verified", answer
    return call_id


def _candidates(site, **given: str) -> list[str]:
    client = client_for(site)
    deadline = deadline_in(5)
    found = io_loop.wait(find_candidates(client, load_mapping(site), given, deadline=deadline), deadline=deadline)
    return [patient.id for patient in found]


def _since(medplum, start: int) -> list[dict]:
    return medplum.requests()[start:]


def _searched(requests: list[dict], resource_type: str) -> list[dict]:
    """The form bodies of the searches of one type, parsed."""
    path = f"/fhir/{resource_type}/_search"
    return [parse_qs(r["body"]) for r in requests if r["method"] == "POST" and r["path"] == path]


def test_a_call_verified_over_two_turns_reads_the_patient_and_messages_and_ends(api, medplum):
    start = len(medplum.requests())
    call_id = open_call(api)
    first = verify(api, call_id, date_of_birth=ADA.birth_date).json()
    assert first["status"] == "needs_more" and first["missing"] == ["mrn"] and first["attempts_left"] == 3
    assert verify(api, call_id, mrn=ADA.mrn).json()["status"] == "verified"
    wait_for_prefetch(call_id)

    patient = api.get(f"/api/v1/calls/{call_id}/patient").json()
    assert patient["status"] == "ok"
    assert patient["data"] == {"given_name": "Ada", "family_name": "Okafor", "preferred_name": "Addie",
                               "phone": ADA.phone}  # fmt: skip
    messages = api.get(f"/api/v1/calls/{call_id}/messages").json()
    assert messages["status"] == "ok"
    # From the care team to Ada, newest first: not the one she sent, not her twin's.
    assert [(m["id"], m["sender"], m["subject"]) for m in messages["data"]] == [
        ("msg-ada-labs", "Dr. Lena Ortiz", "Lab results"),
        ("msg-ada-refill", "Dr. Sam Patel", "Refill approved"),
    ]
    assert "Lena Ortiz" in messages["say"]

    assert api.post(f"/api/v1/calls/{call_id}/end", {}, format="json").json()["status"] == "ended"
    assert api.get(f"/api/v1/calls/{call_id}/messages").status_code == 410

    # One patient search, by MRN narrowed by the birth date, in a form body; no identifier in any URL.
    asked = _since(medplum, start)
    assert _searched(asked, "Patient") == [{"identifier": [ADA.mrn], "birthdate": [ADA.birth_date]}]
    assert all(r["query"] == "" for r in asked)


@pytest.mark.parametrize(
    ("person", "family", "given"),
    [(ADA, "Okafor", "Ada"), (BEA, "Okafor", "Bea"), (ADA, "OKAFOR", "ada")],
    ids=["ada", "her-twin", "spelled-in-capitals"],
)
def test_birth_date_and_names_verify_the_twin_the_caller_named(api, medplum, person, family, given):
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=person.birth_date, family_name=family, given_name=given).json()
    assert answer["status"] == "verified", answer
    patient = api.get(f"/api/v1/calls/{call_id}/patient").json()
    assert patient["data"]["given_name"] == person.given


def test_names_verify_when_the_caller_spells_the_accents(api, medplum):
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=CARLOS.birth_date, family_name="Núñez", given_name="Carlos").json()
    assert answer["status"] == "verified", answer


@pytest.mark.xfail(
    strict=True,
    reason="server gap: FHIR R4 string search matches 'after both have been normalized by case and accent'; "
    "Medplum's in-memory matcher folds case only, so family=Nunez finds no Núñez (the gateway's own name "
    "comparison is accent-insensitive, but it never sees the candidate)",
)
def test_names_verify_when_speech_recognition_drops_the_accents(api, medplum):
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=CARLOS.birth_date, family_name="Nunez", given_name="Carlos").json()
    assert answer["status"] == "verified", answer


# At the service level, below the edge's validation of what a caller can say (as the issue asks).
@pytest.mark.parametrize(
    "mrn",
    [
        f"{ADA.mrn},NOPE",
        f"{ADA.mrn},{BEA.mrn}",
        f"{ADA.mrn}\\",
        f"{ADA.mrn}$x",
        pytest.param(f"{MRN_SYSTEM}|{ADA.mrn}", marks=ESCAPE_PIPE_GAP),
    ],
    ids=["or-list", "two-mrns", "backslash", "dollar", "system-pipe"],
)
def test_an_mrn_with_search_syntax_reaches_the_server_escaped_and_finds_nobody(site, medplum, mrn):
    start = len(medplum.requests())
    assert _candidates(site, date_of_birth=ADA.birth_date, mrn=mrn) == []
    assert _searched(_since(medplum, start), "Patient") == [
        {"identifier": [escape(mrn)], "birthdate": [ADA.birth_date]}
    ]


def test_an_mrn_with_a_system_pipe_never_verifies_over_the_api(api, medplum):
    # Medplum finds Ada for it (the gap above): the edge refuses the value, or the MRN compared locally differs.
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=ADA.birth_date, mrn=f"{MRN_SYSTEM}|{ADA.mrn}").json()
    assert answer["status"] in ("needs_more", "error"), answer


def test_a_wrong_family_name_costs_an_attempt_and_the_third_escalates(api, medplum):
    call_id = open_call(api)
    wrong = {"date_of_birth": ADA.birth_date, "family_name": "Okafo", "given_name": "Ada"}
    assert [verify(api, call_id, **wrong).json()["attempts_left"] for _ in range(2)] == [2, 1]
    third = verify(api, call_id, **wrong).json()
    assert third["status"] == "escalate" and third["transfer"]["purpose"] == "verification"
    assert api.get(f"/api/v1/calls/{call_id}/appointments").status_code == 403


@pytest.mark.parametrize(
    ("range_", "expected"),
    [
        ("upcoming", ["appt-ada-soon", "appt-ada-later"]),
        ("past", ["appt-ada-noshow", "appt-ada-past"]),
        ("cancelled", ["appt-ada-noshow", "appt-ada-cancelled"]),
    ],
)
def test_appointments_in_each_range(api, medplum, range_, expected):
    call_id = _verified(api, ADA)
    answer = api.get(f"/api/v1/calls/{call_id}/appointments?range={range_}").json()
    assert answer["status"] == "ok"
    assert [a["id"] for a in answer["data"]] == expected
    assert {(a["provider_name"], a["location"]) for a in answer["data"]} == {
        ("Dr. Lena Ortiz", "Riverside Clinic, Suite 200")
    }


def test_active_medications_with_refills_counted_from_the_dispenses(api, medplum):
    call_id = _verified(api, ADA)
    answer = api.get(f"/api/v1/calls/{call_id}/medications").json()
    assert answer["status"] == "ok"
    last_fill = (medplum.now - timedelta(days=30)).astimezone(SITE_TZ).date().isoformat()
    assert [
        (m["id"], m["name"], m["prescriber_name"], m["refills_remaining"], m["last_filled"], m["refill_eligible"])
        for m in answer["data"]
    ] == [
        # three repeats allowed, two fills (the first is not a refill): two left
        ("rx-ada-lisinopril", "Lisinopril 10 mg oral tablet", "Dr. Lena Ortiz", 2, last_fill, True),
        # the name behind a Medication reference; no repeats allowed
        ("rx-ada-metformin", "Metformin 500 mg oral tablet", "Dr. Lena Ortiz", 0, None, False),
    ]


def test_test_connection_records_what_the_server_advertises(site, api, medplum):
    report = check_connection(site)
    steps = {step.name: step for step in report.steps}
    assert steps["Metadata"].ok and "medplum" in steps["Metadata"].detail.lower()
    facts = EHRConnection.objects.get(health_system=site).server_capabilities["resources"]
    assert {"birthdate", "family", "given", "identifier"} <= set(facts["Patient"]["search_params"])
    assert "search-type" in facts["Appointment"]["interactions"]
    # The server advertises no searchInclude: calls stop asking for _include, names come from reads.
    start = len(medplum.requests())
    call_id = _verified(api, ADA)
    messages = api.get(f"/api/v1/calls/{call_id}/messages?wait=1").json()
    assert [m["sender"] for m in messages["data"]] == ["Dr. Lena Ortiz", "Dr. Sam Patel"]
    wait_for_prefetch(call_id)
    assert not [body for body in _searched(_since(medplum, start), "Communication") if "_include" in body]
