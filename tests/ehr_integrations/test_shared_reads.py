"""Reads of the shared cache from the I/O loop: the MGETs of one pass of the loop go as one, on real Redis."""

import asyncio
import time

import pytest
from django.core.cache import cache

from ehr_integrations.transport import io_loop, shared_cache


def run(coro):
    return io_loop.wait(coro, deadline=io_loop.deadline_in(5))


@pytest.fixture
def mgets():
    """Every MGET the loop's Redis client sends (the keys of each), counted on its way to the real server."""
    sent: list[list[str]] = []

    async def install():
        native = shared_cache._backend()
        assert isinstance(native, shared_cache._Native), "these tests need django-redis (REDIS_URL)"
        real = native._reads._read

        async def counted(keys):
            sent.append(list(keys))
            return await real(keys)

        native._reads._read = counted
        return native, real

    native, real = run(install())
    yield sent
    native._reads._read = real


@pytest.fixture
def stored():
    values = {f"gate-test:{name}": f"value-{name}" for name in ("hold", "a", "b", "c")}
    cache.set_many(values, timeout=30)
    yield values
    cache.delete_many(list(values))


def test_reads_started_together_go_as_one_mget_and_each_gets_only_its_keys(mgets, stored):
    asked = [["gate-test:hold", "gate-test:a"], ["gate-test:hold", "gate-test:b"], ["gate-test:c", "gate-test:none"]]

    async def together():
        return await asyncio.gather(*(shared_cache.get_many(keys) for keys in asked))

    answers = run(together())
    assert answers == [
        {"gate-test:hold": "value-hold", "gate-test:a": "value-a"},
        {"gate-test:hold": "value-hold", "gate-test:b": "value-b"},
        {"gate-test:c": "value-c"},  # an absent key is absent, as from a plain MGET
    ]
    assert len(mgets) == 1
    assert sorted(mgets[0]) == sorted({cache.make_key(key) for keys in asked for key in keys})  # each key once


def test_a_later_read_is_sent_again_and_sees_what_changed_since(mgets, stored):
    assert run(shared_cache.get_many(["gate-test:a"])) == {"gate-test:a": "value-a"}
    cache.set("gate-test:a", "changed", timeout=30)
    assert run(shared_cache.get_many(["gate-test:a"])) == {"gate-test:a": "changed"}
    assert len(mgets) == 2


def test_a_reader_that_gives_up_leaves_the_others_their_answer(mgets, stored):
    async def one_late():
        spent = shared_cache.get_many(["gate-test:a"], deadline=time.monotonic())  # no time left
        waiting = shared_cache.get_many(["gate-test:b"])
        return await asyncio.gather(spent, waiting, return_exceptions=True)

    spent, answered = run(one_late())
    assert isinstance(spent, shared_cache.CacheUnavailable)
    assert answered == {"gate-test:b": "value-b"}


def test_a_failed_read_fails_every_reader_of_it(settings):
    async def together():
        unreachable = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}  # nothing listens
        native = shared_cache._Native(cache.client, unreachable)
        reads = (shared_cache._bounded(native.get_many([key])) for key in ("gate-test:a", "gate-test:b"))
        return await asyncio.gather(*reads, return_exceptions=True)

    assert [type(answer) for answer in run(together())] == [shared_cache.CacheUnavailable] * 2


@pytest.mark.parametrize("when", ["before it begins", "during the read"])
def test_a_read_the_loop_cancels_fails_its_readers_as_unavailable_never_as_cancelled(when):
    """The loop (shutting down) cancels the batch's task: readers nobody cancelled are not left
    waiting, nor handed a CancelledError that would skip their own fallback."""

    async def slow_read(keys):
        await asyncio.sleep(10)
        return [None] * len(keys)

    async def readers():
        batch = shared_cache._ReadBatch(slow_read)
        reads = [asyncio.ensure_future(batch.get_many([key])) for key in ("a", "b")]
        await asyncio.sleep(0)  # the readers are waiting; the batch's task is scheduled, not yet run
        (task,) = batch._sending
        if when == "during the read":
            await asyncio.sleep(0.01)
        task.cancel()
        return await asyncio.wait_for(asyncio.gather(*reads, return_exceptions=True), timeout=1)

    assert [type(answer) for answer in run(readers())] == [shared_cache.CacheUnavailable] * 2
