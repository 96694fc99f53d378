"""The per-process EHR I/O loop: a caller that stops waiting leaves no unretrieved task error behind."""

import asyncio
import gc
import logging
import time

import pytest

from ehr_integrations.errors import EHRUnavailable
from ehr_integrations.transport import io_loop


def test_a_task_that_fails_after_its_caller_gave_up_is_not_logged_as_unretrieved(caplog):
    async def fails_when_cancelled():  # as EHR code that turns a cut into its own error does
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise RuntimeError("cut at the deadline") from None

    caplog.set_level(logging.ERROR, logger="asyncio")
    with pytest.raises(EHRUnavailable, match="deadline_exceeded"):
        io_loop.wait(fails_when_cancelled(), deadline=io_loop.deadline_in(0.05))
    time.sleep(0.2)  # the task has failed by now
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_a_failure_still_reaches_a_caller_that_waits():
    async def fails():
        raise ValueError("bad answer")

    with pytest.raises(ValueError, match="bad answer"):
        io_loop.wait(fails(), deadline=io_loop.deadline_in(1))


def test_a_waiter_gives_up_at_the_deadline_the_work_carries():
    async def hangs():
        await asyncio.sleep(5)

    started = time.monotonic()
    with pytest.raises(EHRUnavailable, match="deadline_exceeded"):
        io_loop.wait(hangs(), deadline=io_loop.deadline_in(0.2))
    assert 0.2 <= time.monotonic() - started < 0.2 + io_loop.ANSWER_GRACE_S + 0.15
