"""The call's WebSocket over a real server: who may listen, which events arrive, and when."""

import json
import time
from datetime import datetime

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from audit.models import AuditRecord
from tests import builders
from tests.audit.unwritable import audit_log_unwritable
from tests.calls.conftest import open_call, verified_call, verify, wait_for_prefetch

PAST = "/appointments?range=past&wait=0"


def socket(gateway, call_id: str, key: str):
    return connect(f"{gateway.ws_url}/ws/calls/{call_id}/?key={key}", open_timeout=5)


@pytest.fixture
def prefetched_call(api, patient) -> str:
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    return call_id


def next_event(ws, name: str, matches=lambda event: True, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        event = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if event["event"] == name and matches(event):
            return event


def answers(event: dict, tool: str, asked: str) -> bool:
    """Whether a fetch.result answers `tool?asked` (e.g. medications?status=stopped)."""
    name, _, value = asked.partition("=")
    return event["tool"] == tool and event["query"][name] == value


def test_a_socket_is_refused_without_the_owners_key(gateway, api, site):
    call_id = open_call(api)
    intruder = builders.agent_client("Intruder", site)
    for key in ("", "vgw_nope_nope", intruder.api_key):
        with pytest.raises(InvalidStatus) as refused:
            socket(gateway, call_id, key)
        assert refused.value.response.status_code == 403
        # The error envelope, the same for every refusal: nothing says whether the call exists.
        assert json.loads(refused.value.response.body) == {"status": "error", "errors": {"call_id": "not found"}}


def test_the_owner_hears_verified_then_prefetch_ready(gateway, api, agent, patient):
    call_id = open_call(api)
    with socket(gateway, call_id, agent.api_key) as ws:
        verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"])
        verified = next_event(ws, "verified")
        ready = next_event(ws, "prefetch.ready")
    assert verified["say"] and verified["call_id"] == call_id
    assert sorted(ready["ready"]) == ["appointments", "medications", "messages"] and ready["failed"] == []
    assert patient["given"] not in json.dumps([verified, ready])


QUERIES = {
    "/appointments?range=past": "/fhir/Appointment",
    "/medications?status=stopped": "/fhir/Medication",
    "/medications?status=completed": "/fhir/Medication",
}


def test_slow_ehr_pending_answer_is_instant_and_the_result_follows_on_the_socket(
    gateway, api, agent, prefetched_call, sandbox
):
    call_id = prefetched_call
    sandbox.reset_log()
    sandbox.add_fault("/fhir/*", latency_ms=1500)
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    timings, arrivals = [], {}
    with httpx.Client(base_url=gateway.url, headers=headers) as http, socket(gateway, call_id, agent.api_key) as ws:
        http.get(f"/api/v1/calls/{call_id}")  # keep-alive connection and key lookup warmed
        http.get(f"/api/v1/calls/{call_id}/medications?status=draft&wait=0")  # the server's worker pool too
        time.sleep(0.3)
        for query in QUERIES:  # one question at a time, as a caller asks them
            started = time.monotonic()
            pending = http.get(f"/api/v1/calls/{call_id}{query}&wait=0")
            timings.append((time.monotonic() - started) * 1000)
            assert pending.status_code == 202 and pending.json()["status"] == "pending", pending.text
            tool, _, asked = query.strip("/").partition("?")
            result = next_event(ws, "fetch.result", lambda e, t=tool, a=asked: answers(e, t, a))
            arrivals[query] = (time.time(), result)
    print(f"wait=0 answers (ms): {timings}")
    # `pending` does not wait for the 1.5 s EHR. The speed target (< 30 ms) is measured by bench/, not here.
    assert max(timings) < 1000, timings
    for query, path in QUERIES.items():
        arrived, result = arrivals[query]
        assert result["status"] == "ok" and isinstance(result["data"], list) and result["say"]
        # the EHR answer this result waited for: the last of that tool's requests to finish
        ended = [
            datetime.fromisoformat(r["at"]).timestamp() + r["duration_ms"] / 1000
            for r in sandbox.requests()
            if r["path"].startswith(path)
        ]
        answered = max(at for at in ended if at <= arrived)
        print(f"fetch.result {query}: {(arrived - answered) * 1000:.0f} ms after the EHR answered")
        assert (arrived - answered) * 1000 < 1000, (query, (arrived - answered) * 1000)  # target 100 ms: bench/
    delivered = AuditRecord.objects.filter(call_session=call_id, outcome="success", action="read")
    assert delivered.count() >= len(QUERIES)  # each socket delivery is a PHI answer, audited as it left


def test_a_failed_background_fetch_is_announced_as_unavailable(gateway, api, agent, prefetched_call, sandbox):
    call_id = prefetched_call
    sandbox.add_fault("/fhir/Appointment*", outage=True)
    with socket(gateway, call_id, agent.api_key) as ws:
        assert api.get(f"/api/v1/calls/{call_id}{PAST}").status_code == 202
        event = next_event(ws, "unavailable")
    assert event["tool"] == "appointments" and event["transfer"]["purpose"] == "scheduling" and event["say"]
    assert "data" not in event


def test_no_phi_leaves_on_the_socket_when_the_audit_log_is_down(gateway, api, agent, prefetched_call, sandbox):
    call_id = prefetched_call
    sandbox.add_fault("/fhir/Appointment*", latency_ms=200)
    with socket(gateway, call_id, agent.api_key) as ws, audit_log_unwritable():
        assert api.get(f"/api/v1/calls/{call_id}{PAST}").status_code == 202
        event = next_event(ws, "unavailable")
    assert event["reason"] == "audit_unavailable" and "data" not in event


def test_ending_the_call_sends_ended_and_closes_the_socket(gateway, api, agent, patient):
    call_id = verified_call(api, patient)
    with socket(gateway, call_id, agent.api_key) as ws:
        api.post(f"/api/v1/calls/{call_id}/end", {}, format="json")
        assert next_event(ws, "ended")["call_id"] == call_id
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)


def test_a_quiet_socket_outlives_the_channel_layers_blocking_pop(gateway, api, agent, patient):
    """The channel layer waits for events with a 5 s BZPOPMIN; a Redis client read timeout shorter than
    that (redis-py 8 defaults to 5 s) tears every quiet socket down. Seven silent seconds, then an event."""
    call_id = open_call(api)
    with socket(gateway, call_id, agent.api_key) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=7)  # nothing to hear yet, and the socket must stay open
        verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"])
        assert next_event(ws, "verified")["call_id"] == call_id
