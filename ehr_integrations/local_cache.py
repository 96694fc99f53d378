"""Per-process, short-lived copies of configuration read on every agent request.

Configuration (health systems, connections, mapping rules, API keys) changes rarely, from the admin
or config-as-code, but the request path reads it on every call. Each process keeps what it read for
`LOCAL_CACHE_SECONDS`. A save or delete of a watched model drops the whole cache in the process that
made it at once (signals); every other process sees the change within that time.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache
from django.conf import settings
from django.db.models.signals import post_delete, post_save

_ALL: list["LocalCache"] = []


class LocalCache:
    def __init__(self, name: str, *, maxsize: int = 1024) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._entries = TTLCache(maxsize=maxsize, ttl=settings.LOCAL_CACHE_SECONDS)
        _ALL.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value, or `load()` (called outside the lock; None is not cached)."""
        with self._lock:
            value = self._entries.get(key)
        if value is not None:
            return value
        value = load()
        if value is not None:
            with self._lock:
                self._entries[key] = value
        return value

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self, **_signal_kwargs) -> None:
        with self._lock:
            self._entries.clear()

    def clear_on_change(self, *models) -> "LocalCache":
        """Drop everything when any instance of these models is saved or deleted in this process."""
        for model in models:
            post_save.connect(self.clear, sender=model, weak=False, dispatch_uid=(self.name, model, "save"))
            post_delete.connect(self.clear, sender=model, weak=False, dispatch_uid=(self.name, model, "delete"))
        return self


def clear_all() -> None:
    """Forget every local cache (tests; after a bulk update that sends no signals)."""
    for cache in _ALL:
        cache.clear()
