"""The event loop every process runs on: uvloop's (libuv), the one uvicorn picks for the
gateway too. Its loop costs a fraction of asyncio's own per wakeup, and a gRPC server or a
consumer wakes up several times per call."""

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop."""
    return uvloop.run(main)
