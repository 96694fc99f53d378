"""One background asyncio event loop per process for all outbound EHR I/O.

Views and Celery tasks are synchronous; EHR calls are coroutines on a pooled httpx.AsyncClient.
Running every coroutine on a single long-lived loop lets the pool (keep-alive connections) be
shared, lets prefetch continue after the request that started it has answered, and works the
same under WSGI, ASGI, Celery and the test client. Code on this loop must not query the database.
"""

import asyncio
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def _start() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
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
    return asyncio.run_coroutine_threadsafe(coro, loop())


def run(coro: Coroutine[Any, Any, T], timeout: float) -> T:
    """Run a coroutine on the I/O loop and wait for its result (at most `timeout` seconds)."""
    future = spawn(coro)
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        future.cancel()
        raise
