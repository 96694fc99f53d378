"""Verification timing: no patient, wrong factor and an ambiguous match must look alike (issue 18).

Three kinds of failed turn, each on a new call, interleaved back to back (each round plays the
three in a shuffled order) against the sandbox EHR with its latency off:
- no patient: a birth date and MRN that match nobody;
- wrong factor: an ordinary patient's birth date with a wrong MRN;
- ambiguous: the sandbox's `shared_name_and_birth_date` twins, by birth date + family + given name.
Target: medians within 1 ms of each other; bodies identical byte for byte; headers identical except
Date and the request id. The budgets (claimed values, agent client) and the per-patient lockout are
raised so that none trips during the run.

Starts its own PostgreSQL, Redis, sandbox and gateway (granian, DEBUG off), as bench/run.py does.
Times each verify turn at the client (http.client over one keep-alive connection); after each turn
reads the sandbox's log for the EHR requests that turn caused. Writes
bench/results/verify-timing-<timestamp>.json and .md (git-ignored, never committed; `--results`
elsewhere), each led by the commit measured.

    .venv/bin/python bench/verify_timing.py [--turns 1000] [--workers 1]
"""

import argparse
import http.client
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import provenance, world  # noqa: E402
from config.gc_freeze import freeze_loaded_objects  # noqa: E402
from tests.fixtures.processes import GatewayProcess  # noqa: E402
from tests.fixtures.sandbox import start_sandbox  # noqa: E402

KINDS = ("no_patient", "wrong_factor", "ambiguous")
KEY_PREFIX = "gw_vtiming"
# Headers that differ by design from one response to the next.
VARYING_HEADERS = {"date", "x-request-id", "x-correlation-id"}
NEVER = 10**9  # a budget no run reaches
FACTOR_SETS = [["date_of_birth", "family_name", "given_name"], ["date_of_birth", "mrn"]]


@dataclass
class Kind:
    name: str
    identifiers: dict[str, str]
    ms: list[float] = field(default_factory=list)
    bodies: set[bytes] = field(default_factory=set)
    statuses: set[int] = field(default_factory=set)
    headers: set[tuple] = field(default_factory=set)
    ehr_requests: list[int] = field(default_factory=list)
    ehr_ms: list[float] = field(default_factory=list)
    varying: set[str] = field(default_factory=set)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=1000, help="timed turns of each kind")
    parser.add_argument("--warmup", type=int, default=30, help="untimed rounds first")
    parser.add_argument("--workers", type=int, default=1, help="granian workers")
    parser.add_argument("--seed", type=int, default=18, help="of the round orders")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args()


class Agent:
    """The agent's client: http.client on one keep-alive connection (the lightest instrument here)."""

    def __init__(self, base_url: str, api_key: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Api-Key {api_key}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict) -> tuple[int, bytes, list[tuple[str, str]], float]:
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        self.connection.request("POST", path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        content = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, content, response.getheaders(), elapsed

    def open_call(self, slug: str) -> str:
        status, content, _, _ = self.post("/api/v1/calls", {"health_system": slug})
        if status != 201:
            raise SystemExit(f"open answered {status}: {content[:200]!r}")
        return json.loads(content)["data"]["call_id"]


def build_world(sandbox) -> tuple[str, list[Kind]]:
    """The health system (policy: name or MRN, lockouts out of reach), its agent key, the three kinds."""
    from ehr_integrations.models import VerificationPolicy
    from tests import builders
    from tests.ehr_integrations.sandbox_systems import secret_system

    system = secret_system(sandbox, slug=world.SLUG, vendor=sandbox.flavour)
    VerificationPolicy.objects.filter(health_system=system).update(
        factor_sets=FACTOR_SETS, name_parts_required=[], max_failures_per_patient=32767
    )
    agent = builders.agent_client("Timing Voice", system)
    ordinary = world.ordinary_callers(sandbox, 1)[0]
    twins = sandbox.hard_cases()["shared_name_and_birth_date"]
    twin = next(p for p in sandbox.patients() if p["id"] == twins[0])
    kinds = [
        Kind("no_patient", {"date_of_birth": "1902-02-02", "mrn": "NOBODY1"}),
        Kind("wrong_factor", {"date_of_birth": ordinary["birth_date"], "mrn": "WRONG1"}),
        Kind(
            "ambiguous",
            {"date_of_birth": twin["birth_date"], "family_name": twin["family"], "given_name": twin["given"]},
        ),
    ]
    return agent.api_key, kinds


def play(agent: Agent, sandbox, kind: Kind, *, after: int) -> int:
    """One recorded turn of `kind` on a new call, with the EHR requests it caused (the sandbox's log
    past `after`); returns the log's new end."""
    call_id = agent.open_call(world.SLUG)
    status, body, headers, ms = agent.post(f"/api/v1/calls/{call_id}/verify", kind.identifiers)
    entries = sandbox.requests(after=after)
    ehr = [e for e in entries if e["path"].startswith("/fhir/")]
    kind.ms.append(ms)
    kind.statuses.add(status)
    kind.bodies.add(body)
    kept = tuple(sorted((k.lower(), v) for k, v in headers if k.lower() not in VARYING_HEADERS))
    kind.headers.add(kept)
    kind.varying.update(k.lower() for k, _ in headers if k.lower() in VARYING_HEADERS)
    kind.ehr_requests.append(len(ehr))
    kind.ehr_ms.append(sum(e["duration_ms"] or 0 for e in ehr))
    return entries[-1]["seq"] if entries else after


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * len(values))]


