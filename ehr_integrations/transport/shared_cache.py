"""The shared cache (django.core.cache: Redis in production) used from the EHR I/O loop.

With django-redis the operations run natively on the loop (redis.asyncio, one client per loop and
cache configuration), on django-redis's own keys and encoding, so entries written here and through
`django.core.cache` are the same entries. With any other backend (the embedded demo's local
memory) each operation runs on a small thread pool instead: a blocking call on the loop would stall
every in-flight EHR request. Either way an operation is bounded by the caller's deadline and fails
as CacheUnavailable. Django's own `aget`/`aset` are not used: they run on asgiref's single
thread-sensitive executor, which a sync view blocked in `io_loop.run` may be holding (deadlock).
"""

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import redis.asyncio as aioredis
from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from ehr_integrations.transport.redis_client import GatewayClient

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ehr-cache")
DEFAULT_BUDGET_S = 1.0
REDIS_BACKEND = "django_redis.cache.RedisCache"
DEFAULT_CLIENT = "django_redis.client.DefaultClient"
# django-redis's default client, or ours (redis_client.py: the same keys and encoding, one server).
ONE_SERVER_CLIENTS = frozenset({DEFAULT_CLIENT, f"{GatewayClient.__module__}.{GatewayClient.__qualname__}"})
T = TypeVar("T")

try:  # django-redis wraps socket failures in its own type
    from django_redis.exceptions import ConnectionInterrupted
except ImportError:  # pragma: no cover - django-redis is a runtime dependency
    ConnectionInterrupted = RedisError


class CacheUnavailable(Exception):
    """The shared cache did not answer in time or at all."""


_INCR_WITH_EXPIRY = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""


# Several counters at once: KEYS[i] grows by ARGV[2i-1] and, when that created it, expires after ARGV[2i] ms.
_ADD_COUNTS = """
for i = 1, #KEYS do
  local n = tonumber(ARGV[2 * i - 1])
  if redis.call('INCRBY', KEYS[i], n) == n then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return #KEYS
"""


# Every key is new (then all are set) or nothing is set: a claim on several names at once.
_ADD_ALL = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[1]) end
return 1
"""


def _px(timeout: float) -> int:
    return max(1, int(timeout * 1000))


class _KeysAndEncoding(Protocol):
    """What `_Native` uses of django-redis's DefaultClient."""

    def make_key(self, key: str) -> str: ...

    def encode(self, value: object) -> bytes | int: ...

    def decode(self, value: bytes | int | str) -> object: ...


class _ReadBatch:
    """The MGETs asked for in one pass of the loop, sent as one (issue 24): a prefetch's five EHR
    requests start together, and each reads its gates (the hold and its breaker's state) at once.

    Each reader gets the values of its own keys, from the one read of them all; a failure of that
    read is every reader's. A reader that gives up (its deadline) only stops waiting.
    """

    def __init__(self, read: Callable[[list[str]], Awaitable[list]]) -> None:
        self._read = read
        self._waiting: list[tuple[list[str], asyncio.Future]] = []
        self._sending: dict[asyncio.Task, None] = {}  # held until done (not `set`: this module has its own)

    def get_many(self, keys: list[str]) -> "asyncio.Future[dict[str, bytes]]":
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._send)  # after every reader already scheduled in this pass
        future = loop.create_future()
        self._waiting.append((keys, future))
        return future

    def _send(self) -> None:
        waiting, self._waiting = self._waiting, []
        task = asyncio.ensure_future(self._answer(waiting))
        self._sending[task] = None
        task.add_done_callback(lambda done: self._settle(done, waiting))

    async def _answer(self, waiting: list[tuple[list[str], asyncio.Future]]) -> None:
        keys = list(dict.fromkeys(key for asked, _ in waiting for key in asked))
        found = dict(zip(keys, await self._read(keys), strict=True))
        for asked, future in waiting:
            if not future.done():
                future.set_result({key: found[key] for key in asked if found[key] is not None})

    def _settle(self, done: asyncio.Task, waiting: list[tuple[list[str], asyncio.Future]]) -> None:
        """Whatever ended the read (a failure, or the loop cancelling it, even before it began), its
        readers still waiting learn that the cache did not answer, each with an error of its own."""
        self._sending.pop(done, None)
        failure = "cancelled" if done.cancelled() else type(done.exception()).__name__
        for _, future in waiting:
            if not future.done():
                future.set_exception(CacheUnavailable(failure))


