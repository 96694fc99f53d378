"""Vapi and Retell adapters answer their platforms' recorded sample payloads (shapes from their docs)."""

import json
import time

import pytest

from calls.edges.webhooks.retell import sign
from calls.models import CallSession, WebhookSecret
from compliance import encryption

pytestmark = pytest.mark.django_db
RETELL_KEY = "key_retell_test_0123456789"


def vapi_tool_calls(call_id: str, *calls: tuple[str, str, dict]) -> dict:
    """A Vapi `tool-calls` server message as Vapi posts it (trimmed of artifact/assistant objects)."""
    items = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
    return {
        "message": {
            "timestamp": 1728393715369,
            "type": "tool-calls",
            "toolCalls": items,
            "toolCallList": items,
            "call": {"id": call_id, "type": "inboundPhoneCall", "status": "in-progress"},
            "customer": {"number": "+15555550142"},
            "phoneNumber": {"number": "+15555550100"},
        }
    }


def retell_function_call(call_id: str, name: str, args: dict) -> dict:
    """A Retell custom function request body: the function name, the call object, the args."""
    return {
        "name": name,
        "call": {
            "call_id": call_id,
            "agent_id": "agent_abc",
            "call_status": "ongoing",
            "direction": "inbound",
            "from_number": "+15555550142",
            "to_number": "+15555550100",
            "transcript": "Agent: How can I help?\nUser: When is my next appointment?",
        },
        "args": args,
    }


def test_vapi_tool_calls_verify_then_answer_with_results_by_tool_call_id(api, agent, patient):
    identifiers = {"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
    first = api.post(
        "/api/v1/webhooks/vapi/riverside",
        vapi_tool_calls("vapi-call-1", ("call_a", "get_patient", {}), ("call_b", "verify_caller", identifiers)),
        format="json",
    )
    assert first.status_code == 200
    results = first.json()["results"]
    assert [r["toolCallId"] for r in results] == ["call_a", "call_b"]
    assert json.loads(results[0]["result"])["status"] == "not_verified"
    assert json.loads(results[1]["result"])["status"] == "verified"
    second = api.post(
        "/api/v1/webhooks/vapi/riverside",
        vapi_tool_calls("vapi-call-1", ("call_c", "get_patient", json.dumps({}))),
        format="json",
    )
    answer = json.loads(second.json()["results"][0]["result"])
    assert answer["status"] == "ok" and answer["data"]["given_name"] == patient["given"]
    assert CallSession.objects.filter(agent_client=agent, external_id="vapi:vapi-call-1").count() == 1


def test_vapi_checks_its_secret_when_the_client_has_one(api, agent):
    WebhookSecret.objects.create(agent_client=agent, platform="vapi", secret_encrypted=encryption.encrypt("s3cret"))
    body = vapi_tool_calls("vapi-call-2", ("c1", "transfer", {"purpose": "pharmacy"}))
    assert api.post("/api/v1/webhooks/vapi/riverside", body, format="json").status_code == 401
    ok = api.post("/api/v1/webhooks/vapi/riverside", body, format="json", HTTP_X_VAPI_SECRET="s3cret")
    assert json.loads(ok.json()["results"][0]["result"])["data"]["transfer"]["purpose"] == "pharmacy"


def retell_post(api, body: dict, signature: str | None):
    raw = json.dumps(body).encode()
    extra = {"HTTP_X_RETELL_SIGNATURE": signature} if signature else {}
    return api.generic("POST", "/api/v1/webhooks/retell/riverside", raw, content_type="application/json", **extra), raw


def test_retell_function_call_with_a_valid_signature_gets_the_envelope(api, agent, patient):
    WebhookSecret.objects.create(agent_client=agent, platform="retell", secret_encrypted=encryption.encrypt(RETELL_KEY))
    body = retell_function_call("retell-1", "verify_caller", {"date_of_birth": patient["birth_date"]})
    raw = json.dumps(body).encode()
    signature = sign(raw, RETELL_KEY, int(time.time() * 1000))
    response, _ = retell_post(api, body, signature)
    assert response.status_code == 200
    assert response.json()["status"] == "needs_more" and response.json()["missing"]


def test_retell_refuses_a_missing_wrong_or_stale_signature(api, agent):
    WebhookSecret.objects.create(agent_client=agent, platform="retell", secret_encrypted=encryption.encrypt(RETELL_KEY))
    body = retell_function_call("retell-2", "transfer", {"purpose": "general"})
    raw = json.dumps(body).encode()
    now = int(time.time() * 1000)
    for signature in (None, sign(raw, "another-key", now), sign(raw, RETELL_KEY, now - 10 * 60 * 1000)):
        response, _ = retell_post(api, body, signature)
        assert response.status_code == 401, signature
    assert not CallSession.objects.filter(external_id="retell:retell-2").exists()


def test_a_webhook_needs_the_api_key(client):
    assert client.post("/api/v1/webhooks/vapi/riverside", {}, content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"message": "x"},
        {"message": {"type": "tool-calls", "call": "c", "toolCallList": []}},
        {"message": {"type": "tool-calls", "call": {"id": "c"}, "toolCallList": [{"function": "verify_caller"}]}},
        {"message": {"type": "tool-calls", "call": {"id": "c"}, "toolCallList": "all of them"}},
        {"message": {"type": "tool-calls", "call": {"id": "c"}, "customer": ["+1"], "toolCallList": []}},
    ],
)
def test_a_vapi_message_of_the_wrong_shape_is_a_json_400_naming_the_field(api, agent, body):
    response = api.post("/api/v1/webhooks/vapi/riverside", body, format="json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["status"] == "error" and response.json()["errors"]
