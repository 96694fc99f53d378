"""Round trips per call, step by step: Redis commands, PostgreSQL statements and EHR requests.

Each round trip costs the gateway CPU that instruction counts do not show (the kernel's send, poll
and receive: a bare `SELECT 1` is ~100 us of a process's CPU on a 2-core VM, bench/README.md,
session 14), so this census says where a call still talks to another process. The gateway (granian,
one worker) plays `cpu_steps.py`'s calls one at a time, quiet; after each step and its pause:
Redis's MONITOR (commands a client sent, not those a Lua script ran; a pipeline's or a MULTI's
commands are counted one by one though they travel in one round trip), `pg_stat_statements` (loaded
in the bench's private PostgreSQL) and the sandbox's request log.

    python bench/round_trips.py --calls 5
    python bench/round_trips.py --calls 5 --statements  # + the last call's statements and commands, by step
"""

import argparse
import re
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
import uvloop  # noqa: E402

from bench import provenance, world  # noqa: E402
from bench.clients import AgentHttp  # noqa: E402
from bench.cpu_steps import STEPS, one_call  # noqa: E402
from tests.fixtures.processes import GatewayProcess  # noqa: E402

STATEMENTS = "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)"


IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{32,}|\\d+")


def _shape(command: str) -> str:
    """The command and its first key (after the script and key count of an EVALSHA), ids as `#`:
    what ran, never a value."""
    words = command.split(" ")
    first = (
        words[3] if words[0].upper() in ("EVALSHA", "EVAL") and len(words) > 3 else words[1] if len(words) > 1 else ""
    )
    return f"{words[0].upper()} {IDS.sub('#', first.strip(chr(34)))[:60]}"


class RedisCommands:
    """Commands clients send (MONITOR), by name; a script's own commands (`[0 lua]`) are not round trips."""

    def __init__(self, client) -> None:
        self.counts: Counter[str] = Counter()
        self._client = client  # its pool holds the MONITOR connection open
        self._monitor = client.monitor()
        self._monitor.__enter__()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        try:
            for event in self._monitor.listen():
                if event.get("client_type") != "lua":
                    self.counts[_shape(event["command"])] += 1
        except Exception as exc:  # noqa: BLE001 (the server stopped at the end of the run)
            print("monitor stopped:", type(exc).__name__, exc, file=sys.stderr)


class Census:
    """Counts since the last `take`, per kind of round trip."""

    def __init__(self, services: world.Services, sandbox, database: str) -> None:
        self.redis = RedisCommands(redis.Redis(host="127.0.0.1", port=services.redis.port))  # no read timeout
        self.sandbox = sandbox
        self.database = database
        self.pg = psycopg.connect(services.postgres.url("postgres"), autocommit=True)
        self.pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.last = self._read()

    def _read(self) -> tuple[Counter, dict[str, int], int]:
        statements = dict(self.pg.execute(STATEMENTS, (self.database,)).fetchall())
        return Counter(self.redis.counts), statements, len(self.sandbox.requests())

    def take(self) -> tuple[int, int, int, dict[str, int], Counter]:
        time.sleep(0.2)  # MONITOR's lines of the step's last commands
        now = self._read()
        (r0, s0, e0), (r1, s1, e1) = self.last, now
        ran = {q: n - s0.get(q, 0) for q, n in s1.items() if n - s0.get(q, 0) > 0}
        self.last = now
        commands = r1 - r0
        return commands.total(), sum(ran.values()), e1 - e0, ran, commands


async def measure(args, w: world.World, gateway: GatewayProcess, census: Census) -> dict[str, list[tuple]]:
    per_step: dict[str, list[tuple]] = defaultdict(list)
    async with AgentHttp(gateway.base_url, {"Authorization": f"Api-Key {w.api_key}"}) as http:
        for i in range(2):  # warm-up: first connections, cached configuration
            await one_call(http, w.slug, w.callers[-1 - i], args.settle, lambda *_: None)
        census.take()
        for i in range(args.calls):
            await one_call(
                http, w.slug, w.callers[i], args.settle, lambda name, _wall: per_step[name].append(census.take())
            )
    return per_step


def report(per_step: dict[str, list[tuple]], statements: bool) -> None:
    print(f"{'step':18s} {'redis':>7s} {'postgres':>9s} {'ehr':>5s}   (commands, statements, requests: medians)")
    totals = [0.0, 0.0, 0.0]
    for name in STEPS:
        medians = [statistics.median(counts[k] for counts in per_step[name]) for k in range(3)]
        totals = [t + m for t, m in zip(totals, medians, strict=True)]
        print(f"{name:18s} {medians[0]:7.1f} {medians[1]:9.1f} {medians[2]:5.1f}")
    print(f"{'a call':18s} {totals[0]:7.1f} {totals[1]:9.1f} {totals[2]:5.1f}")
    if statements:
        for name in STEPS:
            print(f"\n{name}:")
            for query, n in sorted(per_step[name][-1][3].items(), key=lambda item: -item[1]):
                print(f"  {n:3d}  {' '.join(query.split())[:150]}")
            print("  redis: " + ", ".join(f"{c} {n}" for c, n in per_step[name][-1][4].most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after each step")
    parser.add_argument("--statements", action="store_true", help="print the last call's statements by step")
    args = parser.parse_args()
    print(f"measuring {provenance.describe(provenance.current())}", flush=True)
    preload = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    with world.step_bench(args.calls, name="round-trips", postgres_options=preload) as bench:
        census = Census(bench.services, bench.sandbox, "gw_bench")
        per_step = uvloop.run(measure(args, bench.world, bench.gateway, census))
    report(per_step, args.statements)


if __name__ == "__main__":
    main()
