"""Circuit breaker per (health system, resource endpoint), shared by every process through the cache.

State is one cache entry {"gen", "state", "until", "since"}. Every change moves the generation
from g to g+1, and only the process that wins `add(transition:g)` may make it, so concurrent
processes never fight over a transition. Outcomes are counted in per-generation time buckets, so
closing or opening the breaker starts a fresh window. Half-open is an open breaker whose open
duration has passed: the first `half_open_probes` callers (a shared counter) go through; all their
successes close it, any failure reopens it. 5xx, timeouts and 429 are failures; other 4xx are not.

A request may carry whose input it is (`attributed`: opaque keyed digests, e.g. of a verification
turn's call and claimed values, never PHI). Its failure through a closed breaker counts only if
none of those tags has had a failure counted in the last minute (one SET NX claim on all of them):
an input the EHR answers with a 5xx, sent again and again, counts once a minute however often it
is tried, while an outage hit by many different inputs still opens the breaker (issue 18).

A success through a closed breaker can change nothing, so each process adds its successes to the
shared window once every FLUSH_S (one round trip a second, not one per EHR request: issue 24), and
at once before it weighs a failure of its own: a process judges a window with every outcome it
has seen. Another process's last second of successes may be missing from that window, which can
only make the breaker open sooner, never later (fewer calls for the same failures).
"""

import asyncio
import contextvars
import logging
import math
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings

from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.transport import shared_cache
from ehr_integrations.transport.connection import BreakerPolicy

logger = logging.getLogger(__name__)

BUCKETS_PER_WINDOW = 10
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
ATTRIBUTED_ONCE_S = 60  # an attributed failure counts at most once per tag in this long
T = TypeVar("T")
_attribution: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("breaker_attribution", default=())


@dataclass(frozen=True)
class Permit:
    """Permission for one call; hand it back to `record`."""

    health_system_id: int
    endpoint: str
    gen: int
    probe: bool
    tags: tuple[str, ...] = field(default=(), compare=False)  # whose input the call carries (`attributed`)


async def attributed(work: Awaitable[T], *, tags: tuple[str, ...]) -> T:
    """Run `work` (on the I/O loop) with its EHR requests' failures counted at most once a minute per tag."""
    token = _attribution.set(tags)
    try:
        return await work
    finally:
        _attribution.reset(token)


def _key(health_system_id: int, endpoint: str, *parts: object) -> str:
    return ":".join(["ehr:brk", str(health_system_id), endpoint, *map(str, parts)])


def _bucket_s(policy: BreakerPolicy) -> float:
    return max(policy.window_s / BUCKETS_PER_WINDOW, 0.1)


def _ttl(policy: BreakerPolicy) -> float:
    return policy.window_s + policy.open_s + 60


_NEVER_OPENED = {"gen": 0, "state": CLOSED}
FLUSH_S = 1.0
_counting: set[asyncio.Task] = set()  # closed-state successes being counted (strong references)
# Per I/O loop (only its thread touches its own): window counter key -> (successes not yet added, its TTL).
_unflushed: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[int, float]]]" = (
    weakref.WeakKeyDictionary()
)
_UNREAD = object()


def state_key(health_system_id: int, endpoint: str) -> str:
    """The cache key of the breaker's state (for callers that read it with other keys in one round trip)."""
    return _key(health_system_id, endpoint, "state")


async def _state(health_system_id: int, endpoint: str) -> dict:
    return await shared_cache.get(state_key(health_system_id, endpoint)) or _NEVER_OPENED


async def before_call(
    health_system_id: int, endpoint: str, policy: BreakerPolicy, *, state: object = _UNREAD
) -> Permit:
    """Let a call through or fail fast with EHRUnavailable("breaker_open") without touching the EHR.

    `state`: the cache entry under `state_key` when the caller has read it already (None when absent).
    If the shared cache itself is unreachable the breaker lets calls through (the EHR timeouts
    still bound them): losing the breaker must not take the whole gateway down.
    """
    try:
        state = await _state(health_system_id, endpoint) if state is _UNREAD else state or _NEVER_OPENED
        if state["state"] == CLOSED:
            return Permit(health_system_id, endpoint, state["gen"], probe=False, tags=_attribution.get())
        remaining = state["until"] - time.time()
        if remaining > 0:
            raise EHRUnavailable("breaker_open", retry_after=remaining)
        slot = await shared_cache.incr(_key(health_system_id, endpoint, "probes", state["gen"]), _ttl(policy))
    except shared_cache.CacheUnavailable:
        return let_through(health_system_id, endpoint)
    if slot > policy.half_open_probes:
        raise EHRUnavailable("breaker_open", retry_after=None)
    return Permit(health_system_id, endpoint, state["gen"], probe=True)


