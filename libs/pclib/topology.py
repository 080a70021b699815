"""RabbitMQ topology: one durable topic exchange per producing service, one quorum queue (with
its dead-letter exchange and queue) per consuming service."""

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue
from aio_pika.exceptions import ChannelNotFoundEntity

log = logging.getLogger(__name__)


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


async def declare_consumer_queue(
    channel: AbstractChannel,
    queue: str,
    bindings: dict[str, list[str]],
    delivery_limit: int = 5,
) -> AbstractQueue:
    """Declares `queue` bound to each producer exchange with each routing key.

    Rejected messages, and messages requeued more than `delivery_limit` times, go to
    `{queue}.dlq` through the fanout exchange `{queue}.dlx`.
    """
    dlx = await channel.declare_exchange(f"{queue}.dlx", aio_pika.ExchangeType.FANOUT, durable=True)
    dlq = await channel.declare_queue(
        f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(dlx)
    main = await channel.declare_queue(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": dlx.name,
            "x-delivery-limit": delivery_limit,
        },
    )
    for exchange_name, routing_keys in bindings.items():
        exchange = await declare_exchange(channel, exchange_name)
        for routing_key in routing_keys:
            await main.bind(exchange, routing_key)
    return main


@dataclass(frozen=True)
class RetiredQueue:
    """A consumer's queue that no code consumes any more, with the bindings it was declared with."""

    name: str
    bindings: dict[str, list[str]]


async def retire_queue(connection: AbstractConnection, retired: RetiredQueue) -> bool:
    """Unbinds a retired queue, so that no new message reaches it, then deletes it, its
    dead-letter queue and exchange, each once it holds no message and has no consumer (workers of
    the previous release draining it during a rolling update; dead letters wait for an operator).
    What is left is deleted by a later call. Returns whether the queue is gone.

    Quorum queues refuse queue.delete's if-empty and if-unused: the counts are read first, and
    once unbound nothing flows in between the reading and the deletion."""
    main = await _existing_queue(connection, retired.name)
    if main is None:
        return True
    channel = await connection.channel()
    for exchange_name, routing_keys in retired.bindings.items():
        exchange = await declare_exchange(channel, exchange_name)
        for routing_key in routing_keys:
            await main.unbind(exchange, routing_key)
    if not await _delete_if_idle(main):
        return False
    dlq = await _existing_queue(connection, f"{retired.name}.dlq")
    if dlq is None or await _delete_if_idle(dlq):
        await (await connection.channel()).exchange_delete(f"{retired.name}.dlx")
    return True


async def _existing_queue(connection: AbstractConnection, name: str) -> AbstractQueue | None:
    """The queue if it exists, on a channel of its own (asking for a missing one closes it)."""
    try:
        return await (await connection.channel()).declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return None


async def _delete_if_idle(queue: AbstractQueue) -> bool:
    declared = await queue.declare()  # counted again: passive, as it was found
    if declared.message_count or declared.consumer_count:
        log.warning(
            "retired queue %s kept: %d messages, %d consumers",
            queue.name,
            declared.message_count,
            declared.consumer_count,
        )
        return False
    await queue.delete(if_unused=False, if_empty=False)
    return True


# Connection helpers shared by the outbox relay and the event consumer.

CONNECT_TIMEOUT = 10.0


async def connect(amqp_url: str) -> AbstractConnection:
    return await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)


def backoff_delay(attempt: int, cap: float, base: float = 0.5) -> float:
    """Exponential backoff with jitter: about base * 2**(attempt-1), never above cap."""
    delay = min(cap, base * 2.0 ** min(attempt - 1, 30))
    return delay / 2 + random.uniform(0, delay / 2)


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def close_quietly(connection: AbstractConnection | None, seconds: float = 5.0) -> None:
    """Closes a connection that may already be broken, without raising."""
    if connection is None:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(seconds):
            await connection.close()
