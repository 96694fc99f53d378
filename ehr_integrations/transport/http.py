"""Every outbound EHR HTTP request: one pooled client per process, bounded, retried only when safe.

- One aiohttp session (keep-alive pool, no cookie jar, no netrc) per I/O loop; call only from
  `io_loop`. An egress proxy comes from HTTPS_PROXY / HTTP_PROXY / NO_PROXY, read once per host.
  Callers get an `EHRResponse` (status, headers, body read in full), never a library object.
- Per attempt: connect/read timeouts from the connection, never longer than what is left of the
  agent request's deadline; the deadline covers waits, retries and backoff too.
- Retries only for idempotent requests (GET), only on transient failures (timeouts, connection
  errors, 5xx, 429), with jittered exponential backoff; `Retry-After` is honoured in both forms and
  shared with every process; when it outlasts the deadline it is passed up in EHRUnavailable.
- The address policy (address_policy.py): https to a public address, or to a network in
  EHR_ALLOWED_NETWORKS; names are resolved by a resolver that checks every address and the
  connection goes to those addresses only. Only the health system's allowed hosts may be called,
  redirects are never followed (no SSRF, and no credential sent on to where a redirect points).
- Every attempt goes through the breaker of its (health system, endpoint).
Nothing here logs a URL (FHIR search URLs carry identifiers) or a header.
"""

import asyncio
import atexit
import contextlib
import functools
import ipaddress
import json
import logging
import os
import random
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict, Unpack
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from django.conf import settings

from ehr_integrations import address_policy
from ehr_integrations.errors import EHRRequestRejected, EHRUnavailable
from ehr_integrations.transport import breaker, resolver, retry_after, shared_cache
from ehr_integrations.transport.connection import ConnectionConfig, host_of

logger = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD"})
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 2.0
MAX_CONNECTIONS = 400  # per process, across health systems
MAX_PER_HOST = 200  # one hung EHR cannot hold every connection of the process
CHUNK_BYTES = 64 << 10


class ResponseTooLarge(Exception):
    """The EHR's answer is larger than settings.EHR_MAX_RESPONSE_BYTES."""


async def _read_capped(answer: aiohttp.ClientResponse) -> bytes:
    """The body, refused past settings.EHR_MAX_RESPONSE_BYTES whether or not the server announced its length."""
    limit = settings.EHR_MAX_RESPONSE_BYTES
    if (answer.content_length or 0) > limit:
        raise ResponseTooLarge()
    body = bytearray()
    async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge()
    return bytes(body)


KEEPALIVE_S = 30.0
_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class EHRResponse:
    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    def json(self) -> object:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.content)


def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS,
            limit_per_host=MAX_PER_HOST,
            keepalive_timeout=KEEPALIVE_S,
            resolver=resolver.PolicyResolver(exempt=_proxy_hosts()),
        )
        session = _sessions[loop] = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # no EHR cookie is ever sent back, to any health system
            trust_env=False,  # never ~/.netrc credentials; the proxy is chosen by `_proxy_for`
            headers={"User-Agent": "voice-ehr-gateway"},
        )
        atexit.register(_close, loop, session, os.getpid())
    return session


@functools.lru_cache(maxsize=256)
def _proxy_for(scheme: str, host: str) -> str | None:
    """The egress proxy for this scheme and host from the environment (NO_PROXY honoured), or None."""
    proxy = getproxies().get(scheme)
    return None if proxy is None or proxy_bypass(host) else proxy


def _proxy_hosts() -> set[str]:
    """The configured egress proxies' hosts: internal by design, so not held to the address policy."""
    return {host_of(url) for url in getproxies().values() if "://" in url}


def _close(loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession, pid: int) -> None:
    """At process exit, close the pool on its loop (else aiohttp reports it unclosed); not in a fork."""
    if pid == os.getpid() and loop.is_running() and not session.closed:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=1)


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
    """Refuse what the address policy refuses by the URL's text, and any host the health system does not allow."""
    refusal = address_policy.url_refusal(url)
    if refusal is not None:
        raise EHRRequestRejected(0, refusal.code)
    if host_of(url) not in config.allowed_hosts:
        raise EHRRequestRejected(0, "host_not_allowed")


