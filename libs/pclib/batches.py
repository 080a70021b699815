"""A background job that works in batches (a reconciler, a retry queue): one pass after another
while there is more to do, else a pause; a failing pass is logged and tried again later."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pclib.topology import sleep_unless_stopped


async def run_in_batches(
    stop: asyncio.Event,
    one_pass: Callable[[], Awaitable[int]],
    *,
    batch: int,
    interval: float,
    log: logging.Logger,
    done: str,
) -> None:
    """Until `stop`: `one_pass()` (how many it handled, at most `batch`), again at once after a
    full batch, else after `interval` seconds; `done` names what it handled in the log."""
    while not stop.is_set():
        try:
            handled = await one_pass()
        except Exception:
            log.exception("%s: the pass failed, trying again", done)
            handled = 0
        if handled:
            log.info(done, extra={"count": handled})
        if handled < batch:
            await sleep_unless_stopped(stop, interval)