def let_through(health_system_id: int, endpoint: str) -> Permit:
    """The permit when the breaker's state cannot be read: the call goes through and is not counted."""
    logger.warning("breaker state unreadable for %s/%s; letting the call through", health_system_id, endpoint)
    return Permit(health_system_id, endpoint, -1, probe=False)


async def record(permit: Permit, *, failure: bool, policy: BreakerPolicy) -> None:
    """Count one call's outcome and make the transition it calls for.

    A success through a closed breaker only adds to its window's count and can change nothing, so
    it is counted in this process and added to the shared window within FLUSH_S (`_count_success`).
    """
    if permit.gen < 0:
        return
    if failure and permit.tags and not await _first_in_minute(permit):
        return  # this input's failure was counted a moment ago: not again, and not as a call either
    if failure or permit.probe:
        await _record(permit, failure=failure, policy=policy)
        return
    _count_success(permit, policy)


def _calls_key(permit: Permit, policy: BreakerPolicy, bucket: int) -> str:
    return _key(permit.health_system_id, permit.endpoint, "w", permit.gen, bucket, "calls")


def _pending() -> dict[str, tuple[int, float]]:
    """This loop's uncounted outcomes, with a flush due within FLUSH_S once there are any."""
    loop = asyncio.get_running_loop()
    pending = _unflushed.get(loop)
    if pending is None:
        pending = _unflushed[loop] = {}
    if not pending:
        loop.call_later(FLUSH_S, _flush_soon, loop)
    return pending


def _count_success(permit: Permit, policy: BreakerPolicy) -> None:
    _add(_pending(), _calls_key(permit, policy, math.floor(time.time() / _bucket_s(policy))), _ttl(policy))


def _flush_soon(loop: asyncio.AbstractEventLoop) -> None:
    task = loop.create_task(flush_successes())
    _counting.add(task)
    task.add_done_callback(_counting.discard)


async def flush_successes() -> None:
    """Add this loop's uncounted successes to the shared windows (one round trip)."""
    pending = _unflushed.pop(asyncio.get_running_loop(), None)
    if not pending:
        return
    try:
        await shared_cache.add_counts(pending)
    except shared_cache.CacheUnavailable:
        # Not sent again: an answer that timed out may have been added all the same, and successes
        # counted twice could only open the breaker later. Lost, they can only open it sooner.
        logger.warning("breaker successes not recorded (%d windows)", len(pending))


def _merge(into: dict[str, tuple[int, float]], counts: dict[str, tuple[int, float]]) -> None:
    for key, (count, ttl) in counts.items():
        into[key] = (into.get(key, (0, 0.0))[0] + count, ttl)


def _add(counts: dict[str, tuple[int, float]], key: str, ttl: float) -> None:
    _merge(counts, {key: (1, ttl)})


def forget_unflushed() -> None:
    """Drop every loop's uncounted successes (tests: one test's calls never reach the next one's windows)."""
    for pending in list(_unflushed.values()):
        pending.clear()


async def _first_in_minute(permit: Permit) -> bool:
    """Whether no tag of this failure has had one counted within ATTRIBUTED_ONCE_S (and now it has)."""
    keys = [_key(permit.health_system_id, permit.endpoint, "once", tag) for tag in permit.tags]
    try:
        return await shared_cache.add_all(keys, ATTRIBUTED_ONCE_S)
    except shared_cache.CacheUnavailable:
        return True  # counted, as without attribution


async def _record(permit: Permit, *, failure: bool, policy: BreakerPolicy) -> None:
    try:
        if permit.probe:
            await _record_probe(permit, failure=failure, policy=policy)
        else:
            await _record_closed_failure(permit, policy=policy)
    except shared_cache.CacheUnavailable:
        logger.warning("breaker outcome not recorded for %s/%s", permit.health_system_id, permit.endpoint)


async def _record_probe(permit: Permit, *, failure: bool, policy: BreakerPolicy) -> None:
    if failure:
        await _transition(permit, OPEN, policy, why="probe failed")
        return
    ok = await shared_cache.incr(_key(permit.health_system_id, permit.endpoint, "probe_ok", permit.gen), _ttl(policy))
    if ok >= policy.half_open_probes:
        await _transition(permit, CLOSED, policy, why=f"{ok} probe(s) succeeded")


