"""Fault drills on the gateway's own stores: Redis restarted mid-call, Postgres unavailable.

The gateway process uses a private redis-server and reaches the test database through a proxy,
so these drills kill and cut them without disturbing anyone else's Redis or Postgres.
"""

import pytest

from tests.faults.conftest import assert_no_phi, assert_no_phi_in_log, wait_ready
from tests.faults.drill import assert_refusal, ehr_requests, timed, verified_call, wait_prefetched

pytestmark = pytest.mark.faults
# The gateway's own stores are down: typed, no transfer it could not read, no PHI.
STORE_DOWN = {"status": "unavailable", "reason": "gateway_store_unavailable", "transfer": None, "retry_after_ms": 5000}


def _fails_closed(response, patient: dict) -> None:
    assert response.status_code >= 500
    assert_no_phi(response.text, patient)
    assert "prefetch" not in response.text and "appointments" not in response.text.lower().replace("/appointments", "")


def test_redis_down_mid_call_fails_closed_and_after_its_restart_the_lost_session_must_verify_again(
    site, sandbox, private_redis, drill_gateway
):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.reset_log()
    private_redis.kill()

    down, waited = timed(site.api.get, f"{call}/appointments")
    _fails_closed(down, site.patient)
    assert waited < 3.0  # Redis socket timeouts are 1 s (connect) and 2 s (read)

    private_redis.restart()  # empty: the session store and the prefetched PHI are gone
    after, waited = timed(site.api.get, f"{call}/appointments")
    assert_refusal(after, "not_verified", 403)
    assert waited < 1.0
    assert ehr_requests(sandbox) == []  # nothing was fetched again for a session the gateway forgot
    assert_no_phi_in_log(drill_gateway.log, site.patient)


def test_redis_down_mid_call_answers_the_contracts_unavailable_envelope(site, private_redis):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    private_redis.kill()
    down = site.api.get(f"{call}/appointments")
    assert down.status_code == 503
    assert down.json() | {"say": ""} == STORE_DOWN | {"say": ""} and down.json()["say"]


def test_postgres_unavailable_fails_closed_within_the_pool_timeout_and_recovers_once_it_is_back(
    site, sandbox, private_redis, database_proxy, drill_gateway
):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.reset_log()
    database_proxy.cut()

    down, waited = timed(site.api.get, f"{call}/appointments")
    _fails_closed(down, site.patient)  # the PHI is in Redis, but no key can be checked nor access audited
    assert waited < 3.0  # DATABASE_POOL_TIMEOUT_S is 1 s in the drills
    ready = site.api.get("/readyz")
    assert (ready.status_code, ready.json()["failed"]) == (503, ["database"])
    assert ehr_requests(sandbox) == []

    database_proxy.restore()
    assert wait_ready(drill_gateway.process) < 10.0  # the pool reconnects with backoff
    back = site.api.get(f"{call}/appointments").json()
    assert back["status"] == "ok" and back["source"] == "prefetch"
    assert_no_phi_in_log(drill_gateway.log, site.patient)


def test_postgres_unavailable_answers_the_contracts_unavailable_envelope(site, private_redis, database_proxy):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    database_proxy.cut()
    down = site.api.get(f"{call}/appointments")
    assert down.status_code == 503
    assert down.json() | {"say": ""} == STORE_DOWN | {"say": ""} and down.json()["say"]
