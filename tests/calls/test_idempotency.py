"""Idempotency-Key on POSTs: a platform's retry gets the first answer and changes nothing."""

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from calls.models import CallSession
from tests import builders
from tests.calls.conftest import open_call

pytestmark = pytest.mark.django_db


def post(api, path: str, body: dict, key: str):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retried_verify_returns_the_first_answer_and_counts_one_attempt(api, patient):
    call_id = open_call(api)
    wrong = {"date_of_birth": "1900-01-01", "mrn": patient["mrn"]}
    first = post(api, f"/api/v1/calls/{call_id}/verify", wrong, "turn-1")
    retry = post(api, f"/api/v1/calls/{call_id}/verify", wrong, "turn-1")
    assert first.json()["status"] == "needs_more"
    assert (retry.status_code, retry.json()) == (first.status_code, first.json())
    assert retry["Idempotent-Replayed"] == "true"
    assert CallSession.objects.get(pk=call_id).failed_attempts == 1


def test_the_same_key_with_a_different_body_is_a_409(api, patient):
    call_id = open_call(api)
    post(api, f"/api/v1/calls/{call_id}/verify", {"mrn": patient["mrn"]}, "turn-2")
    response = post(api, f"/api/v1/calls/{call_id}/verify", {"mrn": "other"}, "turn-2")
    assert response.status_code == 409 and set(response.json()["errors"]) == {"idempotency_key"}


def test_a_retried_open_returns_the_same_call(api, agent):
    first = post(api, "/api/v1/calls", {"health_system": "riverside"}, "open-1")
    retry = post(api, "/api/v1/calls", {"health_system": "riverside"}, "open-1")
    assert first.status_code == retry.status_code == 201
    assert first.json()["data"]["call_id"] == retry.json()["data"]["call_id"]
    assert CallSession.objects.filter(agent_client=agent).count() == 1


def test_a_retried_end_answers_ended_again(api):
    call_id = open_call(api)
    assert post(api, f"/api/v1/calls/{call_id}/end", {}, "end-1").json() == {"status": "ended"}
    assert post(api, f"/api/v1/calls/{call_id}/end", {}, "end-1").json() == {"status": "ended"}


def test_keys_belong_to_one_agent_client(api, site):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {builders.agent_client('Other', site).api_key}")
    mine = post(api, "/api/v1/calls", {"health_system": "riverside"}, "shared-key")
    theirs = post(other, "/api/v1/calls", {"health_system": "riverside"}, "shared-key")
    assert mine.json()["data"]["call_id"] != theirs.json()["data"]["call_id"]


def test_the_key_store_holds_nothing_readable_about_the_caller(api, patient):
    call_id = open_call(api)
    key = "turn-with-identifiers"
    post(api, f"/api/v1/calls/{call_id}/verify", {"date_of_birth": patient["birth_date"]}, key)
    redis = get_redis_connection("default")
    stored = b" ".join(redis.get(name) or b"" for name in redis.keys("*idempotency*"))
    assert stored and patient["birth_date"].encode() not in stored and key.encode() not in stored
    assert b"needs_more" not in stored  # answers are encrypted at rest


def test_an_overlong_key_is_refused(api):
    response = post(api, "/api/v1/calls", {"health_system": "riverside"}, "k" * 300)
    assert response.status_code == 400
