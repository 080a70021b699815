"""The event loop every process runs on: uvloop's (libuv), the one uvicorn picks for the
gateway too. Its loop costs a fraction of asyncio's own per wakeup, and a gRPC server or a
consumer wakes up several times per call. And the stop of background tasks, with a grace."""

import asyncio
from collections.abc import Collection, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop."""
    return uvloop.run(main)


async def stop_tasks(tasks: Collection[asyncio.Task[Any]], grace_seconds: float) -> None:
    """Lets the tasks end for `grace_seconds`, then cancels the rest and waits for them."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