class _Native:
    """django-redis's keys and encoding over redis.asyncio, on the loop that created it."""

    def __init__(self, client: _KeysAndEncoding, configured: dict) -> None:
        self.client = client  # django-redis DefaultClient of this thread's cache
        options = configured.get("OPTIONS", {})
        self.redis = aioredis.Redis.from_url(
            configured["LOCATION"],
            socket_connect_timeout=options.get("SOCKET_CONNECT_TIMEOUT"),
            socket_timeout=options.get("SOCKET_TIMEOUT"),
        )
        self._incr = self.redis.register_script(_INCR_WITH_EXPIRY)
        self._add_all = self.redis.register_script(_ADD_ALL)
        self._add_counts = self.redis.register_script(_ADD_COUNTS)
        self._reads = _ReadBatch(self.redis.mget)

    def _key(self, key: str) -> str:
        return str(self.client.make_key(key))

    def _decode(self, value: bytes | None) -> object:
        return None if value is None else self.client.decode(value)

    async def get(self, key: str) -> object:
        return self._decode(await self.redis.get(self._key(key)))

    async def get_many(self, keys: list[str]) -> dict[str, object]:
        if not keys:
            return {}
        made = {key: self._key(key) for key in keys}
        found = await self._reads.get_many(list(made.values()))
        return {key: self._decode(found[name]) for key, name in made.items() if name in found}

    async def set(self, key: str, value: object, timeout: float | None) -> None:
        px = None if timeout is None else _px(timeout)
        await self.redis.set(self._key(key), self.client.encode(value), px=px)

    async def add(self, key: str, value: object, timeout: float | None) -> bool:
        px = None if timeout is None else _px(timeout)
        return bool(await self.redis.set(self._key(key), self.client.encode(value), nx=True, px=px))

    async def add_all(self, keys: list[str], timeout: float) -> bool:
        return bool(await self._add_all(keys=[self._key(k) for k in keys], args=[_px(timeout), self.client.encode(1)]))

    async def delete(self, key: str) -> None:
        await self.redis.delete(self._key(key))

    async def incr(self, key: str, timeout: float) -> int:
        """INCR; the counter gets its expiry when created, in the same atomic step (Lua)."""
        return int(await self._incr(keys=[self._key(key)], args=[_px(timeout)]))

    async def add_counts(self, counts: dict[str, tuple[int, float]]) -> None:
        args = [part for n, timeout in counts.values() for part in (n, _px(timeout))]
        await self._add_counts(keys=[self._key(k) for k in counts], args=args)


def incr_or_create(key: str, timeout: float, delta: int = 1) -> int:
    """Blocking (sync callers, and the thread pool): add `delta`, creating the counter (expiring after
    `timeout`) when absent."""
    if cache.add(key, delta, timeout):
        return delta
    try:
        return cache.incr(key, delta)
    except ValueError:  # it expired between the add and the incr
        cache.add(key, delta, timeout)
        return delta


