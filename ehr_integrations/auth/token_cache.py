"""Access tokens shared by every gateway process, fetched once per lifetime and never on a caller's path.

The token lives in the shared cache (Redis in production), encrypted with the field keys
(FIELD_ENCRYPTION_KEYS, compliance/encryption.py): it opens every patient record of the health
system, so a copy of Redis must not be enough to read it. Each process keeps the copy it last
read, decrypted once, for LOCAL_CACHE_SECONDS, so most EHR requests need no cache round trip and
no decryption for their token. A
caller gets the cached token at once;
when it is near its end (settings.EHR_TOKEN_REFRESH_AHEAD of its lifetime left) the caller also
starts a background refresh, and the Celery beat task `refresh_expiring_tokens` does the same for
idle connections. Only when there is no usable token does a caller wait for a fetch. Fetches are
single-flight across processes (a cache lock; the others wait for the new token) and inside each
process (one task). A token is refreshed at most once per EHR_TOKEN_MIN_REFRESH_INTERVAL_S unless
the FHIR server rejected it (401) or there is no usable token at all.
"""

import asyncio
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings

from compliance import encryption
from ehr_integrations.auth import smart_auth
from ehr_integrations.errors import EHRAuthError, EHRUnavailable
from ehr_integrations.transport import io_loop, shared_cache
from ehr_integrations.transport.connection import ConnectionConfig
from ehr_integrations.transport.local_cache import LocalCache

logger = logging.getLogger(__name__)

EXPIRY_SKEW_S = 5.0  # a token this close to expiry (or 10% of its life, if less) is not handed out
LOCK_POLL_S = 0.05
PROACTIVE, NEEDED, FORCED = "proactive", "needed", "forced"


@dataclass(frozen=True)
class CachedToken:
    access_token: str = field(repr=False)
    expires_at: float  # wall clock, shared by every process
    fetched_at: float
    kid: str | None = None
    scope: str = ""  # what the token response granted (the requested scopes when it did not say)

    def usable(self, now: float) -> bool:
        skew = min(EXPIRY_SKEW_S, 0.1 * (self.expires_at - self.fetched_at))
        return self.expires_at - now > skew

    def refresh_due(self, now: float) -> bool:
        lifetime = self.expires_at - self.fetched_at
        ahead = lifetime * settings.EHR_TOKEN_REFRESH_AHEAD
        return self.expires_at - now <= ahead and now - self.fetched_at >= settings.EHR_TOKEN_MIN_REFRESH_INTERVAL_S


@dataclass
class Stats:
    """Per-process counters (read by tests and the admin): fetches made, callers that had to wait."""

    fetches: int = 0
    waits: int = 0


STATS = Stats()
_inflight: dict[str, asyncio.Task] = {}
_copies = LocalCache("ehr_tokens")  # this process's copy of each shared token
_opened = LocalCache("ehr_tokens_opened")  # sealed value -> its token: each one is decrypted once per process


def _key(config: ConnectionConfig, kind: str) -> str:
    return f"ehr:token:{config.health_system_id}:{config.credentials_fingerprint}:{kind}"


def seal(entry: CachedToken) -> str:
    """The entry as stored in the shared cache: Fernet over its JSON."""
    return encryption.encrypt(json.dumps(asdict(entry)))


def _open(sealed: str) -> CachedToken | None:
    try:
        return CachedToken(**json.loads(encryption.decrypt(sealed)))
    except (encryption.SecretUnreadable, ValueError, TypeError):
        return None  # under a retired key or not ours: as if absent, the next fetch replaces it


async def peek(config: ConnectionConfig) -> CachedToken | None:
    """The shared token entry, or None (also for an entry that is not sealed, such as a plaintext one)."""
    value = await shared_cache.get(_key(config, "token"))
    if not isinstance(value, str) or not value:
        return None
    entry = _opened.get(value)
    if entry is None and (entry := _open(value)) is not None:
        _opened.put(value, entry)
    return entry


async def access_token(config: ConnectionConfig, *, deadline: float) -> str:
    """A valid access token; waits for a fetch only when no usable token exists anywhere."""
    return (await current(config, deadline=deadline)).access_token


async def granted_scopes(config: ConnectionConfig, *, deadline: float) -> tuple[str, ...]:
    """The scopes the current token was granted (a token is fetched if there is none)."""
    return tuple((await current(config, deadline=deadline)).scope.split())


async def current(config: ConnectionConfig, *, deadline: float) -> CachedToken:
    """The valid token entry, as `access_token` finds it."""
    now = time.time()
    mine = _copies.get(_key(config, "token"))
    if mine and mine.usable(now) and not mine.refresh_due(now):
        return mine
    try:
        current = await peek(config)
    except shared_cache.CacheUnavailable:
        current = mine  # the shared cache is down: keep using this process's copy while it lasts
    if current and current.usable(now):
        _copies.put(_key(config, "token"), current)
        if current.refresh_due(now):
            _refresh_in_background(config)
        return current
    STATS.waits += 1
    return await _single_flight(config, NEEDED, None, deadline)


async def replacement_token(config: ConnectionConfig, *, rejected: str, deadline: float) -> str:
    """A token other than `rejected` (which the FHIR server answered 401 to); one fetch for all processes."""
    STATS.waits += 1
    return (await _single_flight(config, FORCED, rejected, deadline)).access_token