def ehr_answer_bytes(sandbox, kind: Kind) -> int:
    """The size of the EHR's answer to the search this kind's turn makes (the search the gateway sends)."""
    given = kind.identifiers
    if "mrn" in given:
        params = {"identifier": given["mrn"], "birthdate": given["date_of_birth"]}
    else:
        params = {"birthdate": given["date_of_birth"], "family": given["family_name"], "given": given["given_name"]}
    return len(json.dumps(sandbox.fhir_get("Patient", params)).encode())


def summarize(kinds: list[Kind], sandbox, measured: provenance.Provenance, config: dict) -> dict:
    per_kind = {
        k.name: {
            "n": len(k.ms),
            "median_ms": round(statistics.median(k.ms), 3),
            "p95_ms": round(p95(k.ms), 3),
            "statuses": sorted(k.statuses),
            "distinct_bodies": len(k.bodies),
            "ehr_requests_per_turn": sorted(set(k.ehr_requests)),
            "ehr_ms_median": round(statistics.median(k.ehr_ms), 2),
            "gateway_minus_ehr_median_ms": round(
                statistics.median(m - e for m, e in zip(k.ms, k.ehr_ms, strict=True)), 3
            ),
            "ehr_answer_bytes": ehr_answer_bytes(sandbox, k),
        }
        for k in kinds
    }
    medians = [per_kind[k.name]["median_ms"] for k in kinds]
    differences = {
        f"{a.name}-{b.name}": round(per_kind[a.name]["median_ms"] - per_kind[b.name]["median_ms"], 3)
        for i, a in enumerate(kinds)
        for b in kinds[i + 1 :]
    }
    all_bodies = set().union(*(k.bodies for k in kinds))
    all_headers = set().union(*(k.headers for k in kinds))
    return {
        "provenance": measured,
        "config": config,
        "kinds": per_kind,
        "median_spread_ms": round(max(medians) - min(medians), 3),
        "differences_ms": differences,
        "within_1ms": max(medians) - min(medians) <= 1.0,
        "bodies_identical": len(all_bodies) == 1,
        "headers_identical_but_varying": len(all_headers) == 1,
        "varying_headers_seen": sorted(set().union(*(k.varying for k in kinds))),
        "body": next(iter(all_bodies)).decode() if len(all_bodies) == 1 else None,
        "load_average_at_end": os.getloadavg(),
    }


def markdown(report: dict) -> str:
    lines = [
        "# Verification timing",
        "",
        f"Measured {provenance.describe(report['provenance'])}.",
        f"Config: {json.dumps(report['config'])}",
        "",
        "| kind | n | median ms | p95 ms | EHR requests/turn | EHR ms (median) | gateway - EHR median ms "
        "| EHR answer bytes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, k in report["kinds"].items():
        lines.append(
            f"| {name} | {k['n']} | {k['median_ms']} | {k['p95_ms']} | {k['ehr_requests_per_turn']} | "
            f"{k['ehr_ms_median']} | {k['gateway_minus_ehr_median_ms']} | {k['ehr_answer_bytes']} |"
        )
    lines += [
        "",
        f"Median spread: {report['median_spread_ms']} ms"
        f" (target <= 1 ms: {'met' if report['within_1ms'] else 'MISSED'});"
        f" differences {report['differences_ms']}.",
        f"Bodies identical byte for byte: {report['bodies_identical']}; headers identical except "
        f"{report['varying_headers_seen']}: {report['headers_identical_but_varying']}.",
        f"Load average at start {report['config']['load_average_at_start']}, at end {report['load_average_at_end']}.",
    ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, measured: provenance.Provenance) -> dict:
    with world.private_services("gw_vtiming", key_prefix=KEY_PREFIX, max_connections=100) as services:
        return run_with(args, measured, services)


def run_with(args: argparse.Namespace, measured: provenance.Provenance, services: world.Services) -> dict:
    sandbox = gateway = None
    try:
        sandbox = start_sandbox(flavour="generic", patients=200, seed=7, token_lifetime=3600)  # latency off
        api_key, kinds = build_world(sandbox)
        freeze_loaded_objects()
        budgets = {f"VERIFY_BUDGET_PER_{k}": str(NEVER) for k in ("DOB", "MRN", "DOB_NAME", "AGENT")}
        gateway = GatewayProcess.start(
            database_url=services.database_url, redis_url=services.redis_url, secrets=services.secrets,
            workers=args.workers, server="granian", threads=8,
            extra_env={"CACHE_KEY_PREFIX": KEY_PREFIX, **budgets},
        )  # fmt: skip
        config = {
            "turns_per_kind": args.turns, "warmup_rounds": args.warmup, "workers": args.workers, "seed": args.seed,
            "server": "granian", "ehr_latency": "off", "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        }  # fmt: skip
        print(f"gateway {gateway.base_url}, sandbox {sandbox.base_url}; load average {os.getloadavg()}", flush=True)
        agent, rng = Agent(gateway.base_url, api_key), random.Random(args.seed)
        for _ in range(args.warmup):
            for kind in kinds:
                agent.post(f"/api/v1/calls/{agent.open_call(world.SLUG)}/verify", kind.identifiers)
        after = sandbox.requests()[-1]["seq"]
        for _ in range(args.turns):
            for kind in rng.sample(kinds, len(kinds)):
                after = play(agent, sandbox, kind, after=after)
        return summarize(kinds, sandbox, measured, config)
    finally:
        for stop in (gateway and gateway.stop, sandbox and sandbox.stop):
            if stop:
                stop()


def main() -> None:
    args = arguments()
    measured = provenance.current()  # before the gateway loads the code
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"verify timing {stamp}: {args.turns} turns of each kind", flush=True)
    print(f"measuring {provenance.describe(measured)}", flush=True)
    report = run(args, measured)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"verify-timing-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.results / f"verify-timing-{stamp}.md").write_text(text)
    print(text)
    print(f"wrote {args.results}/verify-timing-{stamp}.json and .md")


if __name__ == "__main__":
    main()
