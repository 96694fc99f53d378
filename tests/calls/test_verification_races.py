"""Concurrent verification turns on one call cannot make more guesses than the call's limit.

Each turn is counted before the EHR is searched, so with the searches slowed down (every turn in
flight at once) only the limit's worth of turns reach the EHR; the rest escalate without a search.
"""

from concurrent.futures import ThreadPoolExecutor

import httpx

from calls.models import CallSession
from ehr_integrations.models import VerificationPolicy

TURNS = 8


def _patient_searches(sandbox) -> int:
    return sum(1 for entry in sandbox.requests() if entry["path"].startswith("/fhir/Patient"))


def test_concurrent_wrong_turns_make_no_more_ehr_searches_than_the_limit(gateway, agent, site, patient, sandbox):
    limit = VerificationPolicy.objects.get(health_system=site).max_failures_per_call
    headers = {"Authorization": f"Api-Key {agent.api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:

        def open_call() -> str:
            return http.post("/api/v1/calls", json={"health_system": "riverside"}).json()["data"]["call_id"]

        def wrong_turn(call_id: str, guess: int) -> str:
            given = {"date_of_birth": patient["birth_date"], "mrn": f"ZZ-{guess:06d}"}
            return http.post(f"/api/v1/calls/{call_id}/verify", json=given).json()["status"]

        sandbox.reset_log()
        assert wrong_turn(open_call(), 0) == "needs_more"
        per_turn = _patient_searches(sandbox)  # what one turn asks of the EHR
        call_id = open_call()
        sandbox.reset_log()
        sandbox.add_fault("/fhir/Patient*", latency_ms=500)
        with ThreadPoolExecutor(TURNS) as pool:
            statuses = list(pool.map(lambda guess: wrong_turn(call_id, guess), range(1, TURNS + 1)))

    assert per_turn >= 1
    assert _patient_searches(sandbox) <= limit * per_turn, statuses
    assert statuses.count("needs_more") <= limit - 1
    assert set(statuses) <= {"needs_more", "escalate"}
    assert CallSession.objects.get(pk=call_id).state == "escalated"
