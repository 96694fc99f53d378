"""The shared token cache over real HTTP: one fetch per lifetime for all processes, never on a caller's path."""

import json
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
from django.db import connection
from django.test import override_settings

from ehr_integrations.auth import token_cache
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.transport import io_loop
from tests.ehr_integrations.sandbox_systems import SCOPES, SECRET, fhir_requests, secret_system, token_requests

LIFETIME_S = 3
AHEAD = 0.15  # refresh when 15% of the lifetime is left
PROCESSES = 4


def _search(client):
    deadline = deadline_in(5)
    return io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)


def _gateway_env() -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EHR_TOKEN_MIN_REFRESH_INTERVAL_S": "0.5",
        "EHR_TOKEN_REFRESH_AHEAD": str(AHEAD),
        "LOG_LEVEL": "WARNING",
    }


@pytest.mark.django_db(transaction=True)
def test_four_processes_share_one_token_per_lifetime_and_never_wait_after_the_first_call(sandbox):
    secret_system(sandbox)
    sandbox.set_token_lifetime(LIFETIME_S)
    command = [sys.executable, "-m", "tests.ehr_integrations.gateway_process", "riverside", str(3 * LIFETIME_S)]
    workers = [
        subprocess.Popen(
            command,
            env=_gateway_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    assert all(worker.stdout.readline().strip() == "ready" for worker in workers)
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))

    assert all(r["errors"] == [] and r["calls"] > 50 for r in reports), reports
    # Only a process's first call may wait for a token (the one fetch every process shares).
    assert all(r["waited"] in ([], [0]) for r in reports), reports
    tokens = token_requests(sandbox)
    fetched_at = [datetime.fromisoformat(t["at"]).timestamp() for t in tokens]
    gaps = [b - a for a, b in zip(fetched_at, fetched_at[1:], strict=False)]
    # One fetch per lifetime: renewed once when 15% of it is left, never twice, by any process.
    assert 3 <= len(tokens) <= 4, tokens
    assert all(gap >= LIFETIME_S * (1 - AHEAD) - 0.3 for gap in gaps), gaps
    assert {r["status"] for r in fhir_requests(sandbox)} == {200}


@pytest.mark.django_db
def test_a_token_near_its_end_is_renewed_in_the_background_while_callers_use_the_old_one(sandbox, settings):
    settings.EHR_TOKEN_MIN_REFRESH_INTERVAL_S = 0
    settings.EHR_TOKEN_REFRESH_AHEAD = 0.5
    sandbox.set_token_lifetime(2)
    client = fhir_client(connection_config(secret_system(sandbox)))
    _search(client)
    time.sleep(1.1)  # under half of the lifetime left
    waits = token_cache.STATS.waits
    _search(client)
    assert token_cache.STATS.waits == waits  # the caller did not wait
    time.sleep(0.2)
    assert len(token_requests(sandbox)) == 2


@pytest.mark.django_db
def test_no_refresh_within_the_minimum_interval_unless_a_401_forces_one(sandbox, settings):
    settings.EHR_TOKEN_MIN_REFRESH_INTERVAL_S = 60
    settings.EHR_TOKEN_REFRESH_AHEAD = 1.0  # always "near its end"
    client = fhir_client(connection_config(secret_system(sandbox)))
    for _ in range(5):
        _search(client)
    time.sleep(0.2)
    assert len(token_requests(sandbox)) == 1
    sandbox.expire_tokens()
    _search(client)
    assert len(token_requests(sandbox)) == 2


@pytest.mark.django_db
def test_a_refused_token_request_is_not_repeated_during_the_failure_backoff(sandbox, settings):
    settings.EHR_TOKEN_FAILURE_BACKOFF_S = 30
    system = secret_system(sandbox)
    sandbox.clear_clients()  # the EHR no longer knows us
    client = fhir_client(connection_config(system))
    for _ in range(3):
        with pytest.raises(token_cache.EHRAuthError):
            _search(client)
    assert len(token_requests(sandbox)) == 1


@pytest.mark.django_db
def test_with_the_shared_cache_down_calls_still_get_through(sandbox):
    client = fhir_client(connection_config(secret_system(sandbox)))
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    with override_settings(CACHES=dead):  # restored before the fixtures' teardown clears the real cache
        assert _search(client).resources and _search(client).resources
    assert [r["status"] for r in fhir_requests(sandbox)] == [200, 200]
    # Degraded: nothing is shared with other processes, but this one keeps the token it fetched.
    assert len(token_requests(sandbox)) == 1


@pytest.mark.django_db
def test_a_process_uses_its_copy_of_the_shared_token_without_asking_the_cache(sandbox):
    from django.core.cache import cache

    config = connection_config(secret_system(sandbox))
    client = fhir_client(config)
    _search(client)
    cache.delete(token_cache._key(config, "token"))  # the shared copy is gone; this process's is not
    waits = token_cache.STATS.waits
    _search(client)
    assert token_cache.STATS.waits == waits and len(token_requests(sandbox)) == 1


@pytest.mark.django_db
def test_the_token_keeps_what_the_response_granted_not_what_was_asked(sandbox):
    system = secret_system(sandbox)
    narrowed = [s for s in SCOPES if "MedicationDispense" not in s]
    sandbox.register_client(
        f"gw-{system.slug}", scopes=narrowed, grant="narrow", auth="client_secret_basic", secret=SECRET
    )
    config = connection_config(system)
    deadline = deadline_in(5)
    granted = io_loop.wait(token_cache.granted_scopes(config, deadline=deadline), deadline=deadline)
    assert set(granted) == set(narrowed) and len(config.scopes) == len(narrowed) + 1


@pytest.mark.django_db(transaction=True)
def test_a_fresh_set_of_processes_discovering_the_token_url_makes_one_token_request(sandbox):
    secret_system(sandbox, token_url="")
    sandbox.set_token_lifetime(3600)
    command = [sys.executable, "-m", "tests.ehr_integrations.gateway_process", "riverside", "1.5"]
    workers = [
        subprocess.Popen(command, env=_gateway_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]  # fmt: skip
    assert all(worker.stdout.readline().strip() == "ready" for worker in workers)
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert all(r["errors"] == [] and r["calls"] > 10 for r in reports), reports
    assert [t["status"] for t in token_requests(sandbox)] == [200]
