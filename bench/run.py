"""`make bench`: the load bench, end to end, on this machine.

Starts a private PostgreSQL and Redis, the sandbox EHR with realistic latency (log-normal, p50
800 ms, p99 2 s) and the gateway (granian by default, 2 workers, DEBUG off); plays N concurrent scripted
calls through the gateway, quiet probes, then the same calls through a direct-FHIR baseline; writes
bench/results/<timestamp>.json, .md and .png plots (git-ignored, never committed), each naming the
commit measured and whether the working tree was dirty.

    python bench/run.py --calls 1000            # the full run
    python bench/run.py --calls 20 --speech 0.3 # a quick one while developing
"""

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
import uvloop  # noqa: E402

from bench import probes, profile, provenance, report, stats, world  # noqa: E402
from bench.baseline import DirectFhirAgent  # noqa: E402
from bench.clients import AgentHttp, ClientShards  # noqa: E402
from bench.monitor import Monitor  # noqa: E402
from bench.recorder import Recorder  # noqa: E402
from bench.script import SPEECH_S, Pacer, baseline_call, gateway_call, play  # noqa: E402
from config.gc_freeze import freeze_loaded_objects  # noqa: E402
from ehr_integrations.management.commands.run_sandbox_ehr import REALISTIC_LATENCY  # noqa: E402
from tests.fixtures.processes import GatewayProcess, PrivateRedis  # noqa: E402
from tests.fixtures.sandbox import start_sandbox  # noqa: E402

RESULTS = ROOT / "bench" / "results"
KEY_PREFIX = "gw_bench"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=int(os.environ.get("BENCH_CALLS", 1000)))
    parser.add_argument("--ramp", type=float, help="seconds over which calls start (default: 60%% of a call's speech)")
    parser.add_argument("--speech", type=float, default=1.0, help="scale of the speech pauses (0 = none)")
    parser.add_argument(
        "--probes", type=int, default=15, help="quiet one-at-a-time calls for the prefetch/live figures"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--server",
        choices=["granian", "uvicorn"],
        default="granian",
        help="REST API server (default granian, config/rest_server.py)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="threads per worker (default: granian 64; uvicorn ASGI_THREADS calls / workers + 16)",
    )
    parser.add_argument("--profile", action="store_true", help="record the gateway with py-spy during the load")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-token-latency", action="store_true", help="realistic latency on /fhir only")
    return parser.parse_args()


async def gateway_phase(
    args, w: world.World, gateway: GatewayProcess, sandbox, redis_server: PrivateRedis, store, postgres_pids
) -> tuple[Recorder, Monitor, int, int, probes.ProbeResults]:
    rec = Recorder("gateway")
    headers = {"Authorization": f"Api-Key {w.api_key}"}
    async with AgentHttp(gateway.base_url, headers) as http:
        warm = Recorder("warm-up")
        await play(warm, 3, 0, lambda i: gateway_call(http, warm, w.slug, w.callers[i], Pacer(0, i)))
        first_seq = probes.last_seq(sandbox)
        redis_before = redis_server.used_memory()
        monitor = Monitor(
            pids=gateway.pids(),
            sandbox_pid=sandbox.process.pid,
            redis_memory=redis_server.used_memory,
            active=lambda: rec.active,
            postgres_pids=postgres_pids,
            redis_pid=redis_server.process.pid,
        )
        monitor.start()
        under_load = asyncio.create_task(load_probes(args, w, http, sandbox, store, rec))
        try:
            await play(
                rec,
                args.calls,
                args.ramp,
                lambda i: gateway_call(http, rec, w.slug, w.callers[i], Pacer(args.speech, i)),
            )
        except BaseException:
            under_load.cancel()
            raise
        monitor.stop()
        probed = await under_load
    return rec, monitor, redis_before, first_seq, probed


