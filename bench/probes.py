"""One-at-a-time calls whose EHR requests can be told apart in the sandbox's request log.

Played quietly after the load, and during it through a health system of their own (its own EHR
client id in the log).

For each: how long the prefetch took against its slowest single fetch, how much a live tool
call adds to the EHR's own time (its requests' span in the log), and the pending mode (`?wait=0`):
how fast the filler comes back, and how long after the EHR's last answer the result can be had.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime

import redis.asyncio as aioredis

from bench.clients import AgentHttp
from bench.script import TOOLS
from calls.demo_call import SPOKEN
from tests.fixtures.processes import stored_entry_keys

PREFETCH_SEARCHES = {
    "appointments": ("Appointment",),
    "medications": ("MedicationRequest", "MedicationDispense"),
    "messages": ("Communication",),
}
LIVE_QUERIES = (("appointments", {"range": "past"}), ("medications", {"status": "completed"}))
PENDING_QUERY = ("medications", {"status": "stopped"})  # not prefetched, not asked for before
PENDING_POLL_S = 0.01


@dataclass
class ProbeResults:
    prefetch_ms: list[float] = field(default_factory=list)
    slowest_fetch_ms: list[float] = field(default_factory=list)
    prefetched_ms: list[float] = field(default_factory=list)  # the three default tool calls, one at a time
    live_ms: list[float] = field(default_factory=list)
    live_ehr_ms: list[float] = field(default_factory=list)
    pending_ms: list[float] = field(default_factory=list)  # `?wait=0` answered `pending`
    pending_ready_after_ehr_ms: list[float] = field(default_factory=list)  # EHR's last answer -> `ok` polled
    failures: list[str] = field(default_factory=list)
    calls_in_progress: list[int] = field(default_factory=list)  # of the load, as each probe began (under load)


def _span(entries: list[dict]) -> tuple[float, float]:
    """(first start, last end) of log entries, epoch seconds."""
    starts = [datetime.fromisoformat(e["at"]).timestamp() for e in entries]
    ends = [s + (e["duration_ms"] or 0) / 1000 for s, e in zip(starts, entries, strict=True)]
    return min(starts), max(ends)


async def _new_entries(sandbox, after_seq: int, client_id: str) -> list[dict]:
    entries = await asyncio.to_thread(sandbox.requests, after=after_seq, client_id=client_id)
    return [e for e in entries if e["path"] != "/oauth2/token"]


def last_seq(sandbox, client_id: str | None = None) -> int:
    entries = sandbox.requests(client_id=client_id)
    return entries[-1]["seq"] if entries else 0


async def _last_seq(sandbox, client_id: str) -> int:
    """The seq of the client's last request so far (read off the loop: a blocking call would stall the load)."""
    return await asyncio.to_thread(last_seq, sandbox, client_id)


async def _stored(store: aioredis.Redis, key_prefix: str, call_id: str, timeout: float = 15.0) -> float | None:
    """Poll the session store until the three prefetched answers are there; the epoch time they were."""
    keys = stored_entry_keys(key_prefix, call_id, list(TOOLS))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await store.exists(*keys) == len(keys):
            return time.time()
        await asyncio.sleep(0.002)
    return None


def _resource(entry: dict) -> str:
    """The resource type a logged FHIR request searched or read (GET [type], POST [type]/_search, [type]/[id])."""
    parts = entry["path"].removeprefix("/fhir/").split("/")
    return parts[0]


