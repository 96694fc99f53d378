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
def test_medications_answer_with_refills_as_prescribed_when_dispenses_are_not_granted(flavoured, flavour):
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
    for as_prescribed, after_dispenses in zip(answer["data"], full["data"], strict=True):
        if after_dispenses["refills_remaining"] is not None:
            assert as_prescribed["refills_remaining"] >= after_dispenses["refills_remaining"]
    dispense_searches = [r for r in sandbox.requests() if r["path"] == "/fhir/MedicationDispense"]
    assert all(r["status"] == 403 for r in dispense_searches)
