"""The shared cache (django.core.cache: Redis in production) used from the EHR I/O loop.

The cache client is blocking. Calling it on the loop would stall every in-flight EHR request for
the length of a slow Redis round trip, so each operation runs on a small thread pool and is bounded
by the caller's deadline. Django's own `aget`/`aset` are not used: they run on asgiref's single
thread-sensitive executor, which a sync view blocked in `io_loop.run` may be holding (deadlock).
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ehr-cache")
DEFAULT_BUDGET_S = 1.0

try:  # django-redis wraps socket failures in its own type
    from django_redis.exceptions import ConnectionInterrupted
except ImportError:  # pragma: no cover - django-redis is a runtime dependency
    ConnectionInterrupted = RedisError


class CacheUnavailable(Exception):
    """The shared cache did not answer in time or at all."""


async def _call(fn, *args: Any, budget_s: float = DEFAULT_BUDGET_S, deadline: float | None = None) -> Any:
    timeout = budget_s if deadline is None else max(0.0, min(budget_s, deadline - time.monotonic()))
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(_executor, lambda: fn(*args)), timeout)
    except (TimeoutError, RedisError, ConnectionInterrupted, OSError) as exc:
        raise CacheUnavailable(type(exc).__name__) from None


async def get(key: str, *, deadline: float | None = None) -> Any:
    return await _call(cache.get, key, deadline=deadline)


async def get_many(keys: list[str], *, deadline: float | None = None) -> dict[str, Any]:
    return await _call(cache.get_many, keys, deadline=deadline)


async def set(key: str, value: Any, timeout: float, *, deadline: float | None = None) -> None:  # noqa: A001
    await _call(cache.set, key, value, timeout, deadline=deadline)


async def add(key: str, value: Any, timeout: float, *, deadline: float | None = None) -> bool:
    """Store only if absent; True if this caller stored it (the cross-process claim primitive)."""
    return bool(await _call(cache.add, key, value, timeout, deadline=deadline))


async def delete(key: str, *, deadline: float | None = None) -> None:
    await _call(cache.delete, key, deadline=deadline)


def _incr_or_create(key: str, timeout: float) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)


async def incr(key: str, timeout: float, *, deadline: float | None = None) -> int:
    """Atomically add one, creating the counter (expiring after `timeout`) when absent."""
    return int(await _call(_incr_or_create, key, timeout, deadline=deadline))