def backoff(attempt: int) -> float:
    """Equal-jitter exponential backoff: half fixed, half random, so retries from many processes spread."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _timeout(config: ConnectionConfig, remaining: float) -> aiohttp.ClientTimeout:
    connect = min(config.connect_timeout_s, remaining)
    return aiohttp.ClientTimeout(total=remaining, connect=connect, sock_read=min(config.read_timeout_s, remaining))


class RequestOptions(TypedDict, total=False):
    """What `send` passes on to the HTTP client (see `_request_options`)."""

    params: Mapping[str, str | list[str]] | None
    data: Mapping[str, str]
    json: object
    headers: Mapping[str, str]


def _request_options(kwargs: dict) -> dict:
    """Our keyword arguments (params whose values may be lists, data, json, headers) as aiohttp takes them."""
    options = dict(kwargs)
    params = options.pop("params", None)
    if params:
        options["params"] = [
            (name, str(value))
            for name, values in params.items()
            for value in (values if isinstance(values, list) else [values])
        ]
    if "json" in options:
        headers = {"Content-Type": "application/json", **options.pop("headers", {})}
        options["data"], options["headers"] = json.dumps(options.pop("json")).encode(), headers
    return options


def classify(response: EHRResponse) -> EHRUnavailable | None:
    """The transient failure a response stands for (5xx, 429), or None when it is the EHR's answer."""
    if response.status_code == 429:
        return EHRUnavailable("rate_limited", retry_after.parse(response.headers.get("Retry-After")))
    if response.status_code >= 500 and response.status_code != 501:  # 501: the server does not do this at all
        return EHRUnavailable("server_error", retry_after.parse(response.headers.get("Retry-After")))
    return None


async def _attempt(
    config: ConnectionConfig, method: str, url: str, deadline: float, kwargs: dict
) -> tuple[EHRResponse | None, EHRUnavailable | EHRRequestRejected | None]:
    remaining = deadline - time.monotonic()
    try:
        async with asyncio.timeout(remaining):
            async with _session().request(
                method,
                url,
                allow_redirects=False,
                timeout=_timeout(config, remaining),
                proxy=_proxy_for(urlsplit(url).scheme, host_of(url)),
                **_request_options(kwargs),
            ) as answer:
                response = EHRResponse(answer.status, answer.headers, await _read_capped(answer))
    except TimeoutError:  # aiohttp's connect and read timeouts are TimeoutErrors too
        return None, EHRUnavailable("timeout")
    except ResponseTooLarge:
        return None, EHRUnavailable("response_too_large")
    except aiohttp.ClientSSLError:
        return None, EHRUnavailable("tls_error")
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, resolver.AddressRefused):
            return None, EHRRequestRejected(0, "address_not_allowed")
        return None, EHRUnavailable("connect_error")
    except (aiohttp.ClientError, ValueError, OSError):  # ValueError: e.g. a header the EHR's token made invalid
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
    **kwargs: Unpack[RequestOptions],
) -> EHRResponse:
    """Send one logical request; returns the EHR's answer (2xx-4xx except 429), else EHRUnavailable.

    `endpoint` names the breaker (a resource type, "Patient/$match", "metadata", "token").
    `retry` defaults to True only for idempotent methods. kwargs: params (values may be lists), data, json, headers.
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
        if isinstance(failure, EHRRequestRejected):
            raise failure  # the name resolved to an address the policy refuses: nothing was sent
        if failure.retry_after:
            await retry_after.hold(config.health_system_id, failure.retry_after)
        pause = max(backoff(attempt), failure.retry_after or 0.0)
        if attempt + 1 >= attempts or time.monotonic() + pause >= deadline:
            raise failure
        await asyncio.sleep(pause)
        attempt += 1


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
