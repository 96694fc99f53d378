"""Load drill on the EHR client: many concurrent searches must cost the EHR's latency, not more.

Under 1,000 concurrent calls a gateway process keeps a hundred or more EHR requests in flight.
With one httpx pool this took 3-4x the EHR's latency (httpcore scans every pooled connection for
every request); the transport then spread requests over 16 small httpx pools, and now uses one
aiohttp session per I/O loop, whose pool keeps idle connections per host.
"""

import asyncio
import statistics
import time

import pytest

from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import EHRConnection
from ehr_integrations.transport import io_loop
from tests import builders
from tests.calls.conftest import wire_to_sandbox

pytestmark = [pytest.mark.faults, pytest.mark.django_db]
IN_FLIGHT = 150
EHR_LATENCY_S = 0.8


async def _searches(client, patient_ids: list[str]) -> list[float]:
    async def one(index: int) -> float:
        await asyncio.sleep(index * 0.005)  # arrivals spread over 0.75 s, as calls come in
        started = time.perf_counter()
        await client.search("Appointment", {"patient": patient_ids[index % len(patient_ids)]}, deadline=deadline_in(60))
        return time.perf_counter() - started

    return await asyncio.gather(*(one(i) for i in range(IN_FLIGHT)))


def test_150_concurrent_searches_on_a_warm_pool_take_about_the_ehrs_own_latency(sandbox):
    system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id="gw-riverside")
    EHRConnection.objects.filter(health_system=system).update(read_timeout_s=30, request_deadline_s=60)
    client = fhir_client(connection_config(system))
    patient_ids = [p["id"] for p in sandbox.patients()[:100]]
    sandbox.add_fault("/fhir/*", latency_ms=EHR_LATENCY_S * 1000)

    io_loop.wait(_searches(client, patient_ids), deadline=io_loop.deadline_in(60))  # fills the keep-alive pool
    waits = io_loop.wait(_searches(client, patient_ids), deadline=io_loop.deadline_in(60))

    assert statistics.median(waits) < 1.5 * EHR_LATENCY_S, statistics.median(waits)
