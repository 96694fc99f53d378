"""A per-process map whose entries expire, read and written by request threads without a lock.

The gateway's per-process copies (configuration, API keys, the calls' data keys) were cachetools
TTLCaches behind a lock each; at 25 calls a second a py-spy dump found 53 of a worker's 64 threads
queued on one of those locks (a lock convoy: each hand-over also waits for the GIL; issue 24). A
dict's get, set and pop are atomic under the GIL, so reads and writes need none. A full map drops
its expired entries, or starts again when none has expired: it is a cache, never the only copy.
"""

import time
from collections.abc import Hashable


class ExpiringMap:
    def __init__(self, ttl_s: float, maxsize: int) -> None:
        self.ttl_s = ttl_s
        self.maxsize = maxsize
        self._items: dict[Hashable, tuple[object, float]] = {}  # key -> (value, stored at, monotonic)

    def entry(self, key: Hashable) -> tuple[object, float] | None:
        """(value, when it was stored), or None when absent or expired."""
        found = self._items.get(key)
        return found if found is not None and time.monotonic() - found[1] < self.ttl_s else None

    def get(self, key: Hashable) -> object:
        found = self.entry(key)
        return None if found is None else found[0]

    def put(self, key: Hashable, value: object) -> None:
        if len(self._items) >= self.maxsize:
            self._prune()
        self._items[key] = (value, time.monotonic())

    def pop(self, key: Hashable) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def _prune(self) -> None:
        now = time.monotonic()
        for key, (_, stored) in list(self._items.items()):
            if now - stored >= self.ttl_s:
                self._items.pop(key, None)
        if len(self._items) >= self.maxsize:
            self._items.clear()
