"""Fault drill: the gateway process is SIGKILLed while a prefetch is in flight.

A fresh process must answer the next tool call from the EHR (live) or say it cannot; it must never
answer from a half-done prefetch nor invent anything.
"""

import pytest

from tests.faults.conftest import assert_no_phi_in_log
from tests.faults.drill import ehr_requests, timed, verified_call

pytestmark = pytest.mark.faults
PREFETCHED_PATHS = (
    "/fhir/Appointment*",
    "/fhir/MedicationRequest*",
    "/fhir/MedicationDispense*",
    "/fhir/Communication*",
)


def test_after_a_worker_dies_mid_prefetch_a_fresh_one_answers_live_with_the_ehrs_own_data(site, sandbox, drill_gateway):
    for path in PREFETCHED_PATHS:
        sandbox.add_fault(path, latency_ms=1500)  # the prefetch is still waiting when the worker dies
    call = verified_call(site)
    drill_gateway.process.kill()
    drill_gateway.start()
    sandbox.clear_faults()
    sandbox.reset_log()

    answer, waited = timed(site.api.get, f"{call}/appointments")

    body = answer.json()
    assert body["status"] == "ok" and body["source"] == "live", body
    assert waited < 2.0
    patient_id = site.patient["id"]
    truth = sandbox.fhir_get("Appointment", {"patient": patient_id})
    known = {
        entry["resource"]["id"]
        for entry in truth.get("entry", [])
        if entry["resource"]["resourceType"] == "Appointment"
    }
    assert {item["id"] for item in body["data"]} <= known  # nothing invented
    assert ("/fhir/Appointment/_search", 200) in ehr_requests(sandbox)
    assert_no_phi_in_log(drill_gateway.log, site.patient)
