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


# How long past the work's own deadline a waiter allows for its answer to come back from the loop:
# the work itself (every EHR request, every cache operation) already gives up at the deadline.
ANSWER_GRACE_S = 0.05


def deadline_in(seconds: float) -> float:
    """An absolute deadline (time.monotonic()) `seconds` from now: what EHR work carries end to end."""
    return time.monotonic() + seconds


def result(future: Future[T], *, deadline: float) -> T:
    """Wait for work already spawned on the loop, never past its deadline (EHRUnavailable then)."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()) + ANSWER_GRACE_S)
    except TimeoutError:
        future.cancel()
        raise EHRUnavailable("deadline_exceeded") from None


def wait(coro: Coroutine[Any, Any, T], *, deadline: float) -> T:
    """Run a coroutine on the I/O loop and wait for it: the one way sync code runs EHR work."""
    return result(spawn(coro), deadline=deadline)
