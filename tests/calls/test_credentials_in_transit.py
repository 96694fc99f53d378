"""Credentials at rest and in transit: no EHR token readable in a copy of Redis, no agent key in a URL
or an access log, WebSocket tickets single-use and bound to their call."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from calls.session import socket_tickets
from ehr_integrations.auth import token_cache
from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.transport import io_loop
from tests import builders
from tests.calls.conftest import open_call, verified_call, wait_for_prefetch, wire_to_sandbox
from tests.calls.live_gateway import _database_url, _free_port, stop

ROOT = Path(__file__).resolve().parents[2]


def test_a_redis_dump_after_a_call_holds_no_access_token_in_plaintext(api, patient, site):
    call_id = verified_call(api, patient)
    wait_for_prefetch(call_id)
    assert api.get(f"/api/v1/calls/{call_id}/appointments").json()["status"] == "ok"
    deadline = io_loop.deadline_in(2)
    token = io_loop.wait(token_cache.access_token(connection_config(site), deadline=deadline), deadline=deadline)
    store = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(store.scan_iter(count=1000))
    assert any(b"ehr:token" in key for key in keys)  # the token is there, sealed
    leaks = [key for key in keys if token.encode() in (store.dump(key) or b"") or token.encode() in key]
    assert leaks == []
    assert token[: len(token) // 2].encode() not in b"".join(store.dump(k) or b"" for k in keys)


def test_a_plaintext_token_entry_from_before_is_not_used(site):
    config = connection_config(site)
    cache.set(
        token_cache._key(config, "token"),
        {"access_token": "old-plain", "expires_at": time.time() + 300, "fetched_at": time.time()},
    )
    deadline = io_loop.deadline_in(2)
    assert io_loop.wait(token_cache.peek(config), deadline=deadline) is None


# -- WebSocket tickets ------------------------------------------------------------------------------------


def _ticket(api, call_id: str) -> dict:
    response = api.post(f"/api/v1/calls/{call_id}/ws-ticket")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ok" and body["data"]["expires_in"] == 60
    return body["data"]


def test_a_ticket_opens_the_socket_once(gateway, api, site):
    call_id = open_call(api)
    ticket = _ticket(api, call_id)["ticket"]
    url = f"{gateway.ws_url}/ws/calls/{call_id}/?ticket={ticket}"
    with connect(url, open_timeout=5):
        pass
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5)
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body)["status"] == "error"


def test_a_ticket_for_another_call_is_refused_and_used_up(gateway, api, site):
    first, second = open_call(api), open_call(api)
    ticket = _ticket(api, first)["ticket"]
    with pytest.raises(InvalidStatus):
        connect(f"{gateway.ws_url}/ws/calls/{second}/?ticket={ticket}", open_timeout=5)
    with pytest.raises(InvalidStatus):
        connect(f"{gateway.ws_url}/ws/calls/{first}/?ticket={ticket}", open_timeout=5)


def test_another_clients_call_gets_no_ticket(api, site):
    other = builders.agent_client("Other Voice", site)
    foreign_call = open_call(api)
    intruder = api.__class__()
    intruder.credentials(HTTP_AUTHORIZATION=f"Api-Key {other.api_key}")
    response = intruder.post(f"/api/v1/calls/{foreign_call}/ws-ticket")
    assert response.status_code == 404 and response.json()["errors"] == {"call_id": "not found"}


def test_a_ticket_lives_sixty_seconds_and_only_its_hash_is_stored(api, site):
    call_id = open_call(api)
    ticket = _ticket(api, call_id)["ticket"]
    key = socket_tickets._key(ticket)
    assert 0 < cache.ttl(key) <= 60
    store = redis.Redis.from_url(settings.REDIS_URL)
    assert not any(ticket.encode() in (store.dump(k) or b"") + k for k in store.scan_iter(count=1000))


def test_the_header_key_still_opens_the_socket(gateway, api, agent, site):
    call_id = open_call(api)
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    with connect(f"{gateway.ws_url}/ws/calls/{call_id}/", additional_headers=headers, open_timeout=5):
        pass


# -- access logs --------------------------------------------------------------------------------------------


def _serve(command: list[str], log: Path, port: int) -> subprocess.Popen:
    env = os.environ | {"DATABASE_URL": _database_url(), "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def _scripted_call(base: str, key: str, patient: dict, *, websocket: bool) -> None:
    headers = {"Authorization": f"Api-Key {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        call_id = http.post("/api/v1/calls", json={"health_system": "riverside"}).json()["data"]["call_id"]
        verified = http.post(
            f"/api/v1/calls/{call_id}/verify", json={"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]}
        )
        assert verified.json()["status"] == "verified"
        http.get(f"/api/v1/calls/{call_id}/appointments", params={"key": key})  # a key where it must not go
        if websocket:
            ws = base.replace("http://", "ws://", 1)
            ticket = http.post(f"/api/v1/calls/{call_id}/ws-ticket").json()["data"]["ticket"]
            with connect(f"{ws}/ws/calls/{call_id}/?ticket={ticket}", open_timeout=5):
                pass
            with connect(f"{ws}/ws/calls/{call_id}/?key={key}", open_timeout=5):  # deprecated, still accepted
                pass
        http.post(f"/api/v1/calls/{call_id}/end", json={})


def _logs_of_a_scripted_call(
    sandbox, patient: dict, log: Path, server: list[str], *, websocket: bool
) -> tuple[str, str]:
    """Serve the gateway with `server` (`{port}` filled in), play one scripted call through it and return
    the server's log and the agent key the call used."""
    system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id="gw-riverside")
    key = builders.agent_client("Acme Voice", system).api_key
    port = _free_port()
    process = _serve([sys.executable, "-m", *(arg.format(port=port) for arg in server)], log, port)
    try:
        _scripted_call(f"http://127.0.0.1:{port}", key, patient, websocket=websocket)
    finally:
        stop(process)
    return log.read_text(), key


UVICORN = ["uvicorn", "config.asgi:application", "--host=127.0.0.1", "--port={port}", "--lifespan=off",
           "--ws=websockets-sansio", "--log-level=info"]  # fmt: skip
GRANIAN = ["config.rest_server", "--port={port}", "--workers=1", "--threads=4", "--access-log"]


@pytest.mark.django_db(transaction=True)
def test_uvicorn_access_logs_of_a_scripted_call_carry_no_agent_key(sandbox, patient, tmp_path):
    text, key = _logs_of_a_scripted_call(sandbox, patient, tmp_path / "uvicorn.log", UVICORN, websocket=True)
    assert "/ws/calls/" in text and "/verify" in text  # the access and WebSocket lines were written
    assert key not in text and key.split("_")[-1] not in text
    assert "key=" not in text and "ticket=" not in text


@pytest.mark.django_db(transaction=True)
def test_the_rest_servers_access_log_prints_no_query_string(sandbox, patient, tmp_path):
    text, key = _logs_of_a_scripted_call(sandbox, patient, tmp_path / "granian.log", GRANIAN, websocket=False)
    assert "/appointments" in text  # the access log was written
    assert key not in text and "key=" not in text
