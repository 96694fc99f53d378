"""A health system wired to the sandbox EHR over real HTTP, an agent client for it, and an API client."""

import time

import pytest
from rest_framework.test import APIClient

from calls.session import baa_gate, session_store
from ehr_integrations.models import EHRConnection
from tests import builders
from tests.calls.live_gateway import gateway, gateway_process  # noqa: F401  (fixtures)

SCOPES = [
    "system/Patient.read",
    "system/Appointment.read",
    "system/MedicationRequest.read",
    "system/Medication.read",
    "system/MedicationDispense.read",
    "system/Communication.read",
    "system/Practitioner.read",
    "system/Location.read",
]
SECRET = "sandbox-test-secret"


def wire_to_sandbox(system, sandbox, *, client_id: str) -> None:
    connection = EHRConnection.objects.get(health_system=system)
    connection.auth_method = "client_secret_basic"
    connection.client_id = client_id
    connection.token_url = sandbox.token_url
    connection.read_timeout_s = 3
    connection.request_deadline_s = 4
    connection.max_retries = 0
    connection.set_client_secret(SECRET)
    connection.save()
    sandbox.register_client(client_id, scopes=SCOPES, auth="client_secret_basic", secret=SECRET)


@pytest.fixture(autouse=True)
def _forget_baa_coverage():
    baa_gate._covered.clear()


@pytest.fixture
def site(db, sandbox):
    system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id="gw-riverside")
    return system


@pytest.fixture
def agent(site):
    return builders.agent_client("Acme Voice", site)


@pytest.fixture
def api(agent) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    return client


@pytest.fixture
def patient(sandbox) -> dict:
    """Ground truth of the sandbox patient with one of everything (appointments, refills, messages)."""
    complete = sandbox.hard_cases()["complete"]
    return next(p for p in sandbox.patients() if p["id"] == complete)


def open_call(api, **extra) -> str:
    response = api.post("/api/v1/calls", {"health_system": "riverside", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]["call_id"]


def verify(api, call_id: str, **identifiers):
    return api.post(f"/api/v1/calls/{call_id}/verify", identifiers, format="json")


def verified_call(api, patient: dict) -> str:
    call_id = open_call(api)
    answer = verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()
    assert answer["status"] == "verified", answer
    return call_id


def wait_for_prefetch(call_id: str, names=("appointments", "medications", "messages"), timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(session_store.get(call_id, n) is not None for n in names):
            return
        time.sleep(0.02)
    raise AssertionError("prefetch did not complete")
