"""The circuit breaker on the real shared cache (Redis): opening, failing fast, half-open probes, closing."""

import asyncio
import os
import subprocess
import sys
import time

from ehr_integrations import breaker, io_loop
from ehr_integrations.connection_config import BreakerPolicy
from ehr_integrations.errors import EHRUnavailable

POLICY = BreakerPolicy(failure_rate=0.5, min_calls=4, window_s=5, open_s=1, half_open_probes=2)
SYSTEM = 4242


def run(coro):
    return io_loop.run(coro, timeout=5)


async def _calls(outcomes: list[bool], endpoint: str = "Appointment") -> None:
    for failed in outcomes:
        permit = await breaker.before_call(SYSTEM, endpoint, POLICY)
        await breaker.record(permit, failure=failed, policy=POLICY)


def _open_breaker(endpoint: str = "Appointment") -> None:
    run(_calls([True] * POLICY.min_calls, endpoint))


def _wait_until_half_open() -> None:
    time.sleep(POLICY.open_s + 0.05)


async def _try(endpoint: str = "Appointment"):
    try:
        return await breaker.before_call(SYSTEM, endpoint, POLICY)
    except EHRUnavailable as exc:
        return exc


def test_breaker_stays_closed_below_the_minimum_number_of_calls():
    run(_calls([True] * (POLICY.min_calls - 1)))
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "closed"


def test_breaker_stays_closed_while_the_failure_rate_is_below_the_threshold():
    run(_calls([False, False, True, False, False, True, False]))
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "closed"


def test_breaker_opens_at_the_failure_rate_and_fails_fast():
    run(_calls([False, True, False, True]))
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "open"
    started = time.perf_counter()
    refused = run(_try())
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert isinstance(refused, EHRUnavailable) and refused.reason == "breaker_open"
    assert 0 < refused.retry_after <= POLICY.open_s
    assert elapsed_ms < 50


def test_breakers_are_per_endpoint():
    _open_breaker("Appointment")
    assert not isinstance(run(_try("MedicationRequest")), EHRUnavailable)


def test_half_open_lets_exactly_the_configured_probes_through():
    _open_breaker()
    _wait_until_half_open()

    async def many():
        return await asyncio.gather(*[_try() for _ in range(6)])

    answers = run(many())
    probes = [a for a in answers if isinstance(a, breaker.Permit)]
    assert len(probes) == POLICY.half_open_probes and all(p.probe for p in probes)
    assert all(a.reason == "breaker_open" for a in answers if isinstance(a, EHRUnavailable))


def test_successful_probes_close_the_breaker():
    _open_breaker()
    _wait_until_half_open()
    run(_calls([False] * POLICY.half_open_probes))
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "closed"
    run(_calls([True] * (POLICY.min_calls - 1)))  # a fresh window after closing
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "closed"


def test_a_failed_probe_reopens_the_breaker():
    _open_breaker()
    _wait_until_half_open()
    run(_calls([True]))
    assert run(breaker.state_of(SYSTEM, "Appointment")) == "open"


def test_transitions_are_kept_newest_first_for_the_admin():
    _open_breaker()
    _wait_until_half_open()
    run(_calls([False, False]))
    views, transitions = run(breaker.snapshot(SYSTEM))
    assert [t["to"] for t in transitions] == ["closed", "open"]
    assert [(v.endpoint, v.state) for v in views] == [("Appointment", "closed")]


OTHER_PROCESS = """
import django, sys
django.setup()
from ehr_integrations import breaker, io_loop
from ehr_integrations.connection_config import BreakerPolicy
from ehr_integrations.errors import EHRUnavailable
policy = BreakerPolicy(failure_rate=0.5, min_calls=4, window_s=5, open_s=1, half_open_probes=2)
print(io_loop.run(breaker.state_of(4242, sys.argv[1]), timeout=5))
try:
    io_loop.run(breaker.before_call(4242, sys.argv[1], policy), timeout=5)
    print("allowed")
except EHRUnavailable as exc:
    print(exc.reason)
"""


def _other_process(endpoint: str) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    command = [sys.executable, "-c", OTHER_PROCESS, endpoint]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_another_process_sees_the_same_open_breaker():
    long_open = BreakerPolicy(failure_rate=0.5, min_calls=4, window_s=5, open_s=30, half_open_probes=2)

    async def fail_four_times():
        for _ in range(4):
            await breaker.record(
                await breaker.before_call(SYSTEM, "Location", long_open), failure=True, policy=long_open
            )

    run(fail_four_times())
    assert _other_process("Location") == ["open", "breaker_open"]
    assert _other_process("Practitioner") == ["closed", "allowed"]