async def load_probes(args, w: world.World, http: AgentHttp, sandbox, store, rec: Recorder) -> probes.ProbeResults:
    """The probes again, one at a time while the load runs (from a quarter into the ramp), on the probes'
    own health system; each notes how many of the load's calls were in progress when it began."""
    await asyncio.sleep(args.ramp / 4)
    parts = []
    for index in range(args.probes):
        if index and rec.active == 0:
            break  # the load is over
        in_progress = rec.active
        part = await probes.probe(
            http, sandbox=sandbox, store=store, key_prefix=KEY_PREFIX, slug=w.probe_slug,
            client_id=w.probe_client_id, caller=w.callers[-1 - index],
        )  # fmt: skip
        part.calls_in_progress.append(in_progress)
        parts.append(part)
    return probes.merge(parts)


async def probe_phase(args, w: world.World, gateway: GatewayProcess, sandbox, store) -> probes.ProbeResults:
    headers = {"Authorization": f"Api-Key {w.api_key}"}
    parts = []
    async with AgentHttp(gateway.base_url, headers) as http:
        for index in range(args.probes):
            caller = w.callers[index % len(w.callers)]
            parts.append(
                await probes.probe(
                    http, sandbox=sandbox, store=store, key_prefix=KEY_PREFIX, slug=w.slug,
                    client_id=w.gateway_client_id, caller=caller,
                )
            )  # fmt: skip
    return probes.merge(parts)


async def baseline_phase(args, w: world.World, sandbox) -> Recorder:
    rec = Recorder("baseline")

    def agent(index: int) -> DirectFhirAgent:
        return DirectFhirAgent(
            shards.for_call(index), base_url=sandbox.base_url, client_id=w.baseline_client_id, secret=w.baseline_secret
        )

    async with ClientShards(args.calls) as shards:
        await play(
            rec, args.calls, args.ramp, lambda i: baseline_call(agent(i), rec, w.callers[i], Pacer(args.speech, i))
        )
    return rec


def speculative_searches(rec: Recorder) -> dict[str, float]:
    """Call id -> when its speculative search ended (its audit record: action `search`)."""
    from audit.models import AuditRecord

    ids = [call.call_id for call in rec.calls if call.call_id]
    found = AuditRecord.objects.filter(call_session__in=ids, action="search").values_list("call_session", "recorded_at")
    return {call_id: at.timestamp() for call_id, at in found}


async def bench(
    args, w: world.World, gateway: GatewayProcess, sandbox, redis_server: PrivateRedis, postgres_pids
) -> dict:
    store = aioredis.Redis(host="127.0.0.1", port=redis_server.port)
    started = time.perf_counter()
    rec, monitor, redis_before, first_seq, under_load = await gateway_phase(
        args, w, gateway, sandbox, redis_server, store, postgres_pids
    )
    gateway_seconds = time.perf_counter() - started
    await asyncio.sleep(1)  # late prefetches of the last calls land
    redis_after = int((await store.info("memory"))["used_memory"])
    log = sandbox.requests()
    gateway_log = [e for e in log if e["seq"] > first_seq and e["client_id"] != w.probe_client_id]
    probe_results = await probe_phase(args, w, gateway, sandbox, store)
    probe_log_end = probes.last_seq(sandbox)
    baseline = None
    if not args.no_baseline:
        started = time.perf_counter()
        baseline_rec = await baseline_phase(args, w, sandbox)
        baseline_log = [e for e in sandbox.requests() if e["seq"] > probe_log_end]
        baseline = stats.phase_summary(baseline_rec, baseline_log, w.baseline_client_id, time.perf_counter() - started)
        baseline["raw"] = baseline_rec
    all_tokens = [
        e for e in sandbox.requests() if e["client_id"] == w.gateway_client_id and e["path"] == "/oauth2/token"
    ]
    idle = await probes.idle_wake(store)
    await store.aclose()
    gateway_summary = stats.phase_summary(rec, gateway_log, w.gateway_client_id, gateway_seconds)
    searched = await asyncio.to_thread(speculative_searches, rec)
    gateway_summary["completing_verify_ms"] = stats.completing_turns(rec, searched)
    gateway_summary["raw"] = rec
    return {
        "gateway": gateway_summary,
        "baseline": baseline,
        "probes": probe_results,
        "probes_under_load": under_load,
        "idle_wake": idle,
        "monitor": monitor,
        "redis_before": redis_before,
        "redis_after": redis_after,
        "gateway_token_requests_lifetime": len(all_tokens),
        "peak_active_calls": max((t.active_calls for t in monitor.ticks), default=0),
    }


