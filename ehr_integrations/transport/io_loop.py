"""One background asyncio event loop per process for all outbound EHR I/O.

Views and Celery tasks are synchronous; EHR calls are coroutines on a pooled aiohttp session.
Running every coroutine on a single long-lived loop lets the pool (keep-alive connections) be
shared, lets prefetch continue after the request that started it has answered, and works the
same under WSGI, ASGI, Celery and the test client. Code on this loop must not query the database.
"""

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import uvloop

from ehr_integrations.errors import EHRUnavailable

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def _start() -> asyncio.AbstractEventLoop:
    loop = uvloop.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="ehr-io-loop", daemon=True)
    thread.start()
    return loop


def loop() -> asyncio.AbstractEventLoop:
    """The process's EHR I/O loop, started on first use (and again in a forked child)."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            _loop = _start()
            _pid = os.getpid()
        return _loop


def spawn(coro: Coroutine[Any, Any, T]) -> Future[T]:
    """Schedule a coroutine on the I/O loop and return at once."""
    return asyncio.run_coroutine_threadsafe(_observed(coro), loop())


async def _observed(coro: Coroutine[Any, Any, T]) -> T:
    # A caller that stopped waiting (timeout) cancels its future; if the task fails meanwhile, its
    # exception is still retrieved here, so asyncio does not log "Task exception was never retrieved".
    asyncio.current_task().add_done_callback(_retrieve)
    return await coro


def _retrieve(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()


def run(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run a coroutine on the I/O loop and wait for its result (at most `timeout` seconds)."""
    future = spawn(coro)
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        future.cancel()
        raise


RUN_UNTIL_MARGIN_S = 0.05


def deadline_in(seconds: float) -> float:
    """An absolute deadline (time.monotonic()) `seconds` from now."""
    return time.monotonic() + seconds


def run_until(coro: Coroutine[Any, Any, T], *, deadline: float) -> T:
    """`run` bounded by an absolute deadline: the caller never waits past it (EHRUnavailable then)."""
    try:
        return run(coro, timeout=max(0.0, deadline - time.monotonic()) + RUN_UNTIL_MARGIN_S)
    except TimeoutError:
        raise EHRUnavailable("deadline_exceeded") from None
