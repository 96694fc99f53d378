"""Benchmark: the sandbox EHR under 500 concurrent requests with log-normal latency (p50 800 ms) injected.

Acceptance (issue 3): every request answered, measured p50 within 10% of the injected p50.
Measured at the client, over connections opened beforehand (as the gateway's keep-alive pool has
them); `--cold` also counts opening 500 connections at once, which on a busy 2-core box adds ~1 s.
Prints its figures (no file), led by the commit measured and whether the working tree was dirty.

    .venv/bin/python bench/sandbox_latency.py [--requests 500] [--p50-ms 800] [--p99-ms 2000]
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import provenance  # noqa: E402

READY_PREFIX = "sandbox listening on "


def start_sandbox(patients: int) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "manage.py", "run_sandbox_ehr", "--port=0", f"--patients={patients}"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith(READY_PREFIX):
        process.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, line[len(READY_PREFIX) :].strip()


async def one(session: aiohttp.ClientSession, url: str, headers: dict, params: dict) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.get(url, headers=headers, params=params) as response:
        await response.read()
        return response.status, (time.perf_counter() - started) * 1000


async def _json(response_cm) -> object:
    async with response_cm as response:
        response.raise_for_status()
        return await response.json()


async def run(base_url: str, requests: int, p50_ms: float, p99_ms: float, *, cold: bool = False) -> dict:
    # aiohttp's client, not httpx: httpx's connection pool itself adds seconds at 500 concurrent
    # connections, which would measure the client rather than the sandbox.
    connector = aiohttp.TCPConnector(limit=requests)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        client = {"client_id": "bench", "scopes": ["system/*.read"], "auth": "client_secret_basic", "secret": "b"}
        await _json(session.post("/_control/clients", json=client))
        form = {"grant_type": "client_credentials", "scope": "system/*.read"}
        basic = {"Authorization": aiohttp.encode_basic_auth("bench", "b")}
        token = await _json(session.post("/oauth2/token", data=form, headers=basic))
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        patients = await _json(session.get("/_control/patients"))

        async def burst() -> list[tuple[int, float]]:
            return await asyncio.gather(
                *(
                    one(session, "/fhir/Appointment", headers, {"patient": patients[i % len(patients)]["id"]})
                    for i in range(requests)
                )
            )

        if not cold:
            # Open the connections first, as the gateway's keep-alive pool would have them open.
            await burst()
        fault = {"path": "/fhir/*", "latency_p50_ms": p50_ms, "latency_p99_ms": p99_ms}
        await _json(session.post("/_control/faults", json=fault))
        await _json(session.delete("/_control/requests"))
        started = time.perf_counter()
        results = await burst()
        wall = time.perf_counter() - started
        server_log = await _json(session.get("/_control/requests"))
    latencies = sorted(ms for _, ms in results)
    return {
        "requests": requests,
        "answered_200": sum(1 for status, _ in results if status == 200),
        "wall_s": round(wall, 2),
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(latencies[int(0.90 * len(latencies))], 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        "server_logged": len(server_log),
        "server_p50_ms": round(statistics.median(e["duration_ms"] for e in server_log), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--p50-ms", type=float, default=800)
    parser.add_argument("--p99-ms", type=float, default=2000)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--cold", action="store_true", help="measure with connection setup (no warm pool)")
    args = parser.parse_args()
    measured = provenance.current()
    print(f"measuring {provenance.describe(measured)}", flush=True)
    process, base_url = start_sandbox(args.patients)
    try:
        report = asyncio.run(run(base_url, args.requests, args.p50_ms, args.p99_ms, cold=args.cold))
    finally:
        process.terminate()
        process.wait(timeout=10)
    deviation = abs(report["p50_ms"] - args.p50_ms) / args.p50_ms
    ok = report["answered_200"] == args.requests and deviation <= 0.10
    for key, value in report.items():
        print(f"{key:>16}: {value}")
    print(f"{'p50 deviation':>16}: {deviation:.1%} (limit 10%)")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