async def refresh_if_due(config: ConnectionConfig, *, deadline: float) -> bool:
    """The proactive refresh (beat task): renew a cached token that is near its end. True if it fetched."""
    current = await peek(config)
    if current is None or not current.refresh_due(time.time()):
        return False
    fetched = await _single_flight(config, PROACTIVE, None, deadline)
    return fetched.fetched_at != current.fetched_at


def _refresh_in_background(config: ConnectionConfig) -> None:
    running = _inflight.get(f"{_key(config, 'token')}:{PROACTIVE}")
    if running is not None and running.get_loop() is asyncio.get_running_loop():
        return
    fetch_deadline = io_loop.deadline_in(config.token_fetch_s)
    task = asyncio.ensure_future(_single_flight(config, PROACTIVE, None, fetch_deadline))
    task.add_done_callback(_log_background_failure)


def _log_background_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("background token refresh failed: %s", type(task.exception()).__name__)


async def _single_flight(config: ConnectionConfig, mode: str, rejected: str | None, deadline: float) -> CachedToken:
    """One refresh task per connection in this process; callers wait on it within their own deadline."""
    key = f"{_key(config, 'token')}:{mode}"
    task = _inflight.get(key)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        fetch_deadline = io_loop.deadline_in(config.token_fetch_s)
        task = asyncio.ensure_future(_refresh(config, mode, rejected, fetch_deadline))
        _inflight[key] = task
        task.add_done_callback(lambda _: _inflight.pop(key, None))
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise EHRUnavailable("deadline_exceeded")
    try:
        entry = await asyncio.wait_for(asyncio.shield(task), remaining)
    except TimeoutError:
        raise EHRUnavailable("token_timeout") from None
    return entry


def _needs_fetch(current: CachedToken | None, mode: str, rejected: str | None, now: float) -> bool:
    if current is None or not current.usable(now):
        return True
    if mode == FORCED:
        return current.access_token == rejected
    if mode == PROACTIVE:
        return current.refresh_due(now)
    return False


async def _refresh(config: ConnectionConfig, mode: str, rejected: str | None, deadline: float) -> CachedToken:
    try:
        entry = await _refresh_shared(config, mode, rejected, deadline)
    except shared_cache.CacheUnavailable:
        entry = await _fetch_uncached(config, deadline)
    _copies.put(_key(config, "token"), entry)
    return entry


async def _refresh_shared(config: ConnectionConfig, mode: str, rejected: str | None, deadline: float) -> CachedToken:
    """Fetch under the cross-process lock, or wait for whoever holds it to store a new token."""
    lock_ttl = config.token_fetch_s + 1  # outlives the fetch it guards
    owner = secrets.token_hex(8)
    while True:
        if await shared_cache.add(_key(config, "lock"), owner, lock_ttl, deadline=deadline):
            try:
                return await _fetch_unless_done(config, mode, rejected, deadline)
            finally:
                await _release(config, owner)
        await asyncio.sleep(LOCK_POLL_S)
        current = await peek(config)
        if not _needs_fetch(current, mode, rejected, time.time()):
            return current
        if time.monotonic() >= deadline:
            raise EHRUnavailable("token_timeout")


async def _fetch_unless_done(config: ConnectionConfig, mode: str, rejected: str | None, deadline: float) -> CachedToken:
    current = await peek(config)
    if not _needs_fetch(current, mode, rejected, time.time()):
        return current  # another process refreshed while we waited for the lock
    failure = await shared_cache.get(_key(config, "failure"))
    if failure and mode != FORCED:
        raise EHRAuthError(failure["error"], failure["description"])
    try:
        grant = await smart_auth.fetch_token(config, deadline=deadline)
    except EHRAuthError as exc:
        backoff = settings.EHR_TOKEN_FAILURE_BACKOFF_S
        await shared_cache.set(_key(config, "failure"), {"error": exc.error, "description": exc.description}, backoff)
        raise
    STATS.fetches += 1
    now = time.time()
    entry = CachedToken(grant.access_token, now + grant.expires_in, now, grant.kid, grant.scope)
    await shared_cache.set(_key(config, "token"), seal(entry), max(grant.expires_in, 1))
    await shared_cache.delete(_key(config, "failure"))
    logger.info("EHR token for %s fetched (%s, lives %ss)", config.slug, mode, int(grant.expires_in))
    return entry


async def _fetch_uncached(config: ConnectionConfig, deadline: float) -> CachedToken:
    """Degraded mode while the shared cache is down: fetch for this caller alone."""
    logger.warning("shared cache unavailable; fetching an EHR token for %s without sharing it", config.slug)
    grant = await smart_auth.fetch_token(config, deadline=deadline)
    STATS.fetches += 1
    now = time.time()
    return CachedToken(grant.access_token, now + grant.expires_in, now, grant.kid, grant.scope)


async def _release(config: ConnectionConfig, owner: str) -> None:
    try:
        if await shared_cache.get(_key(config, "lock")) == owner:
            await shared_cache.delete(_key(config, "lock"))
    except shared_cache.CacheUnavailable:
        pass  # the lock expires by itself


def refresh_if_due_sync(config: ConnectionConfig) -> bool:
    """`refresh_if_due` from synchronous code (the beat task); bounded by the connection's timeouts."""
    deadline = io_loop.deadline_in(config.token_fetch_s)
    return io_loop.wait(refresh_if_due(config, deadline=deadline), deadline=deadline)
