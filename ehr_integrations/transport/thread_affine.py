"""Per-thread Redis connections and cache handles: a request thread takes neither through a shared lock.

Two process-wide locks were taken many times per request, and under load the request threads queued
on them (a lock convoy: each hand-over waits for the GIL as well):

- redis-py's ConnectionPool takes one process-wide lock to hand out a connection and again to take
it back: two acquisitions per command. A gunicorn worker runs 64 request threads that each send
several commands per request; under load they queued on that lock, and each hand-over waited for
the GIL as well (a lock convoy). A py-spy dump of a worker at 25 calls a second found 47 of its 64
threads waiting on the pool's lock while the process used a quarter of a core, and answers took
seconds (issue 24). A request runs on one thread from start to end (gthread), so each thread keeps
the connection it last used for its next command, as Django keeps one database connection per
thread. A second connection a thread needs at the same time (a command inside a pipeline's
iteration) comes from the shared pool as before. Set for django-redis as
OPTIONS["CONNECTION_POOL_CLASS"] (config/settings.py).
- Django's `caches[...]` (and the `cache` proxy) reads its per-thread handles from an asgiref
`Local` that takes an RLock on every access; once the pool's lock was gone, the next dump found
the threads queued there. `thread_critical_caches` makes that Local thread-critical, as Django's
database handles are: a plain thread-local in sync threads, a context variable in async ones.
"""

import os
import threading

from asgiref.local import Local
from redis import ConnectionPool
from redis.connection import ConnectionInterface
from redis.exceptions import ConnectionError, TimeoutError


class ThreadAffineConnectionPool(ConnectionPool):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._kept = threading.local()

    def get_connection(self, command_name: object = None, *keys: object, **options: object) -> ConnectionInterface:
        connection = getattr(self._kept, "connection", None)
        if connection is not None:
            self._kept.connection = None
            if connection.pid == os.getpid():
                return self._ready(connection)
        return super().get_connection()

    def _ready(self, connection: ConnectionInterface) -> ConnectionInterface:
        """The kept connection, checked as the pool checks one it hands out: a socket the server
        closed (a restart, an idle timeout) reads as ready data, and is replaced by a fresh one."""
        try:
            connection.connect()  # a no-op while connected; reconnects after an error closed it
            try:
                if connection.can_read():
                    raise ConnectionError("Connection has data")
            except (ConnectionError, TimeoutError, OSError):
                connection.disconnect()
                connection.connect()
        except BaseException:
            super().release(connection)
            raise
        return connection

    def release(self, connection: ConnectionInterface) -> None:
        if (
            getattr(self._kept, "connection", None) is None
            and connection.pid == os.getpid()
            and self.owns_connection(connection)
            and not connection.should_reconnect()
        ):
            self._kept.connection = connection  # stays counted in use: disconnect() and reset() still close it
            return
        super().release(connection)


def thread_critical_caches() -> None:
    """Django's cache handles kept per thread without a lock (called once, at app start-up)."""
    from django.core.cache import CacheHandler, caches

    CacheHandler.thread_critical = True
    caches._connections = Local(thread_critical=True)
