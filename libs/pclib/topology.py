"""RabbitMQ topology: one durable topic exchange per producing service, one quorum queue (with
its dead-letter exchange and queue) per consuming service."""

import asyncio
import contextlib
import random

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue


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
