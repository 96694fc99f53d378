"""Fault drills on the EHR side: outage, hang, 5xx burst, 429 with Retry-After, token endpoint down.

The gateway runs as a real uvicorn process; the sandbox injects the fault. Each drill checks the
typed answer, how long the agent waited, what the EHR was asked, and that no PHI came out.
"""

import time

import pytest

from ehr_integrations.models import EHRConnection
from tests.faults.conftest import assert_no_phi
from tests.faults.drill import (
    assert_refusal,
    ehr_requests,
    open_call,
    timed,
    verified_call,
    verify_turns,
    wait_prefetched,
)

pytestmark = pytest.mark.faults
PAST = {"range": "past"}  # never prefetched: always a live EHR search


def test_ehr_outage_mid_call_still_serves_prefetched_answers_and_refuses_live_ones_with_a_transfer(
    site, sandbox, private_redis
):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.add_fault("/fhir/*", outage=True)
    sandbox.reset_log()

    prefetched, waited = timed(site.api.get, f"{call}/appointments")
    assert prefetched.json()["status"] == "ok" and prefetched.json()["source"] == "prefetch"
    assert waited < 1.0

    live, waited = timed(site.api.get, f"{call}/appointments", params=PAST)
    body = assert_refusal(live, "unavailable", 503)
    assert body["reason"] == "server_error" and body["transfer"]["purpose"] == "scheduling" and body["say"]
    assert waited < 2.0
    assert ehr_requests(sandbox) == [("/fhir/Appointment/_search", 503)]
    assert_no_phi(live.text, site.patient)


def test_a_hanging_ehr_is_abandoned_at_the_read_timeout_with_a_typed_answer(site, sandbox, private_redis):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.add_fault("/fhir/Appointment*", hang=True)
    sandbox.reset_log()

    live, waited = timed(site.api.get, f"{call}/appointments", params=PAST)

    body = assert_refusal(live, "unavailable", 503)
    assert body["reason"] in ("timeout", "deadline_exceeded")
    assert 0.9 <= waited < 2.5  # read timeout 1 s, request deadline 1.5 s
    assert [path for path, _ in ehr_requests(sandbox)] == ["/fhir/Appointment/_search"]
    assert_no_phi(live.text, site.patient)


def test_a_5xx_burst_opens_the_breaker_which_then_answers_without_asking_the_ehr_and_recovers(
    site, sandbox, private_redis
):
    EHRConnection.objects.filter(pk=site.connection.pk).update(breaker_min_calls=3, breaker_open_s=1)
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.add_fault("/fhir/Appointment*", error_rate=1.0, error_status=500)
    sandbox.reset_log()

    reasons = []
    for _ in range(4):
        body = assert_refusal(site.api.get(f"{call}/appointments", params=PAST), "unavailable", 503)
        reasons.append(body["reason"])
        if body["reason"] == "breaker_open":
            break
    assert reasons[-1] == "breaker_open" and set(reasons[:-1]) == {"server_error"}, reasons
    failures = ehr_requests(sandbox)
    assert failures == [("/fhir/Appointment/_search", 500)] * (len(reasons) - 1)

    fast, waited = timed(site.api.get, f"{call}/appointments", params=PAST)
    assert assert_refusal(fast, "unavailable", 503)["reason"] == "breaker_open"
    assert waited < 0.5
    assert ehr_requests(sandbox) == failures  # the open breaker spared the EHR

    sandbox.clear_faults()
    time.sleep(1.1)  # breaker_open_s: the next call is the half-open probe
    recovered = site.api.get(f"{call}/appointments", params=PAST).json()
    assert recovered["status"] == "ok" and recovered["source"] == "live"


def test_a_429_with_retry_after_is_passed_to_the_agent_and_honoured_without_asking_again(site, sandbox, private_redis):
    call = verified_call(site)
    wait_prefetched(private_redis, call)
    sandbox.add_fault("/fhir/*", error_rate=1.0, error_status=429, retry_after=30)
    sandbox.reset_log()

    first, waited = timed(site.api.get, f"{call}/appointments", params=PAST)
    body = assert_refusal(first, "unavailable", 503)
    assert body["reason"] == "rate_limited" and body["retry_after_ms"] == 30_000
    assert first.headers["Retry-After"] == "30"
    assert waited < 2.0
    assert ehr_requests(sandbox) == [("/fhir/Appointment/_search", 429)]

    again, waited = timed(site.api.get, f"{call}/medications", params={"status": "completed"})
    body = assert_refusal(again, "unavailable", 503)
    assert body["reason"] == "rate_limited" and 25_000 < body["retry_after_ms"] <= 30_000
    assert waited < 0.5
    assert ehr_requests(sandbox) == [("/fhir/Appointment/_search", 429)]  # the hold covers the whole EHR
    assert_no_phi(first.text + again.text, site.patient)


def test_a_token_endpoint_outage_refuses_verification_with_the_verification_desk_then_recovers(site, sandbox):
    sandbox.add_fault(token_fail=True, error_status=503)
    call = open_call(site)

    refused, waited = timed(verify_turns, site, call)

    body = assert_refusal(refused, "unavailable", 503)
    assert body["transfer"]["purpose"] == "verification" and body["say"]
    assert waited < 2.0
    assert ehr_requests(sandbox) == [("/oauth2/token", 503)]  # no FHIR request without a token
    assert_no_phi(refused.text, site.patient)

    sandbox.clear_faults()
    sandbox.reset_log()
    patient = site.patient
    again = site.api.post(f"{call}/verify", json={"date_of_birth": patient["birth_date"], "mrn": patient["mrn"]})
    assert again.json()["status"] == "verified"
    assert ehr_requests(sandbox)[:2] == [("/oauth2/token", 200), ("/fhir/Patient/_search", 200)]
