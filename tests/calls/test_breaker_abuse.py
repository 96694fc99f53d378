"""A caller's input that the EHR answers with a 5xx cannot open the breaker for everyone; an outage can.

The sandbox fails only searches carrying one birth date (`when_param`), a valid input as far as the
gateway can tell. Each failed search of a call, and of one claimed value from one agent client,
counts toward the breaker at most once a minute (issue 18).
"""

import pytest

from ehr_integrations.transport import breaker, io_loop
from tests.calls.conftest import open_call, verify

pytestmark = pytest.mark.django_db
POISON = "1961-04-02"


def patient_breaker(site) -> str:
    return io_loop.wait(breaker.state_of(site.id, "Patient"), deadline=io_loop.deadline_in(2))


def failed_turn(api, call_id: str, date_of_birth: str, guess: int) -> dict:
    answer = verify(api, call_id, date_of_birth=date_of_birth, mrn=f"ZZ-{guess:06d}").json()
    assert (answer["status"], answer["reason"]) == ("unavailable", "server_error"), answer
    return answer


def test_three_turns_of_one_caller_and_many_calls_with_one_birth_date_leave_it_closed(api, site, sandbox):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=500, when_param={"birthdate": POISON})
    call_id = open_call(api)
    for guess in range(3):
        failed_turn(api, call_id, POISON, guess)
    for guess in range(3, 12):
        failed_turn(api, open_call(api), POISON, guess)
    assert patient_breaker(site) == "closed"
    ok = verify(api, open_call(api), date_of_birth="1970-01-01", mrn="ZZ-1").json()
    assert ok["status"] == "needs_more"  # everyone else is still searched


def test_an_outage_seen_by_many_different_callers_opens_it(api, site, sandbox):
    sandbox.add_fault("/fhir/Patient*", error_rate=1.0, error_status=500)
    for day in range(1, 6):  # min_calls 5, all failing
        failed_turn(api, open_call(api), f"1970-01-{day:02d}", day)
    assert patient_breaker(site) == "open"
    answer = verify(api, open_call(api), date_of_birth="1970-02-01", mrn="ZZ-1").json()
    assert (answer["status"], answer["reason"]) == ("unavailable", "breaker_open")
