"""Gateway CPU per call, step by step, with no contention: where the CPU-per-call figure comes from.

Starts the same private PostgreSQL, Redis, sandbox EHR and gateway as `run.py` (the sandbox
without latency), measures the gateway's idle CPU, then plays calls a few at a time and charges
the gateway's CPU to each step of the script (open, verify, verify_complete with the prefetch it
starts, the three tools, end). A pause after each step lets its background work (the speculative
search, the prefetch) finish inside that step's window.

    python bench/cpu_steps.py --calls 200
    python bench/cpu_steps.py --calls 200 --profile  # + a py-spy profile of the gateway
"""

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import uvloop  # noqa: E402

from bench import provenance, world  # noqa: E402
from bench.clients import AgentHttp  # noqa: E402
from bench.script import TOOLS, _named  # noqa: E402
from calls.demo_call import SPOKEN  # noqa: E402
from tests.fixtures.processes import GatewayProcess  # noqa: E402

KEY_PREFIX = "gw_bench"
STEPS = ("open", "verify", "verify_complete", *TOOLS, "end")


class GatewayCpu:
    def __init__(self, pids: list[int]) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]

    def seconds(self) -> float:
        return sum(t.user + t.system for t in (p.cpu_times() for p in self.processes))

    def split(self) -> tuple[float, float]:
        times = [p.cpu_times() for p in self.processes]
        return sum(t.user for t in times), sum(t.system for t in times)


async def one_call(http: AgentHttp, slug: str, caller: dict, settle: float, charge) -> None:
    async def step(name: str, method: str, path: str, **kwargs) -> dict:
        begun = time.perf_counter()
        reply = await http.request(method, path, **kwargs)
        await asyncio.sleep(settle)
        charge(name, time.perf_counter() - begun)
        return reply.json()

    opened = await step("open", "POST", "/api/v1/calls", json={"health_system": slug})
    path = f"/api/v1/calls/{opened['data']['call_id']}"
    first = await step("verify", "POST", f"{path}/verify", json=_named(caller))
    given = {name: caller[SPOKEN[name]] for name in first["missing"]}
    second = await step("verify_complete", "POST", f"{path}/verify", json=given)
    if second.get("status") != "verified":
        raise RuntimeError(f"not verified: {second.get('status')}")
    for tool in TOOLS:
        await step(tool, "GET", f"{path}/{tool}")
    await step("end", "POST", f"{path}/end", json={"reason": "bench"})


async def measure(args, w: world.World, gateway: GatewayProcess) -> None:
    cpu = GatewayCpu(gateway.pids())
    per_step: dict[str, list[float]] = defaultdict(list)
    headers = {"Authorization": f"Api-Key {w.api_key}"}
    async with AgentHttp(gateway.base_url, headers) as http:
        for i in range(3):  # warm-up
            await one_call(http, w.slug, w.callers[-1 - i], args.settle, lambda *_: None)
        await asyncio.sleep(2)
        idle_from = cpu.seconds()
        await asyncio.sleep(args.idle)
        idle_per_s = (cpu.seconds() - idle_from) / args.idle
        if args.repeat:
            opened = (await http.request("POST", "/api/v1/calls", json={"health_system": w.slug})).json()
            path = f"/api/v1/calls/{opened['data']['call_id']}"
            caller = w.callers[-10]
            first = (await http.request("POST", f"{path}/verify", json=_named(caller))).json()
            given = {name: caller[SPOKEN[name]] for name in first["missing"]}
            await http.request("POST", f"{path}/verify", json=given)
            await asyncio.sleep(1)
            for label, url in (("healthz", "/healthz"), ("prefetched appointments", f"{path}/appointments")):
                before = cpu.seconds()
                for _ in range(args.repeat):
                    await http.request("GET", url)
                print(f"{label}: {1000 * (cpu.seconds() - before) / args.repeat:.2f} ms CPU per request")
        lock = asyncio.Lock()
        marks = {"at": cpu.seconds()}

        def charge(name: str, wall: float) -> None:  # one step at a time across the lanes
            now = cpu.seconds()
            per_step[name].append(1000 * (now - marks["at"] - idle_per_s * wall))
            marks["at"] = now

        async def lane(index: int) -> None:
            for i in range(index, args.calls, args.lanes):
                async with lock:
                    marks["at"] = cpu.seconds()
                    await one_call(http, w.slug, w.callers[i], args.settle, charge)

        started, began, split = cpu.seconds(), time.perf_counter(), cpu.split()
        await asyncio.gather(*(lane(k) for k in range(args.lanes)))
        total, wall = cpu.seconds() - started, time.perf_counter() - began
        user, system = (b - a for a, b in zip(split, cpu.split(), strict=True))
    print(f"idle gateway CPU: {1000 * idle_per_s:.1f} ms per second")
    print(f"{args.calls} calls: {1000 * total / args.calls:.1f} ms CPU per call in all "
          f"({1000 * (total - idle_per_s * wall) / args.calls:.1f} ms without the idle share)")  # fmt: skip
    print(f"user {1000 * user / args.calls:.1f} ms, system {1000 * system / args.calls:.1f} ms per call")
    print(f"{'step':<18}{'median ms':>10}{'mean ms':>10}")
    for name in STEPS:
        values = per_step[name]
        print(f"{name:<18}{statistics.median(values):>10.2f}{statistics.fmean(values):>10.2f}")
    print(f"{'sum of medians':<18}{sum(statistics.median(per_step[n]) for n in STEPS):>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--lanes", type=int, default=1, help="calls played at once (steps still one at a time)")
    parser.add_argument("--settle", type=float, default=0.15, help="seconds after each step for its background work")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle gateway measured first")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=0, help="also time N repeats of /healthz and a prefetched tool")
    parser.add_argument("--profile", help="write a py-spy raw profile of the calls to this path")
    args = parser.parse_args()
    print(f"measuring {provenance.describe(provenance.current())}", flush=True)
    profiler = None
    with world.step_bench(args.calls, name="cpu_steps", workers=args.workers, threads=64) as bench:
        try:
            if args.profile:
                py_spy = str(Path(sys.executable).parent / "py-spy")
                profiler = subprocess.Popen(  # noqa: S603
                    [py_spy, "record", "--pid", str(bench.gateway.process.pid), "--subprocesses", "--rate", "250",
                     "--gil", "--format", "raw", "--output", args.profile, "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            uvloop.run(measure(args, bench.world, bench.gateway))
        finally:
            if profiler:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)


if __name__ == "__main__":
    main()