class _Threaded:
    """Any other cache backend: the blocking calls on the thread pool."""

    @staticmethod
    async def _run(fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(_executor, lambda: fn(*args))

    async def get(self, key: str) -> object:
        return await self._run(cache.get, key)

    async def get_many(self, keys: list[str]) -> dict[str, object]:
        return await self._run(cache.get_many, keys)

    async def set(self, key: str, value: object, timeout: float | None) -> None:
        await self._run(cache.set, key, value, timeout)

    async def add(self, key: str, value: object, timeout: float | None) -> bool:
        return bool(await self._run(cache.add, key, value, timeout))

    async def add_all(self, keys: list[str], timeout: float) -> bool:
        # Not atomic (no such primitive here): a concurrent claim on some of the keys may win part of them.
        if await self._run(cache.get_many, keys):
            return False
        return all([await self.add(key, 1, timeout) for key in keys])

    async def delete(self, key: str) -> None:
        await self._run(cache.delete, key)

    async def incr(self, key: str, timeout: float) -> int:
        return int(await self._run(incr_or_create, key, timeout))

    async def add_counts(self, counts: dict[str, tuple[int, float]]) -> None:
        for key, (n, timeout) in counts.items():
            await self._run(incr_or_create, key, timeout, n)


_THREADED = _Threaded()
# Per loop and cache configuration, found from the settings: Django keeps cache objects in
# context-local storage, so each task on a loop would otherwise build a cache object of its own.
_natives: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, _Native]]" = weakref.WeakKeyDictionary()


def single_redis() -> bool:
    """Whether the default cache is django-redis's default client (or ours, redis_client.py) on one Redis server.

    Only then may a caller talk to that server directly with django-redis's keys and encoding
    (a sharded client spreads keys over several servers).
    """
    configured = settings.CACHES["default"]
    client_class = configured.get("OPTIONS", {}).get("CLIENT_CLASS", DEFAULT_CLIENT)
    location = configured.get("LOCATION", "")
    single = isinstance(location, str) and "," not in location
    return configured["BACKEND"] == REDIS_BACKEND and client_class in ONE_SERVER_CLIENTS and single


def _backend() -> _Native | _Threaded:
    if not single_redis():
        return _THREADED
    configured = settings.CACHES["default"]
    which = (configured["LOCATION"], configured.get("KEY_PREFIX", ""), configured.get("VERSION", 1))
    on_loop = _natives.setdefault(asyncio.get_running_loop(), {})
    native = on_loop.get(which)
    if native is None:
        native = on_loop[which] = _Native(cache.client, configured)
    return native


async def _bounded(operation: Awaitable[T], *, budget_s: float = DEFAULT_BUDGET_S, deadline: float | None = None) -> T:
    timeout = budget_s if deadline is None else max(0.0, min(budget_s, deadline - time.monotonic()))
    try:
        return await asyncio.wait_for(operation, timeout)
    except (TimeoutError, RedisError, ConnectionInterrupted, OSError) as exc:
        raise CacheUnavailable(type(exc).__name__) from None


async def get(key: str, *, deadline: float | None = None) -> object:
    return await _bounded(_backend().get(key), deadline=deadline)


async def get_many(keys: list[str], *, deadline: float | None = None) -> dict[str, object]:
    return await _bounded(_backend().get_many(keys), deadline=deadline)


async def set(key: str, value: object, timeout: float | None, *, deadline: float | None = None) -> None:  # noqa: A001
    await _bounded(_backend().set(key, value, timeout), deadline=deadline)


async def add(key: str, value: object, timeout: float | None, *, deadline: float | None = None) -> bool:
    """Store only if absent; True if this caller stored it (the cross-process claim primitive)."""
    return await _bounded(_backend().add(key, value, timeout), deadline=deadline)


async def add_all(keys: list[str], timeout: float, *, deadline: float | None = None) -> bool:
    """Store every key if none exists; True if this caller stored them (one claim on several names)."""
    return await _bounded(_backend().add_all(keys, timeout), deadline=deadline)


async def delete(key: str, *, deadline: float | None = None) -> None:
    await _bounded(_backend().delete(key), deadline=deadline)


async def incr(key: str, timeout: float, *, deadline: float | None = None) -> int:
    """Atomically add one, creating the counter (expiring after `timeout`) when absent."""
    return await _bounded(_backend().incr(key, timeout), deadline=deadline)


async def add_counts(counts: dict[str, tuple[int, float]], *, deadline: float | None = None) -> None:
    """Add to several counters in one round trip: key -> (how much, the expiry of a counter it creates)."""
    if counts:
        await _bounded(_backend().add_counts(counts), deadline=deadline)
