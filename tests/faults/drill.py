"""Steps the drills share: a verified call through the gateway process, timing, the EHR's request log."""

import time

import httpx

from calls.demo_call import SPOKEN
from tests.fixtures.processes import PrivateRedis, stored_entry_keys, wait_until

TOOLS = ("appointments", "medications", "messages")


def timed(send, *args, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send(*args, **kwargs)
    return response, time.monotonic() - started


def open_call(site) -> str:
    response = site.api.post("/api/v1/calls", json={"health_system": "riverside"})
    assert response.status_code == 201, response.text
    return f"/api/v1/calls/{response.json()['data']['call_id']}"


def verify_turns(site, call: str) -> httpx.Response:
    """The caller's date of birth, then whatever second factor the gateway asks for."""
    first = site.api.post(f"{call}/verify", json={"date_of_birth": site.patient["birth_date"]}).json()
    assert first["status"] == "needs_more", first
    given = {name: site.patient[SPOKEN[name]] for name in first["missing"]}
    return site.api.post(f"{call}/verify", json=given)


def verified_call(site) -> str:
    call = open_call(site)
    answer = verify_turns(site, call).json()
    assert answer["status"] == "verified", answer
    return call


def wait_prefetched(redis: PrivateRedis, call: str, timeout: float = 10.0) -> None:
    call_id = call.rsplit("/", 1)[-1]
    keys = stored_entry_keys("drill", call_id, list(TOOLS))
    wait_until(lambda: redis.client().exists(*keys) == len(keys), timeout=timeout, what="the prefetch")


def ehr_requests(sandbox) -> list[tuple[str, int | None]]:
    """(path, status) of every FHIR and token request the EHR received since its log was reset."""
    return [(entry["path"], entry["status"]) for entry in sandbox.requests()]


def assert_refusal(response: httpx.Response, status: str, http: int) -> dict:
    """A typed refusal: the contract's status, no data, a speakable line."""
    body = response.json()
    assert (response.status_code, body["status"]) == (http, status), body
    assert "data" not in body
    return body
