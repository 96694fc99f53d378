"""HTTP concerns of the call endpoints: keys, scoping, envelope, bad input."""

import pytest
from rest_framework.test import APIClient

from ehr_integrations.models import HealthSystem
from tests import builders
from tests.calls.conftest import open_call

pytestmark = pytest.mark.django_db


def test_open_call_describes_what_verification_needs(api):
    response = api.post("/api/v1/calls", {"health_system": "riverside", "caller_phone": "+15555550123"}, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["state"] == "unverified"
    assert data["verification"] == {
        "required": ["date_of_birth", "mrn"],
        "attempts_left": 3,
        "ask": "date_of_birth",
        "prompt": "To confirm who you are, could you tell me your date of birth?",
    }


def test_missing_or_wrong_key_is_401(agent):
    anonymous = APIClient()
    assert anonymous.post("/api/v1/calls", {"health_system": "riverside"}, format="json").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Api-Key vgw_nope_nope")
    response = anonymous.post("/api/v1/calls", {"health_system": "riverside"}, format="json")
    assert response.status_code == 401
    assert response.json()["status"] == "error"


def test_health_system_not_allowed_is_404(api, other_agent_client):
    response = api.post("/api/v1/calls", {"health_system": "elsewhere"}, format="json")
    assert response.status_code == 404


def test_a_revoked_grant_or_disabled_system_is_404_at_once(api, agent, site):
    """The grant is checked in the database on every open (the health system itself is a process copy)."""
    assert api.post("/api/v1/calls", {"health_system": "riverside"}, format="json").status_code == 201
    agent.health_systems.remove(site)
    assert api.post("/api/v1/calls", {"health_system": "riverside"}, format="json").status_code == 404
    agent.health_systems.add(site)
    assert api.post("/api/v1/calls", {"health_system": "riverside"}, format="json").status_code == 201
    HealthSystem.objects.filter(pk=site.pk).update(enabled=False)  # a bulk update: no signal clears the copies
    response = api.post("/api/v1/calls", {"health_system": "riverside"}, format="json")
    assert response.status_code == 404 and response.json()["errors"] == {"health_system": "not found"}


def test_another_clients_call_is_404(api, site):
    call_id = open_call(api)
    intruder = builders.agent_client("Intruder", site)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {intruder.api_key}")
    for path in ("", "/appointments", "/patient", "/transfer"):
        assert other.get(f"/api/v1/calls/{call_id}{path}").status_code == 404, path
    assert other.post(f"/api/v1/calls/{call_id}/end", {}, format="json").status_code == 404


def test_bad_input_names_the_field_without_echoing_it(api):
    call_id = open_call(api)
    response = api.post(
        f"/api/v1/calls/{call_id}/verify", {"date_of_birth": "1961-13-45", "ssn_last4": "12x4"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"date_of_birth", "ssn_last4"}
    assert "1961-13-45" not in response.content.decode() and "12x4" not in response.content.decode()
    response = api.post(f"/api/v1/calls/{call_id}/verify", {"shoe_size": 9}, format="json")
    assert response.status_code == 400 and response.json()["errors"] == {"shoe_size": "unknown field"}
    response = api.post("/api/v1/calls", {"health_system": "riverside", "caller_phone": "555"}, format="json")
    assert response.json()["errors"] == {"caller_phone": "must be E.164"}


def test_malformed_json_is_400(api):
    response = api.generic("POST", "/api/v1/calls", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"status": "error", "errors": {"body": "request body is not valid JSON"}}


def test_agent_without_current_baa_cannot_open_calls(site):
    uncovered = builders.agent_client("No BAA Voice", site, baa=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {uncovered.api_key}")
    response = client.post("/api/v1/calls", {"health_system": "riverside"}, format="json")
    assert response.status_code == 403
    assert "business associate agreement" in response.json()["errors"]["health_system"]


def test_terminated_baa_stops_phi_within_the_coverage_window(api, agent, patient):
    from calls.session import baa_gate
    from compliance.models import BusinessAssociateAgreement
    from tests.calls.conftest import verified_call

    call_id = verified_call(api, patient)
    BusinessAssociateAgreement.objects.filter(business_associate=agent.business_associate).update(status="terminated")
    baa_gate._covered.clear()  # the minute of trusted coverage has passed
    response = api.get(f"/api/v1/calls/{call_id}/appointments")
    assert response.status_code == 403
    assert "data" not in response.json()


def test_transfer_routes_without_verification(api):
    call_id = open_call(api)
    response = api.get(f"/api/v1/calls/{call_id}/transfer?purpose=clinical")
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["transfer"] == {"name": "Clinical desk", "phone": "+15555550102", "purpose": "clinical"}
    assert body["say"]
    assert api.get(f"/api/v1/calls/{call_id}/transfer?purpose=gossip").status_code == 400


def test_ended_call_answers_410_and_reports_ended(api):
    call_id = open_call(api)
    assert api.post(f"/api/v1/calls/{call_id}/end", {}, format="json").json() == {"status": "ended"}
    assert api.get(f"/api/v1/calls/{call_id}/appointments").status_code == 410
    assert api.get(f"/api/v1/calls/{call_id}").json()["data"]["state"] == "ended"
