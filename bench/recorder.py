"""What the load generator measures: every request's latency and outcome, and every call's waits."""

import time
from dataclasses import dataclass, field

import aiohttp

from bench.clients import AgentHttp, Reply


@dataclass(frozen=True)
class Sample:
    endpoint: str
    at: float  # seconds since the phase started
    ms: float
    outcome: str  # the envelope status, "http_<code>" or the transport error's name
    source: str | None = None  # "prefetch" or "live" for tool answers


@dataclass
class CallResult:
    ok: bool = False
    wait_ms: float = 0.0  # everything the agent waited for, verification included
    wait_after_verification_ms: float = 0.0  # its three tool calls
    failure: str | None = None
    call_id: str | None = None
    completed_at: float | None = None  # wall clock when the turn completing the factor set was sent
    complete_ms: float | None = None  # that turn's latency


class CallFailed(Exception):
    pass


@dataclass
class Recorder:
    phase: str
    started: float = field(default_factory=time.perf_counter)
    samples: list[Sample] = field(default_factory=list)
    calls: list[CallResult] = field(default_factory=list)
    active: int = 0  # calls in progress, read by the monitor thread

    async def request(
        self, http: AgentHttp, endpoint: str, method: str, url: str, call: CallResult, **kwargs
    ) -> tuple[Reply, float]:
        """Send, time and record one request; add its latency to the call's wait."""
        begun = time.perf_counter()
        try:
            response = await http.request(method, url, **kwargs)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._add(endpoint, begun, type(exc).__name__)
            raise CallFailed(f"{endpoint}: {type(exc).__name__}") from None
        body = response.body if isinstance(response.body, dict) else None
        outcome = str(body.get("status", f"http_{response.status_code}")) if body else f"http_{response.status_code}"
        ms = self._add(endpoint, begun, outcome, body.get("source") if body else None)
        call.wait_ms += ms
        return response, ms

    def timed_block(self, endpoint: str, begun: float, outcome: str, call: CallResult) -> float:
        ms = self._add(endpoint, begun, outcome)
        call.wait_ms += ms
        return ms

    def _add(self, endpoint: str, begun: float, outcome: str, source: str | None = None) -> float:
        now = time.perf_counter()
        ms = (now - begun) * 1000
        self.samples.append(Sample(endpoint, begun - self.started, ms, outcome, source))
        return ms
