"""Summaries of what a phase measured: percentiles per endpoint, errors, EHR requests, waits."""

from collections import Counter, defaultdict

import numpy as np

from bench.recorder import Recorder, Sample

OK_OUTCOMES = {"ok", "needs_more", "verified", "ended"}


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    array = np.asarray(values)
    p50, p95, p99 = np.percentile(array, [50, 95, 99])
    return {
        "n": len(values),
        "p50": round(p50, 2),
        "p95": round(p95, 2),
        "p99": round(p99, 2),
        "max": round(float(array.max()), 2),
    }


def by_endpoint(samples: list[Sample]) -> dict[str, dict]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.endpoint].append(sample)
    summary = {}
    for endpoint, group in groups.items():
        summary[endpoint] = percentiles([s.ms for s in group]) | {
            "errors": sum(s.outcome not in OK_OUTCOMES for s in group),
            "outcomes": dict(Counter(s.outcome for s in group)),
            "sources": dict(Counter(s.source for s in group if s.source)),
        }
    return summary


def tool_latencies(samples: list[Sample], source: str) -> list[float]:
    tools = ("appointments", "medications", "messages")
    return [s.ms for s in samples if s.endpoint in tools and s.source == source and s.outcome == "ok"]


def phase_summary(rec: Recorder, ehr_log: list[dict], client_id: str, seconds: float) -> dict:
    mine = [e for e in ehr_log if e["client_id"] == client_id]
    tokens = [e for e in mine if e["path"] == "/oauth2/token"]
    fhir = [e for e in mine if e["path"].startswith("/fhir/")]
    ok_calls = [c for c in rec.calls if c.ok]
    return {
        "calls": len(rec.calls),
        "calls_completed": len(ok_calls),
        "failed_calls": Counter(c.failure for c in rec.calls if not c.ok),
        "request_errors": sum(s.outcome not in OK_OUTCOMES for s in rec.samples),
        "seconds": round(seconds, 1),
        "endpoints": by_endpoint(rec.samples),
        "wait_ms": percentiles([c.wait_ms for c in ok_calls]),
        "wait_after_verification_ms": percentiles([c.wait_after_verification_ms for c in ok_calls]),
        "ehr_requests": len(fhir),
        "ehr_requests_per_call": round(len(fhir) / max(1, len(rec.calls)), 2),
        "ehr_requests_by_path": dict(Counter(e["path"] for e in fhir)),
        "ehr_statuses": dict(Counter(str(e["status"]) for e in fhir)),
        "ehr_latency_ms": percentiles([e["duration_ms"] for e in fhir if e["duration_ms"] is not None]),
        "token_requests": len(tokens),
    }


def completing_turns(rec: Recorder, searched_at: dict[str, float]) -> dict:
    """The latency of the verify turn that completed the factor set, by what the speculative search
    had done when it was sent: `hit` (its search had ended), `waited` (it was still running), `miss`
    (no speculative search: the turn searched). `searched_at`: call id -> when its search ended."""
    groups: dict[str, list[float]] = {"hit": [], "waited": [], "miss": []}
    for call in rec.calls:
        if call.complete_ms is None or call.completed_at is None:
            continue
        ended = searched_at.get(call.call_id or "")
        kind = "miss" if ended is None else "hit" if ended <= call.completed_at else "waited"
        groups[kind].append(call.complete_ms)
    every = [ms for values in groups.values() for ms in values]
    return {"all": percentiles(every)} | {kind: percentiles(values) for kind, values in groups.items()}
