"""Per-process, short-lived copies of configuration read on every agent request.

Configuration (health systems, connections, mapping rules, API keys) changes rarely, from the admin
or config-as-code, but the request path reads it on every call. Each process keeps what it read for
`LOCAL_CACHE_SECONDS`. A save or delete of a watched model drops the whole cache in the process that
made it at once (signals); every other process sees the change within that time.

A copy read after half its time is read again in the background (refresh-ahead), so a copy in
regular use is renewed before it expires and the request path does not wait on the database for
it; a copy is still never used after LOCAL_CACHE_SECONDS.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from ehr_integrations.transport.expiring import ExpiringMap

logger = logging.getLogger(__name__)
_ALL: list["LocalCache"] = []
REFRESH_AFTER = 0.5  # of LOCAL_CACHE_SECONDS
_refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="config-refresh")
T = TypeVar("T")


class LocalCache:
    def __init__(self, name: str, *, maxsize: int = 1024) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._entries = ExpiringMap(settings.LOCAL_CACHE_SECONDS, maxsize)  # read without the lock
        self._refreshing: set[Hashable] = set()
        self._generation = 0  # moved on by every clear: a refresh begun before it must not store
        _ALL.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], T]) -> T:
        """The cached value, or `load()` (called outside the lock; None is not cached).

        A value older than half its time comes back at once while `load()` runs in the background.
        """
        found = self._entries.entry(key)
        if found is not None and time.monotonic() - found[1] >= REFRESH_AFTER * self._entries.ttl_s:
            with self._lock:  # the refresh's bookkeeping only: a fresh copy is read without it
                if key not in self._refreshing:
                    self._refreshing.add(key)
                    _refresher.submit(self._refresh, key, load, self._generation)
        if found is not None:
            return found[0]
        value = load()
        if value is not None:
            self.put(key, value)
        return value

    def _refresh(self, key: Hashable, load: Callable[[], object], generation: int) -> None:
        value, failed = None, False
        try:
            value = load()
        except Exception as exc:  # the copy in hand stays until it expires; the next miss reads again
            logger.warning("background refresh of %s failed: %s", self.name, type(exc).__name__)
            failed = True
        finally:
            # Kept for CONN_MAX_AGE like a request thread's (a new one per refresh cost a connect, and the
            # database a backend, every few seconds per cache); under a pool (CONN_MAX_AGE 0) it goes back.
            connection.close_if_unusable_or_obsolete()
        with self._lock:
            self._refreshing.discard(key)
            if generation != self._generation or failed:
                return
            if value is None:  # gone (a revoked key, a deleted system): not served any longer
                self._entries.pop(key)
            else:
                self._entries.put(key, value)

    def get(self, key: Hashable) -> object:
        return self._entries.get(key)

    def put(self, key: Hashable, value: object) -> None:
        self._entries.put(key, value)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key)
            self._generation += 1

    def clear(self, **_signal_kwargs: object) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def clear_on_change(self, *models: type[Model]) -> "LocalCache":
        """Drop everything when any instance of these models is saved or deleted in this process."""
        for model in models:
            post_save.connect(self.clear, sender=model, weak=False, dispatch_uid=(self.name, model, "save"))
            post_delete.connect(self.clear, sender=model, weak=False, dispatch_uid=(self.name, model, "delete"))
        return self


def _after_fork_in_child() -> None:
    """A forked child has no refresh thread (nor one holding a lock): start afresh."""
    global _refresher
    _refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="config-refresh")
    for cache in _ALL:
        cache._lock = threading.Lock()
        cache._refreshing = set()


os.register_at_fork(after_in_child=_after_fork_in_child)


def settle() -> None:
    """Wait for the refreshes queued so far, then close the refresh thread's database connection
    (tests: no refresh outlives, nor a connection opened in it, the test that began it)."""
    _refresher.submit(_close_connection).result(timeout=10)


def _close_connection() -> None:
    connection.close()  # the calling thread's: looked up in the refresh thread


def clear_all() -> None:
    """Forget every local cache (tests; after a bulk update that sends no signals)."""
    for cache in _ALL:
        cache.clear()
