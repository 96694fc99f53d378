"""Per-thread Redis connections and cache handles: a request thread takes neither through a shared lock.

Two process-wide locks were taken many times per request, and under load the request threads queued
on them (a lock convoy: each hand-over waits for the GIL as well):

- redis-py's ConnectionPool takes one process-wide lock to hand out a connection and again to take
it back: two acquisitions per command. A REST server worker runs 64 request threads that each send
several commands per request; under load they queued on that lock, and each hand-over waited for
the GIL as well (a lock convoy). A py-spy dump of a worker at 25 calls a second found 47 of its 64
threads waiting on the pool's lock while the process used a quarter of a core, and answers took
seconds (issue 24). A request runs on one thread from start to end (config/rest_server.py), so each thread keeps
the connection it last used for its next command, as Django keeps one database connection per
thread. A second connection a thread needs at the same time (a command inside a pipeline's
iteration) comes from the shared pool as before. Set for django-redis as
OPTIONS["CONNECTION_POOL_CLASS"] (config/settings.py).
- Django's `caches[...]` (and the `cache` proxy), URLconf, script prefix, translation and time zone
live in asgiref Locals that take an RLock on every access; once the pool's lock was gone, the next
dumps found the threads queued there. `thread_critical_locals` makes them plain thread-locals in
the REST server's workers, as Django's database handles are everywhere.
"""

import os
import threading
import weakref

from asgiref.local import Local
from redis import ConnectionPool
from redis.connection import ConnectionInterface
from redis.exceptions import ConnectionError, TimeoutError


class _Slot:
    """A thread's kept connection; when the thread ends and its locals go, the connection goes back."""

    __slots__ = ("box", "__weakref__")

    def __init__(self) -> None:
        self.box: list = [None]


class ThreadAffineConnectionPool(ConnectionPool):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._kept = threading.local()

    def _slot(self) -> _Slot:
        slot = getattr(self._kept, "slot", None)
        if slot is None:
            slot = self._kept.slot = _Slot()
            # A thread that ends (a short-lived executor's) must not keep a connection counted in use
            # for ever: redis-py 8 refuses the 101st (max_connections defaults to 100).
            weakref.finalize(slot, self._orphaned, slot.box)
        return slot

    def _orphaned(self, box: list) -> None:
        connection, box[0] = box[0], None
        if connection is not None:
            super().release(connection)

    def get_connection(self, command_name: object = None, *keys: object, **options: object) -> ConnectionInterface:
        box = self._slot().box
        connection, box[0] = box[0], None
        if connection is not None and connection.pid == os.getpid():
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
        box = self._slot().box
        if (
            box[0] is None
            and connection.pid == os.getpid()
            and self.owns_connection(connection)
            and not connection.should_reconnect()
        ):
            box[0] = connection  # stays counted in use: disconnect() and reset() still close it
            return
        super().release(connection)


def thread_critical_locals() -> None:
    """Django's per-request state kept in plain thread-locals: for the REST server's workers only.

    Django keeps its cache handles, URLconf, script prefix, active translation and time zone in
    asgiref Locals that take a process-wide RLock on every access, so that async code can share them
    with the threads it hands work to. The REST server's workers (config/rest_server.py) run every request on one thread
    from start to end and have no async contexts to share with, so there a thread-local is the same
    thing without the lock (called from config/wsgi.py once the application is loaded). With the
    Redis pool's lock gone the next dump found 39 of 64 threads in set_urlconf.
    """
    from django.core.cache import CacheHandler, caches
    from django.urls import base as urls
    from django.utils import timezone
    from django.utils.translation import trans_real

    CacheHandler.thread_critical = True
    caches._connections = Local(thread_critical=True)
    urls._prefixes = Local(thread_critical=True)
    urls._urlconfs = Local(thread_critical=True)
    trans_real._active = Local(thread_critical=True)
    timezone._active = Local(thread_critical=True)
