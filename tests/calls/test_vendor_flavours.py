"""The same call against each vendor flavour of the sandbox: Epic ($match, masked SSN), Oracle Health, generic."""

import pytest
from rest_framework.test import APIClient

from ehr_integrations.models import VerificationPolicy
from ehr_integrations.sandbox import hard_cases
from tests import builders
from tests.calls.conftest import open_call, verified_call, verify, wait_for_prefetch, wire_to_sandbox
from tests.calls.ehr_writes import make_writable, written

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["epic", "oracle_health", "generic"])
def flavoured(request, sandbox_factory):
    sandbox = sandbox_factory(flavour=request.param)
    sandbox.reset()
    system = builders.health_system(slug="riverside", vendor=request.param, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id=f"gw-{request.param}")
    agent = builders.agent_client("Acme Voice", system)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    hard = hard_cases.ids_in(sandbox.hard_cases())
    patient = next(p for p in sandbox.patients() if p["id"] not in hard and p["ssn_last4"] and p["phone"])
    return request.param, sandbox, system, api, patient


def test_full_name_and_birth_date_with_mrn_verifies_and_prefetches(flavoured):
    flavour, sandbox, system, api, patient = flavoured
    call_id = open_call(api)
    answer = verify(
        api,
        call_id,
        date_of_birth=patient["birth_date"],
        family_name=patient["family"],
        given_name=patient["given"],
        mrn=patient["mrn"],
    ).json()
    assert answer["status"] == "verified", answer
    paths = [r["path"] for r in sandbox.requests()]
    if flavour == "epic":
        assert "/fhir/Patient/$match" in paths
    wait_for_prefetch(call_id, names=("appointments", "medications"))
    appointments = api.get(f"/api/v1/calls/{call_id}/appointments").json()
    assert appointments["status"] == "ok" and appointments["source"] == "prefetch"
    medications = api.get(f"/api/v1/calls/{call_id}/medications").json()
    assert medications["status"] == "ok"
    assert api.get(f"/api/v1/calls/{call_id}/messages").json()["status"] == "ok"


def test_ssn_verifies_where_the_ehr_returns_it_and_never_where_it_does_not(flavoured):
    flavour, sandbox, system, api, patient = flavoured
    VerificationPolicy.objects.filter(health_system=system).update(
        factor_sets=[["date_of_birth", "ssn_last4"]], name_parts_required=["family_name"]
    )
    call_id = open_call(api)
    answer = verify(
        api, call_id, date_of_birth=patient["birth_date"], family_name=patient["family"], ssn_last4=patient["ssn_last4"]
    ).json()
    expected = "needs_more" if flavour == "oracle_health" else "verified"
    assert answer["status"] == expected, answer


def test_writes_take_each_vendors_published_route(flavoured):
    """Epic's R4 API creates Communication only; Oracle Health and generic R4 Task and Communication."""
    flavour, sandbox, system, api, _ = flavoured
    make_writable(system, sandbox)
    cases = sandbox.hard_cases()["refill_requests"]
    patient = next(p for p in sandbox.patients() if p["id"] == cases["patient"])
    call_id = verified_call(api, patient)
    refill = f"/api/v1/calls/{call_id}/refill-requests"
    asked = api.post(refill, {"medication_id": cases["refillable"], "confirm": False}, format="json").json()
    message = f"/api/v1/calls/{call_id}/care-team-messages"
    body = {"topic": "billing", "text": "Why was I billed twice", "confirm": False}
    noted = api.post(message, body, format="json").json()
    assert asked["status"] == noted["status"] == "confirm", (asked, noted)

    sent = api.post(refill, {"medication_id": cases["refillable"], "confirm": True,
                             "confirmation_id": asked["confirmation_id"]}, format="json")  # fmt: skip
    left = api.post(message, {**body, "confirm": True, "confirmation_id": noted["confirmation_id"]}, format="json")

    assert sent.status_code == left.status_code == 201, (sent.content, left.content)
    expected = "Communication" if flavour == "epic" else "Task"
    assert sent.json()["data"]["route"] == expected and left.json()["data"]["route"] == "Communication"
    assert sorted(w["resourceType"] for w in written(sandbox)) == sorted([expected, "Communication"])
