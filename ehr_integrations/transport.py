"""Every outbound EHR HTTP request: one pooled client per process, bounded, retried only when safe.

- One httpx.AsyncClient (keep-alive pool) per I/O loop; call only from `io_loop`.
- Per attempt: connect/read timeouts from the connection, never longer than what is left of the
  agent request's deadline; the deadline covers waits, retries and backoff too.
- Retries only for idempotent requests (GET), only on transient failures (timeouts, connection
  errors, 5xx, 429), with jittered exponential backoff; `Retry-After` is honoured in both forms and
  shared with every process; when it outlasts the deadline it is passed up in EHRUnavailable.
- https is required except on loopback; only the health system's allowed hosts may be called,
  redirects are not followed (no SSRF through a mis-typed or hostile URL).
- Every attempt goes through the breaker of its (health system, endpoint).
Nothing here logs a URL (FHIR search URLs carry identifiers) or a header.
"""

import asyncio
import ipaddress
import itertools
import logging
import random
import ssl
import time
import weakref
from urllib.parse import urlsplit

import httpx

from ehr_integrations import breaker, retry_after, shared_cache
from ehr_integrations.connection_config import ConnectionConfig, host_of
from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable

logger = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD"})
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 2.0
# httpcore's pool scans all of its connections for every request, which costs milliseconds of CPU
# per request once a hundred or more are open; several small pools keep each scan short.
POOL_SHARDS = 16
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, itertools.cycle]" = weakref.WeakKeyDictionary()


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    shards = _clients.get(loop)
    if shards is None:
        limits = httpx.Limits(max_connections=25, max_keepalive_connections=10, keepalive_expiry=30.0)
        clients = [
            httpx.AsyncClient(follow_redirects=False, limits=limits, headers={"User-Agent": "voice-ehr-gateway"})
            for _ in range(POOL_SHARDS)
        ]
        shards = _clients[loop] = itertools.cycle(clients)
    return next(shards)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(config: ConnectionConfig, url: str) -> None:
    """Refuse plain http outside loopback and any host the health system does not allow."""
    parts = urlsplit(url)
    host = host_of(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
        raise EHRRequestRejected(0, "https_required")
    if host not in config.allowed_hosts:
        raise EHRRequestRejected(0, "host_not_allowed")


def backoff(attempt: int) -> float:
    """Equal-jitter exponential backoff: half fixed, half random, so retries from many processes spread."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _timeout(config: ConnectionConfig, remaining: float) -> httpx.Timeout:
    connect = min(config.connect_timeout_s, remaining)
    read = min(config.read_timeout_s, remaining)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _connect_reason(exc: httpx.TransportError) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError) or "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper():
        return "tls_error"
    return "connect_error"


def classify(response: httpx.Response) -> EHRUnavailable | None:
    """The transient failure a response stands for (5xx, 429), or None when it is the EHR's answer."""
    if response.status_code == 429:
        return EHRUnavailable("rate_limited", retry_after.parse(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        return EHRUnavailable("server_error", retry_after.parse(response.headers.get("Retry-After")))
    return None


async def _attempt(
    config: ConnectionConfig, method: str, url: str, deadline: float, kwargs: dict
) -> tuple[httpx.Response | None, EHRUnavailable | None]:
    remaining = deadline - time.monotonic()
    try:
        async with asyncio.timeout(remaining):
            response = await _client().request(method, url, timeout=_timeout(config, remaining), **kwargs)
    except (TimeoutError, httpx.TimeoutException):
        return None, EHRUnavailable("timeout")
    except httpx.ConnectError as exc:
        return None, EHRUnavailable(_connect_reason(exc))
    except httpx.TransportError:
        return None, EHRUnavailable("transport_error")
    return response, classify(response)


async def _admit(config: ConnectionConfig, endpoint: str, deadline: float) -> breaker.Permit:
    """Pass both gates, the health system's Retry-After hold and the endpoint's breaker, read in one round trip."""
    system = config.health_system_id
    hold_key, state_key = retry_after.key(system), breaker.state_key(system, endpoint)
    try:
        gates = await shared_cache.get_many([hold_key, state_key], deadline=deadline)
    except shared_cache.CacheUnavailable:
        return breaker.let_through(system, endpoint)  # and no hold can be honoured
    if await retry_after.wait_for_hold(gates.get(hold_key), deadline=deadline):
        return await breaker.before_call(system, endpoint, config.breaker)  # read again: it may have opened
    return await breaker.before_call(system, endpoint, config.breaker, state=gates.get(state_key))


async def send(
    config: ConnectionConfig,
    method: str,
    url: str,
    *,
    endpoint: str,
    deadline: float,
    retry: bool | None = None,
    **kwargs,
) -> httpx.Response:
    """Send one logical request; returns the EHR's answer (2xx-4xx except 429), else EHRUnavailable.

    `endpoint` names the breaker (a resource type, "Patient/$match", "metadata", "token").
    `retry` defaults to True only for idempotent methods. kwargs go to httpx (params, data, json, headers).
    """
    check_url(config, url)
    attempts = 1 + (config.max_retries if (method in IDEMPOTENT if retry is None else retry) else 0)
    attempt = 0
    while True:
        if time.monotonic() >= deadline:
            raise EHRUnavailable("deadline_exceeded")
        permit = await _admit(config, endpoint, deadline)
        started = time.monotonic()
        response, failure = await _attempt(config, method, url, deadline, kwargs)
        await breaker.record(permit, failure=failure is not None, policy=config.breaker)
        status = response.status_code if response is not None else failure.reason
        logger.info("EHR %s %s %s %s in %.0f ms", config.slug, method, endpoint, status, _ms_since(started))
        if failure is None:
            return response
        if failure.retry_after:
            await retry_after.hold(config.health_system_id, failure.retry_after)
        pause = max(backoff(attempt), failure.retry_after or 0.0)
        if attempt + 1 >= attempts or time.monotonic() + pause >= deadline:
            raise failure
        await asyncio.sleep(pause)
        attempt += 1


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