def main() -> None:
    args = arguments()
    call_speech = sum(SPEECH_S.values()) * args.speech
    args.ramp = args.ramp if args.ramp is not None else 0.6 * call_speech
    threads = args.threads or (64 if args.server == "granian" else args.calls // args.workers + 16)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    measured = provenance.current()  # before anything starts: the code the gateway is about to load
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"bench {stamp}: {args.calls} calls over a {args.ramp:.0f} s ramp, speech x{args.speech}", flush=True)
    print(f"measuring {provenance.describe(measured)}", flush=True)
    with world.private_services("gw_bench", key_prefix=KEY_PREFIX) as services:
        run_with(args, services, stamp, measured, threads)


def run_with(args, services: world.Services, stamp: str, measured: dict, threads: int) -> None:
    redis_server, postgres = services.redis, services.postgres
    sandbox = gateway = profiler = None
    try:
        sandbox = start_sandbox(
            flavour="generic", patients=args.calls + 100, seed=7, token_lifetime=3600, extra=("--realistic-latency",)
        )
        if not args.no_token_latency:  # an EHR's OAuth server is no faster than its FHIR server
            sandbox.add_fault("/oauth2/token", **REALISTIC_LATENCY)
        w = world.build(sandbox, callers=max(args.calls, args.probes))
        # This process loaded Django too: a full collection scanning it paused the load generator
        # for 140-280 ms at a time, in the middle of the requests it was timing.
        freeze_loaded_objects()
        gateway = GatewayProcess.start(
            database_url=services.database_url,
            redis_url=services.redis_url,
            secrets=services.secrets,
            workers=args.workers,
            extra_env={"CACHE_KEY_PREFIX": KEY_PREFIX, "ASGI_THREADS": str(threads)}
            | world.database_env(args.server, args.workers)
            | world.agent_budget_env(args.calls),
            log_path=RESULTS / f"{stamp}-gateway.log",
            server=args.server,
            threads=threads,
        )
        if args.profile:
            profiler = report.start_profiler(gateway, RESULTS / f"{stamp}-profile")
        print(f"gateway {gateway.base_url} (pids {gateway.pids()}), sandbox {sandbox.base_url}", flush=True)
        results = uvloop.run(
            bench(args, w, gateway, sandbox, redis_server, postgres.pids)
        )  # both phases on the same loop
        results["provenance"] = measured
        results["config"] = {
            "calls": args.calls, "ramp_s": args.ramp, "speech_scale": args.speech, "workers": args.workers,
            "server": args.server, "threads": threads, "probes": args.probes,
            "ehr_latency": "log-normal p50 800 ms, p99 2000 ms on /fhir"
            + ("" if args.no_token_latency else " and the token endpoint"),
            "cpus": os.cpu_count(),  "load_average_at_start": os.getloadavg(),
        }  # fmt: skip
        if profiler:
            report.stop_profiler(profiler)
            profiler = None
            results["profile"] = profile.summarize(RESULTS / f"{stamp}-profile")
        paths = report.write(results, RESULTS, stamp)
        print(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in paths)}")
    finally:
        if profiler:
            report.stop_profiler(profiler)
        for stop in (gateway and gateway.stop, sandbox and sandbox.stop):
            if stop:
                stop()


if __name__ == "__main__":
    main()
