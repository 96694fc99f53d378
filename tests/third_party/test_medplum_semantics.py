"""What the third-party server does with the searches the gateway sends, asked directly (no gateway):
the evidence for telling a gateway assumption from a server gap in test_medplum_calls.py.

Each case is a search and the ids FHIR R4 says it finds; where Medplum answers otherwise the case is
xfail(strict=True), so a Medplum upgrade that closes the gap shows up here.
"""

from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from tests.third_party.population import ADA, MRN_SYSTEM, instant

pytestmark = pytest.mark.third_party
APPOINTMENTS_OF_ADA = {"appt-ada-soon", "appt-ada-later", "appt-ada-cancelled", "appt-ada-past", "appt-ada-noshow"}


def gap(reason: str):
    return pytest.mark.xfail(strict=True, reason=f"Medplum gap: {reason}")


CASES = [
    pytest.param("Patient", f"identifier={ADA.mrn},NOPE", {"pat-ada"}, id="comma-is-an-or-list"),
    pytest.param("Patient", f"identifier={ADA.mrn}\\,NOPE", set(), id="escaped-comma-is-literal"),
    pytest.param("Patient", f"identifier={MRN_SYSTEM}|{ADA.mrn}", {"pat-ada"}, id="system-pipe-value"),
    pytest.param(
        "Patient",
        f"identifier={MRN_SYSTEM}\\|{ADA.mrn}",
        set(),
        id="escaped-pipe-is-literal",
        marks=gap("an escaped | still splits system from value"),
    ),
    pytest.param("Patient", "family=okaf&birthdate=1961-07-14", {"pat-ada", "pat-bea"}, id="string-prefix-any-case"),
    pytest.param(
        "Patient",
        "family=kafor",
        set(),
        id="string-is-a-prefix-match",
        marks=gap("string search matches anywhere in the value, not from its start"),
    ),
    pytest.param(
        "Patient",
        "family=Nunez",
        {"pat-carlos"},
        id="string-ignores-accents",
        marks=gap("string search is not accent-insensitive"),
    ),
    pytest.param("Appointment", "patient=Patient/pat-ada", APPOINTMENTS_OF_ADA, id="typed-reference"),
    pytest.param(
        "Appointment",
        "patient=pat-ada",
        APPOINTMENTS_OF_ADA,
        id="bare-id-reference",
        marks=gap("a reference parameter given as [id] (R4 search, reference) matches nothing"),
    ),
]


@pytest.mark.parametrize(("resource_type", "query", "expected"), CASES)
def test_a_search_finds_what_fhir_r4_says(medplum, resource_type, query, expected):
    bundle = _search(medplum, resource_type, query)
    assert bundle["resourceType"] == "Bundle"
    assert {e["resource"]["id"] for e in bundle.get("entry") or []} == expected


def _search(medplum, resource_type: str, query: str) -> dict:
    """POST [type]/_search, as the gateway asks: each value percent-encoded in a form body."""
    pairs = (pair.split("=", 1) for pair in query.split("&"))
    form = "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return httpx.post(f"{medplum.fhir_url}/{resource_type}/_search", content=form, headers=headers, timeout=5).json()


def test_two_date_bounds_both_apply_to_the_start(medplum):
    # As the gateway asks for a range: ge and lt on the Appointment's date (its start), instants in UTC.
    since, until = (instant(medplum.now + timedelta(days=d)) for d in (2, 4))
    query = f"patient=Patient/pat-ada&date=ge{since}&date=lt{until}"
    assert [e["resource"]["id"] for e in _search(medplum, "Appointment", query)["entry"]] == ["appt-ada-soon"]


@gap("a search with _count answers no next link (the in-memory repository cuts the page, `total` tells the rest)")
def test_a_page_smaller_than_the_matches_links_to_the_next(medplum):
    bundle = httpx.get(f"{medplum.fhir_url}/Appointment", params={"patient": "Patient/pat-ada", "_count": 2}).json()
    assert len(bundle["entry"]) == 2 and bundle["total"] == len(APPOINTMENTS_OF_ADA)
    assert [link["relation"] for link in bundle.get("link") or []].count("next") == 1


def test_a_missing_resource_is_a_404_with_an_operation_outcome(medplum):
    response = httpx.get(f"{medplum.fhir_url}/Patient/nobody-here")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome" and response.json()["issue"][0]["code"] == "not-found"