async def probe(
    http: AgentHttp, *, sandbox, store: aioredis.Redis, key_prefix: str, slug: str, client_id: str, caller: dict
) -> ProbeResults:
    results = ProbeResults()
    opened = (await http.post("/api/v1/calls", json={"health_system": slug})).json()
    path = f"/api/v1/calls/{opened['data']['call_id']}"
    first = (await http.post(f"{path}/verify", json={"date_of_birth": caller["birth_date"]})).json()
    given = {name: caller[SPOKEN[name]] for name in first["missing"]}
    before = await _last_seq(sandbox, client_id)
    verified = (await http.post(f"{path}/verify", json=given)).json()
    if verified.get("status") != "verified":
        results.failures.append(f"probe verification: {verified.get('status')}")
        return results
    done = await _stored(store, key_prefix, opened["data"]["call_id"])
    await asyncio.sleep(0.1)  # let the log entries of the last fetches complete
    entries = [e for e in await _new_entries(sandbox, before, client_id) if _resource(e) != "Patient"]
    if done is None or not entries:
        results.failures.append("prefetch did not complete")
    else:
        started, _ = _span(entries)
        per_tool = [
            _span(group)
            for group in ([e for e in entries if _resource(e) in types] for types in PREFETCH_SEARCHES.values())
            if group
        ]
        results.prefetch_ms.append((done - started) * 1000)
        results.slowest_fetch_ms.append(max(end - start for start, end in per_tool) * 1000)
    for tool in TOOLS:
        begun = time.perf_counter()
        body = (await http.get(f"{path}/{tool}")).json()
        if body.get("source") == "prefetch":
            results.prefetched_ms.append((time.perf_counter() - begun) * 1000)
    for tool, query in LIVE_QUERIES:
        before = await _last_seq(sandbox, client_id)
        begun = time.perf_counter()
        answer = await http.get(f"{path}/{tool}", params=query)
        took = (time.perf_counter() - begun) * 1000
        body = answer.json()
        await asyncio.sleep(0.05)
        entries = await _new_entries(sandbox, before, client_id)
        if body.get("status") != "ok" or body.get("source") != "live" or not entries:
            results.failures.append(f"live {tool}: {body.get('status')} {body.get('source')}")
            continue
        start, end = _span(entries)
        results.live_ms.append(took)
        results.live_ehr_ms.append((end - start) * 1000)
    await _pending(http, path, sandbox, client_id, results)
    await http.post(f"{path}/end", json={"reason": "bench probe"})
    return results


async def _pending(http: AgentHttp, path: str, sandbox, client_id: str, results: ProbeResults) -> None:
    tool, query = PENDING_QUERY
    before = await _last_seq(sandbox, client_id)
    begun = time.perf_counter()
    first = (await http.get(f"{path}/{tool}", params=query | {"wait": "0"})).json()
    took = (time.perf_counter() - begun) * 1000
    if first.get("status") != "pending":
        results.failures.append(f"pending {tool}: {first.get('status')}")
        return
    results.pending_ms.append(took)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        body = (await http.get(f"{path}/{tool}", params=query | {"wait": "0"})).json()
        if body.get("status") != "pending":
            ready_at = time.time()
            break
        await asyncio.sleep(PENDING_POLL_S)
    else:
        results.failures.append(f"pending {tool}: never ready")
        return
    await asyncio.sleep(0.05)
    entries = await _new_entries(sandbox, before, client_id)
    if body.get("status") != "ok" or not entries:
        results.failures.append(f"pending {tool}: {body.get('status')}")
        return
    _, ehr_end = _span(entries)
    results.pending_ready_after_ehr_ms.append((ready_at - ehr_end) * 1000)


def merge(parts: list[ProbeResults]) -> ProbeResults:
    merged = ProbeResults()
    for part in parts:
        for name in vars(merged):
            getattr(merged, name).extend(getattr(part, name))
    return merged


IDLE_S = 1.0


async def idle_wake(store: aioredis.Redis, rounds: int = 10) -> dict:
    """What this machine adds to a round trip to a process that sat idle (Redis PING, ms, p50).

    On this VM a process that sat idle answers its first request milliseconds late: every quiet-probe
    figure pays this once per hop to a process (gateway worker, Redis, Postgres, the sandbox) that had
    been idle; under load nothing sits idle.
    """
    busy, idle = [], []
    for _ in range(rounds):
        begun = time.perf_counter()
        await store.ping()
        busy.append((time.perf_counter() - begun) * 1000)
        await asyncio.sleep(IDLE_S)
        begun = time.perf_counter()
        await store.ping()
        idle.append((time.perf_counter() - begun) * 1000)
    return {
        "back to back": round(statistics.median(busy), 2),
        f"after {IDLE_S:g} s idle": round(statistics.median(idle), 2),
    }
