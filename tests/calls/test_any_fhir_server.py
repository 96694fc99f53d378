"""Sites that differ from the preset's first guess, as real ones do: whole calls over HTTP against the
sandbox's strict options (a refused or absent `$match`, a grant narrower than the request)."""

import pytest
from rest_framework.test import APIClient

from ehr_integrations.models import VerificationPolicy
from tests import builders
from tests.calls.conftest import SCOPES, SECRET, open_call, verify, wire_to_sandbox

pytestmark = pytest.mark.django_db
NAMES_AND_BIRTH_DATE = ["date_of_birth", "family_name", "given_name"]


@pytest.fixture
def flavoured(sandbox_factory):
    """A sandbox of the flavour the test asks for (indirect parametrization), reset before and after."""

    def start(flavour: str):
        handle = sandbox_factory(flavour=flavour)
        handle.reset()
        started.append(handle)
        return handle

    started: list = []
    yield start
    for handle in started:
        handle.reset()


def _site(sandbox, *, client_id: str = "gw-riverside", **register):
    system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id=client_id)
    if register:
        sandbox.register_client(client_id, auth="client_secret_basic", secret=SECRET, **register)
    VerificationPolicy.objects.filter(health_system=system).update(
        factor_sets=[NAMES_AND_BIRTH_DATE, ["date_of_birth", "mrn"]]
    )
    agent = builders.agent_client("Acme Voice", system)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    return api


def _complete_patient(sandbox) -> dict:
    complete = sandbox.hard_cases()["complete"]
    return next(p for p in sandbox.patients() if p["id"] == complete)


def _by_name(api, patient: dict) -> dict:
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=patient["birth_date"], family_name=patient["family"],
                    given_name=patient["given"]).json()  # fmt: skip
    return {"call_id": call_id, **answer}


@pytest.mark.parametrize("refusal", ["refused", "absent"])
def test_a_refused_match_falls_back_to_search_in_the_same_turn_and_is_asked_once_per_connection(flavoured, refusal):
    sandbox = flavoured("epic")
    sandbox.set_strict(match=refusal)
    api = _site(sandbox)
    patient = _complete_patient(sandbox)
    first, second = _by_name(api, patient), _by_name(api, patient)
    assert first["status"] == second["status"] == "verified", (first, second)
    asked = [r for r in sandbox.requests() if r["path"] == "/fhir/Patient/$match"]
    assert len(asked) == 1
    appointments = api.get(f"/api/v1/calls/{second['call_id']}/appointments").json()
    assert appointments["status"] == "ok"


def test_a_match_the_site_allows_is_used_and_not_remembered_as_refused(flavoured):
    sandbox = flavoured("epic")
    api = _site(sandbox)
    patient = _complete_patient(sandbox)
    assert _by_name(api, patient)["status"] == _by_name(api, patient)["status"] == "verified"
    assert len([r for r in sandbox.requests() if r["path"] == "/fhir/Patient/$match"]) == 2


@pytest.mark.parametrize("flavour", ["generic", "epic", "oracle_health"])
def test_medications_answer_without_refill_figures_when_dispenses_are_not_granted(flavoured, flavour):
    sandbox = flavoured(flavour)
    patient = _complete_patient(sandbox)
    granted = _site(sandbox)
    call_id = open_call(granted)
    assert (
        verify(granted, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()["status"] == "verified"
    )
    full = granted.get(f"/api/v1/calls/{call_id}/medications?wait=1").json()
    assert full["status"] == "ok" and full["data"]
    # The same site, re-registered: the token endpoint grants everything but MedicationDispense.
    without_dispenses = [s for s in SCOPES if "MedicationDispense" not in s]
    sandbox.register_client("gw-riverside", scopes=without_dispenses, grant="narrow", auth="client_secret_basic",
                            secret=SECRET)  # fmt: skip
    sandbox.expire_tokens()
    sandbox.reset_log()
    call_id = open_call(granted)
    assert (
        verify(granted, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()["status"] == "verified"
    )
    answer = granted.get(f"/api/v1/calls/{call_id}/medications").json()
    assert answer["status"] == "ok"
    assert [m["id"] for m in answer["data"]] == [m["id"] for m in full["data"]]
    # The grant says so: the gateway does not ask, and what the fills would tell is left empty.
    assert not [r for r in sandbox.requests() if r["path"].startswith("/fhir/MedicationDispense")]
    assert all(m["refills_remaining"] is None and m["refill_eligible"] is None for m in answer["data"])
    assert any(m["refills_remaining"] is not None for m in full["data"])
    assert "can't tell" in answer["say"] and "none of them can be refilled" not in answer["say"]


@pytest.mark.parametrize("flavour", ["generic", "epic", "oracle_health"])
def test_upcoming_leaves_out_a_cancelled_visit_and_range_cancelled_names_it(flavoured, flavour):
    sandbox = flavoured(flavour)
    api = _site(sandbox)
    patient = _complete_patient(sandbox)
    cancelled = sandbox.hard_cases()["cancelled_appointment"]
    call_id = open_call(api)
    assert verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()["status"] == "verified"
    upcoming = api.get(f"/api/v1/calls/{call_id}/appointments").json()
    assert upcoming["status"] == "ok" and cancelled not in [a["id"] for a in upcoming["data"]]
    assert "cancelled" not in upcoming["say"]
    answer = api.get(f"/api/v1/calls/{call_id}/appointments?range=cancelled").json()
    assert answer["status"] == "ok" and cancelled in [a["id"] for a in answer["data"]]
    assert answer["say"].startswith("Your appointment ") and "cancelled" in answer["say"]


def test_a_core_resource_the_site_does_not_grant_answers_not_permitted_never_data_from_elsewhere(flavoured):
    from calls.models import FollowUp, FollowUpStatus

    sandbox = flavoured("generic")
    without_requests = [s for s in SCOPES if "MedicationRequest" not in s]
    api = _site(sandbox, scopes=without_requests, grant="narrow")
    patient = _complete_patient(sandbox)
    call_id = open_call(api)
    assert verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()["status"] == "verified"
    response = api.get(f"/api/v1/calls/{call_id}/medications")
    answer = response.json()
    assert response.status_code == 503 and answer["status"] == "unavailable" and answer["reason"] == "not_permitted"
    assert "data" not in answer and answer["transfer"]["purpose"] == "pharmacy"
    assert api.get(f"/api/v1/calls/{call_id}/appointments").json()["status"] == "ok"
    followup = FollowUp.objects.get(call_id=call_id, tool="medications")
    assert followup.status == FollowUpStatus.NEEDS_STAFF


def test_a_rate_limited_verification_says_so_with_the_sites_retry_after_and_costs_no_attempt(flavoured):
    sandbox = flavoured("generic")
    api = _site(sandbox)
    patient = _complete_patient(sandbox)
    call_id = open_call(api)
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=429, retry_after=7)
    response = verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"])
    answer = response.json()
    assert response.status_code == 503 and answer["reason"] == "rate_limited" and answer["retry_after_ms"] == 7000
    assert response["Retry-After"] == "7"
    sandbox.clear_faults()
    assert api.get(f"/api/v1/calls/{call_id}").json()["data"]["verification"]["attempts_left"] == 3
