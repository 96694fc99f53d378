"""Fault injection: latency, errors, 429s with Retry-After, hangs, outages and a failing token endpoint.

Rules apply to request paths matching a glob pattern ("*", "/fhir/Patient*", "/oauth2/token") and
can be changed while the server runs. A rule may be limited to a window (`after_s`, `duration_s`),
and to requests carrying given search parameter values (`when_param`, in the query string or a
form-encoded POST body): a fault one caller's input provokes, as a real EHR's 5xx on one odd value.
Log-normal latency is set by its median (p50) and 99th percentile: sigma = ln(p99/p50) / z(0.99).
"""

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Z_99 = 2.326347874
ERROR_STATUSES = (409, 412, 429, 500, 502, 503, 504)  # 409/412: a write's conflict answers
HANG_S = 3600.0
TOKEN_PATH = "/oauth2/token"


class FaultError(ValueError):
    pass


@dataclass(frozen=True)
class FaultRule:
    path: str = "*"
    latency_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: int | str | None = None
    retry_after_as_date: bool = False
    hang: bool = False
    hang_after_commit: bool = False  # a write is stored, then the answer never comes (a timeout after commit)
    outage: bool = False
    token_fail: bool = False
    when_param: dict[str, str] | None = None  # every name must carry this value (one of its values)
    after_s: float = 0.0
    duration_s: float | None = None
    created: float = field(default_factory=time.monotonic)

    def active(self, now: float) -> bool:
        start = self.created + self.after_s
        return now >= start and (self.duration_s is None or now < start + self.duration_s)

    def matches(self, path: str) -> bool:
        if self.token_fail:
            return path == TOKEN_PATH
        return fnmatchcase(path, self.path)

    def carried_by(self, params: Mapping[str, list[str]]) -> bool:
        """Whether the request's parameters (query and form body) carry every value `when_param` names."""
        return all(value in params.get(name, []) for name, value in (self.when_param or {}).items())

    def delay_s(self, rng: random.Random) -> float:
        if self.latency_p50_ms:
            p99 = self.latency_p99_ms or self.latency_p50_ms
            sigma = max(0.0, math.log(p99 / self.latency_p50_ms)) / Z_99
            return rng.lognormvariate(math.log(self.latency_p50_ms), sigma) / 1000
        return (self.latency_ms or 0) / 1000

    def retry_after_header(self) -> str | None:
        if self.retry_after is None:
            return None
        if isinstance(self.retry_after, str) and not self.retry_after.isdigit():
            return self.retry_after  # already an HTTP-date
        seconds = int(self.retry_after)
        if self.retry_after_as_date:
            return email.utils.formatdate(time.time() + seconds, usegmt=True)
        return str(seconds)

    def public(self) -> dict:
        data = asdict(self)
        data.pop("created")
        return data


def rule_from(data: dict) -> FaultRule:
    """Validate a control-API body into a rule."""
    allowed = set(FaultRule.__dataclass_fields__) - {"created"}
    unknown = set(data) - allowed
    if unknown:
        raise FaultError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    rule = FaultRule(**data)
    if not 0.0 <= rule.error_rate <= 1.0:
        raise FaultError("error_rate must be between 0 and 1")
    if rule.error_status not in ERROR_STATUSES:
        raise FaultError(f"error_status must be one of {ERROR_STATUSES}")
    if rule.latency_p99_ms and not rule.latency_p50_ms:
        raise FaultError("latency_p99_ms needs latency_p50_ms")
    if rule.when_param is not None and not (
        isinstance(rule.when_param, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in rule.when_param.items())
    ):
        raise FaultError("when_param must map parameter names to values (strings)")
    return rule


class FaultSet:
    def __init__(self, seed: int) -> None:
        self.rules: list[FaultRule] = []
        self.rng = random.Random(seed)

    def add(self, rule: FaultRule) -> None:
        self.rules.append(rule)

    def clear(self) -> None:
        self.rules = []

    def for_path(self, path: str) -> list[FaultRule]:
        now = time.monotonic()
        return [rule for rule in self.rules if rule.active(now) and rule.matches(path)]


def _failure(request: web.Request, rule: FaultRule, status: int, reason: str) -> web.Response:
    request["fault"] = reason
    headers = {}
    retry_after = rule.retry_after_header()
    if retry_after:
        headers["Retry-After"] = retry_after
    if request.path == TOKEN_PATH:
        body = {"error": "temporarily_unavailable", "error_description": f"injected fault: {reason}"}
        return web.json_response(body, status=status, headers=headers)
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "transient", "diagnostics": f"injected fault: {reason}"}],
    }
    return web.json_response(outcome, status=status, headers=headers, content_type="application/fhir+json")


async def _parameters(request: web.Request) -> dict[str, list[str]]:
    """Search parameter values of the query string and of a form-encoded body (aiohttp keeps the
    parsed body, so the handler reads it again)."""
    found: dict[str, list[str]] = {}
    sources = [request.query]
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        sources.append(await request.post())
    for source in sources:
        for name, value in source.items():
            found.setdefault(name, []).append(str(value))
    return found


def faults_middleware(faults_key: web.AppKey[FaultSet]) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_control") or request.get("harness"):
            return await handler(request)
        faults: FaultSet = request.app[faults_key]
        rules = faults.for_path(request.path)
        if any(rule.when_param for rule in rules):
            params = await _parameters(request)
            rules = [rule for rule in rules if rule.carried_by(params)]
        for rule in rules:
            if rule.outage:
                return _failure(request, rule, 503, "outage")
            if rule.token_fail:
                return _failure(request, rule, rule.error_status, "token_fail")
        delay = max((rule.delay_s(faults.rng) for rule in rules), default=0.0)
        if delay:
            request["fault"] = "latency"
            await asyncio.sleep(delay)
        if any(rule.hang_after_commit for rule in rules):
            request["fault"] = "hang_after_commit"
            await handler(request)
            await asyncio.sleep(HANG_S)
        for rule in rules:
            if rule.hang:
                request["fault"] = "hang"
                await asyncio.sleep(HANG_S)
            if rule.error_rate and faults.rng.random() < rule.error_rate:
                reason = "rate_limited" if rule.error_status == 429 else "error"
                return _failure(request, rule, rule.error_status, reason)
        return await handler(request)

    return middleware
