"""Request threads reach Redis and their cache handles without queueing on a process-wide lock."""

import gc
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from asgiref.local import Local
from auditlog import context as auditlog_context
from django.core.cache import cache, caches
from django_redis import get_redis_connection

from ehr_integrations.transport.thread_affine import ThreadAffineConnectionPool, thread_critical_locals

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the real Redis (make test)")


def _client_id() -> int:
    return get_redis_connection("default").client_id()


def test_the_cache_uses_the_thread_affine_pool():
    assert isinstance(get_redis_connection("default").connection_pool, ThreadAffineConnectionPool)


def test_a_thread_keeps_its_connection_and_threads_do_not_share_one():
    barrier = threading.Barrier(4)

    def ids() -> tuple[int, int]:
        first = _client_id()
        barrier.wait()  # all four threads hold a connection at the same time
        cache.set(f"affine:{threading.get_ident()}", 1, 5)
        return first, _client_id()

    with ThreadPoolExecutor(max_workers=4) as pool:
        pairs = list(pool.map(lambda _: ids(), range(4)))

    assert all(first == again for first, again in pairs)  # the same connection for every command
    assert len({first for first, _ in pairs}) == 4  # and one of its own per thread


def test_a_kept_connection_the_server_closed_is_replaced_and_the_command_answers():
    cache.set("affine:probe", "before", 5)
    kept = _client_id()
    redis_client = get_redis_connection("default")
    redis_client.client_kill_filter(_id=kept, skipme=False)
    _until_the_close_arrives(redis_client.connection_pool._slot().box[0])

    assert cache.get("affine:probe") == "before"
    assert _client_id() != kept


def _until_the_close_arrives(connection, timeout: float = 2.0) -> None:
    """The server has closed the socket; on a busy machine the close can reach this side after the
    next command is sent (the same race any pool's check has): wait until it can be seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if connection.can_read(timeout=0):
                return
        except (redis.exceptions.ConnectionError, OSError):
            return
        time.sleep(0.01)
    raise AssertionError("the killed connection never read as closed")


def test_many_threads_read_their_own_writes():
    def work(n: int) -> bool:
        for i in range(50):
            cache.set(f"affine:{n}:{i}", [n, i], 5)
            if cache.get(f"affine:{n}:{i}") != [n, i]:
                return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert all(pool.map(work, range(32)))


def test_threads_that_end_give_their_connections_back():
    pool = get_redis_connection("default").connection_pool
    gc.collect()
    before = len(pool._in_use_connections)
    for _ in range(3 * pool.max_connections // 16):  # more threads in all than the pool may open
        with ThreadPoolExecutor(max_workers=16) as executor:
            assert all(executor.map(lambda n: cache.set(f"affine:end:{n}", n, 5), range(16)))
    gc.collect()

    assert len(pool._in_use_connections) <= before + 1  # none of the ended threads'


def test_a_forked_child_opens_its_own_connection():
    parent = _client_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never the parent's socket
        try:
            os.write(write, str(_client_id()).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 32) or 0)
    os.waitpid(pid, 0)

    assert child and child != parent
    assert _client_id() == parent  # the parent's connection still works


@pytest.fixture
def thread_locals(monkeypatch):
    """thread_critical_locals() as config/wsgi.py runs it in a REST server worker, undone after the test."""
    from django.core.cache import CacheHandler
    from django.urls import base as urls
    from django.utils import timezone
    from django.utils.translation import trans_real

    for owner, name in ((CacheHandler, "thread_critical"), (caches, "_connections"), (urls, "_prefixes"),
                        (urls, "_urlconfs"), (trans_real, "_active"), (timezone, "_active")):  # fmt: skip
        monkeypatch.setattr(owner, name, getattr(owner, name))
    thread_critical_locals()


def test_in_a_rest_server_worker_per_request_state_is_per_thread_without_a_lock(thread_locals):
    from django.urls import get_urlconf, reverse, set_urlconf

    critical = type(Local(thread_critical=True))
    assert type(caches._connections) is critical
    main = caches["default"]
    set_urlconf("config.urls")
    with ThreadPoolExecutor(max_workers=1) as pool:
        other, other_urlconf = pool.submit(lambda: (caches["default"], get_urlconf())).result()

    assert caches["default"] is main and other is not main
    assert get_urlconf() == "config.urls" and other_urlconf is None  # each thread its own
    assert reverse("healthz") == "/healthz"
    set_urlconf(None)


def test_the_agent_api_connects_no_auditlog_receiver_and_staff_pages_do(client, monkeypatch):
    connected = []
    real = auditlog_context.pre_save.connect
    monkeypatch.setattr(auditlog_context.pre_save, "connect", lambda *a, **k: connected.append(1) or real(*a, **k))

    client.get("/healthz")
    client.get("/api/v1/calls/00000000-0000-0000-0000-000000000000/appointments")
    assert connected == []

    client.get("/admin/login/")
    assert connected == [1]