async def _record_closed_failure(permit: Permit, *, policy: BreakerPolicy) -> None:
    """A failure through a closed breaker (its successes are `_count_success`'s)."""
    bucket = math.floor(time.time() / _bucket_s(policy))
    # With this process's uncounted successes, so that the window it is about to weigh has them all.
    counts = _unflushed.pop(asyncio.get_running_loop(), None) or {}
    failure: dict[str, tuple[int, float]] = {}
    _add(failure, _calls_key(permit, policy, bucket), _ttl(policy))
    _add(failure, _key(permit.health_system_id, permit.endpoint, "w", permit.gen, bucket, "fails"), _ttl(policy))
    _merge(counts, failure)
    try:
        await shared_cache.add_counts(counts)
    except shared_cache.CacheUnavailable:
        # The failure goes with the next flush, which drops it if it fails too (counted twice if this
        # add landed after all: sooner, never later); the successes are dropped, as a failed flush drops them.
        _merge(_pending(), failure)
        logger.warning("breaker successes not recorded (%d windows)", len(counts))
        raise
    calls, fails = await _window_counts(permit, policy, bucket)
    if calls >= policy.min_calls and fails / calls >= policy.failure_rate:
        await _transition(permit, OPEN, policy, why=f"{fails} of {calls} calls failed")


async def _window_counts(permit: Permit, policy: BreakerPolicy, bucket: int) -> tuple[int, int]:
    span = math.ceil(policy.window_s / _bucket_s(policy))
    base = (permit.health_system_id, permit.endpoint, "w", permit.gen)
    keys = {b: (_key(*base, b, "calls"), _key(*base, b, "fails")) for b in range(bucket - span + 1, bucket + 1)}
    values = await shared_cache.get_many([k for pair in keys.values() for k in pair])
    calls = sum(int(values.get(c, 0)) for c, _ in keys.values())
    fails = sum(int(values.get(f, 0)) for _, f in keys.values())
    return calls, fails


async def _transition(permit: Permit, to: str, policy: BreakerPolicy, *, why: str) -> None:
    hs, endpoint, gen = permit.health_system_id, permit.endpoint, permit.gen
    if not await shared_cache.add(_key(hs, endpoint, "transition", gen), 1, _ttl(policy) + policy.open_s):
        return  # another process already moved this generation on
    now = time.time()
    state = {"gen": gen + 1, "state": to, "since": now, "until": now + policy.open_s if to == OPEN else 0.0}
    await shared_cache.set(state_key(hs, endpoint), state, None)
    await _remember(hs, endpoint, {"at": now, "to": to, "why": why})
    logger.warning("EHR breaker %s/%s -> %s (%s)", hs, endpoint, to, why)


async def _remember(health_system_id: int, endpoint: str, transition: dict) -> None:
    # Read-modify-write is racy, but only the winner of a generation writes, and this is display data.
    key = _key(health_system_id, "*", "transitions")
    recent = await shared_cache.get(key) or []
    recent = [{**transition, "endpoint": endpoint}, *recent][: settings.EHR_BREAKER_TRANSITIONS_KEPT]
    await shared_cache.set(key, recent, None)


@dataclass(frozen=True)
class BreakerView:
    endpoint: str
    state: str  # closed, open or half_open
    since: float | None
    open_until: float | None


def _view(endpoint: str, state: dict) -> BreakerView:
    name = state["state"]
    if name == OPEN and state["until"] <= time.time():
        name = HALF_OPEN
    return BreakerView(endpoint, name, state.get("since"), state.get("until") or None)


async def snapshot(health_system_id: int) -> tuple[list[BreakerView], list[dict]]:
    """Every endpoint that has had a transition, its current state, and recent transitions (newest first)."""
    transitions = await shared_cache.get(_key(health_system_id, "*", "transitions")) or []
    endpoints = sorted({t["endpoint"] for t in transitions})
    views = [_view(ep, await _state(health_system_id, ep)) for ep in endpoints]
    return views, transitions


async def state_of(health_system_id: int, endpoint: str) -> str:
    return _view(endpoint, await _state(health_system_id, endpoint)).state


async def reset(health_system_id: int, policy: BreakerPolicy, *, by: str) -> list[str]:
    """Close every open or half-open breaker of a health system (an engineer's decision after a fix).

    Goes through the same generation claim as any transition, so a reset racing a probe's verdict
    makes exactly one of them. Returns the endpoints it closed.
    """
    views, _ = await snapshot(health_system_id)
    closed = []
    for view in views:
        if view.state == CLOSED:
            continue
        state = await _state(health_system_id, view.endpoint)
        await _transition(Permit(health_system_id, view.endpoint, state["gen"], probe=False), CLOSED, policy, why=by)
        closed.append(view.endpoint)
    return closed
