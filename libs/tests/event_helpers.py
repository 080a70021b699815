"""Tables and polling helpers (tests wait for a condition with a deadline, never a fixed time)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, Table, Text

from pclib.inbox import inbox_table
from pclib.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# What test handlers change, to check their effect commits with the inbox row.
counters = Table(
    "counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Integer, nullable=False),
)


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


async def receive(
    queue: AbstractQueue, count: int, within: float = 10.0
) -> list[AbstractIncomingMessage]:
    """At least `count` messages from the queue (acked), failing after `within` seconds."""
    received: list[AbstractIncomingMessage] = []

    async def got_enough() -> bool:
        while len(received) < count:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                return False
            received.append(message)
        return True

    await eventually(got_enough, within)
    return received


async def drain(queue: AbstractQueue) -> list[AbstractIncomingMessage]:
    """Whatever is left in the queue now."""
    left = []
    while message := await queue.get(no_ack=True, fail=False):
        left.append(message)
    return left


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
