"""Calls to the ticketing systems that outlive their callers: a booking's call and the recording
of its answer run to their end even when the gRPC call that started them was cancelled (its
deadline expired), so that a booking's row is never left BOOKING by a caller that gave up."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from pclib import aio

T = TypeVar("T")


class Interrupted(Exception):
    """The call was cut by the stop of the service (its caller still waited)."""


class CallsUnderWay:
    def __init__(self) -> None:
        # Kept until they end: the event loop holds tasks weakly, and a caller that gave up no
        # longer awaits them.
        self._tasks: set[asyncio.Task[Any]] = set()

    async def shielded(self, call: Coroutine[Any, Any, T]) -> T:
        """The call's result; cancelling the caller does not cancel the call. Interrupted when
        `stop` cut it (the caller, not cancelled itself, must get an answer)."""
        task = asyncio.create_task(call)
        self._tasks.add(task)
        task.add_done_callback(self._ended)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            caller = asyncio.current_task()
            if task.cancelled() and caller is not None and not caller.cancelling():
                raise Interrupted() from None
            raise

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # read: a caller that gave up leaves it unread

    async def stop(self, grace_seconds: float) -> None:
        """Lets the calls under way end for `grace_seconds`, then cancels the rest (their rows
        stay BOOKING, taken for abandoned by CancelTickets after BOOKING_ABANDONED_AFTER)."""
        await aio.stop_tasks(list(self._tasks), grace_seconds)
