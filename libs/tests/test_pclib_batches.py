"""pclib.batches: a full batch is followed at once by another pass, a short one by a pause; a
failing pass is logged and tried again."""

import asyncio
import logging

import pytest

from pclib.batches import run_in_batches

LOG = logging.getLogger("test.batches")


def passes(*answers: int | Exception, stop: asyncio.Event):
    """A pass answering each of `answers` in turn, stopping the loop at the last."""
    left = list(answers)

    async def one_pass() -> int:
        answer = left.pop(0)
        if not left:
            stop.set()
        if isinstance(answer, Exception):
            raise answer
        return answer

    return one_pass


async def run(stop: asyncio.Event, one_pass, *, batch: int, interval: float) -> None:
    loop = run_in_batches(stop, one_pass, batch=batch, interval=interval, log=LOG, done="handled")
    await asyncio.wait_for(loop, 5)


async def test_full_batches_are_followed_at_once_by_the_next_pass(caplog):
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="test.batches"):
        # A pause after any of the first two passes would outlast the 5 s allowed.
        await run(stop, passes(3, 3, 1, stop=stop), batch=3, interval=30)
    assert [r.count for r in caplog.records if r.message == "handled"] == [3, 3, 1]


async def test_a_short_batch_pauses_the_loop():
    stop = asyncio.Event()
    with pytest.raises(TimeoutError):  # the control: 3 of a batch of 4 waits the 30 s
        await run(stop, passes(3, 1, stop=stop), batch=4, interval=30)


async def test_a_failing_pass_is_logged_and_tried_again(caplog):
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="test.batches"):
        await run(stop, passes(RuntimeError("database gone"), 2, stop=stop), batch=3, interval=0.05)
    assert "the pass failed" in caplog.text and "database gone" in caplog.text
    assert [r.count for r in caplog.records if r.message == "handled"] == [2]
