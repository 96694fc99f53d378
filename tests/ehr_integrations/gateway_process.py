"""One gateway process for the multi-process tests: continuous FHIR calls, then a JSON report on stdout.

    python -m tests.ehr_integrations.gateway_process SLUG SECONDS

It prints "ready" once set up, then starts when a line arrives on stdin, so all processes start together.
"""

import json
import sys
import time

import django


def main(slug: str, seconds: float) -> dict:
    django.setup()
    from ehr_integrations.auth import token_cache
    from ehr_integrations.errors import EHRError
    from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
    from ehr_integrations.models import HealthSystem
    from ehr_integrations.transport import io_loop

    client = fhir_client(connection_config(HealthSystem.objects.get(slug=slug)))
    print("ready", flush=True)
    sys.stdin.readline()
    calls, waited, errors, slowest_ms = 0, [], [], 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        waits_before = token_cache.STATS.waits
        started = time.monotonic()
        deadline = deadline_in(5)
        try:
            io_loop.wait(client.search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1), deadline=deadline)
        except EHRError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        if calls:
            slowest_ms = max(slowest_ms, (time.monotonic() - started) * 1000)
        if token_cache.STATS.waits > waits_before:
            waited.append(calls)
        calls += 1
        time.sleep(0.02)
    return {"calls": calls, "waited": waited, "errors": errors, "slowest_ms_after_first": slowest_ms}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], float(sys.argv[2]))))
