"""Idempotent event consumers: each message is handled once, in the same database transaction
that records its id in the inbox table, and acknowledged only after that transaction commits."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from google.protobuf.message import DecodeError, Message
from prometheus_client import Counter
from sqlalchemy import Column, DateTime, MetaData, Table, Text, column, func, table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pclib.db import make_session_factory
from pclib.topology import (
    backoff_delay,
    close_quietly,
    declare_consumer_queue,
    sleep_unless_stopped,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
# On stop, in-flight messages get this long to finish before the connection is closed.
DRAIN_TIMEOUT = 10.0

CONSUMED = Counter(
    "events_consumed_total",
    "Events received, by outcome (handled, duplicate, failed, rejected)",
    ["queue", "routing_key", "result"],
)

_inbox = table("inbox", column("message_id", Text), column("routing_key", Text))


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("message_id", Text, primary_key=True),
        Column("routing_key", Text),
        Column("received_at", DateTime(timezone=True), server_default=func.now()),
    )


@dataclass(frozen=True)
class EventMeta:
    message_id: str
    routing_key: str
    occurred_at: datetime | None


# Any: each handler takes the message class it is registered with (a Callable of Message would
# refuse a handler of BookingUsed).
Handler = Callable[[AsyncSession, Any, EventMeta], Awaitable[None]]


class EventConsumer:
    def __init__(
        self,
        engine: AsyncEngine,
        amqp_url: str,
        queue: str,
        bindings: dict[str, list[str]],
        handlers: dict[str, tuple[type[Message], Handler]],
        *,
        prefetch: int = 32,
        delivery_limit: int = 5,
    ) -> None:
        self.amqp_url = amqp_url
        self.queue = queue
        self.bindings = bindings
        self.handlers = handlers
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.max_backoff = 30.0
        self._sessions = make_session_factory(engine)
        self._in_flight: set[asyncio.Task] = set()
        self._failures = 0

    async def declare(self, channel: AbstractChannel) -> None:
        """Declares this consumer's queues and bindings. Deployments do it before any producer
        runs (`migrate`): a topic exchange drops events that no queue is bound to yet."""
        await declare_consumer_queue(channel, self.queue, self.bindings, self.delivery_limit)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._consume(stop)
            except Exception as exc:
                self._failures += 1
                delay = backoff_delay(self._failures, self.max_backoff)
                log.warning("consumer %s: %r; reconnecting in %.1fs", self.queue, exc, delay)
                await sleep_unless_stopped(stop, delay)

    async def _consume(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set (returns) or the channel is lost (raises)."""
        connection = await aio_pika.connect(self.amqp_url, timeout=CONNECT_TIMEOUT)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.prefetch)
            queue = await declare_consumer_queue(
                channel, self.queue, self.bindings, self.delivery_limit
            )
            tag = await queue.consume(self._on_message)
            self._failures = 0
            await _stop_or_close(stop, channel)
            if not stop.is_set():
                raise ConnectionError("broker channel closed")
            await queue.cancel(tag)
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=DRAIN_TIMEOUT)
        finally:
            await close_quietly(connection)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        self._in_flight.add(task)
        try:
            result = await self._apply(message)
            CONSUMED.labels(self.queue, message.routing_key or "", result).inc()
            if result == "failed":
                # Wait before handing it back, so that a short outage (the database restarting)
                # does not burn the delivery limit at once and dead-letter a good event.
                await asyncio.sleep(self._retry_delay(message))
                await message.nack(requeue=True)
            elif result == "rejected":
                await message.reject(requeue=False)
            else:
                await message.ack()
        except Exception as exc:
            # The channel is gone: the broker redelivers and the inbox drops the duplicate.
            log.warning("consumer %s: could not settle %s: %r", self.queue, message.message_id, exc)
        finally:
            self._in_flight.discard(task)

    def _retry_delay(self, message: AbstractIncomingMessage) -> float:
        deliveries = int((message.headers or {}).get("x-delivery-count") or 0)
        return backoff_delay(deliveries + 1, self.max_backoff)

    async def _apply(self, message: AbstractIncomingMessage) -> str:
        parsed = self._parse(message)
        if parsed is None:
            return "rejected"
        event, handle = parsed
        meta = EventMeta(message.message_id, message.routing_key, message.timestamp)
        try:
            async with self._sessions.begin() as session:
                if not await _record(session, meta):
                    return "duplicate"
                await handle(session, event, meta)
        except Exception:
            log.exception("consumer %s: handler failed on %s", self.queue, meta)
            return "failed"
        return "handled"

    def _parse(self, message: AbstractIncomingMessage) -> tuple[Message, Handler] | None:
        """The event and its handler, or None (logged) when the message can never be handled."""
        entry = self.handlers.get(message.routing_key or "")
        if entry is None or not message.message_id:
            log.error(
                "consumer %s: dead-lettering %s (routing key %r has no handler or no message id)",
                self.queue,
                message.message_id,
                message.routing_key,
            )
            return None
        message_type, handle = entry
        declared = (message.headers or {}).get("message_type")
        try:
            if declared not in (None, message_type.DESCRIPTOR.full_name):
                raise DecodeError(f"message_type header is {declared!r}")
            return message_type.FromString(message.body), handle
        except DecodeError as exc:
            log.error("consumer %s: dead-lettering %s: %s", self.queue, message.message_id, exc)
            return None


async def _record(session: AsyncSession, meta: EventMeta) -> bool:
    """Inserts the message id into the inbox; False when it was already there."""
    statement = (
        insert(_inbox)
        .values(message_id=meta.message_id, routing_key=meta.routing_key)
        .on_conflict_do_nothing()
        .returning(_inbox.c.message_id)
    )
    return (await session.execute(statement)).first() is not None


async def _stop_or_close(stop: asyncio.Event, channel: AbstractChannel) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(channel.closed())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def declare_queues(amqp_url: str, consumers: list[EventConsumer]) -> None:
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)
    try:
        channel = await connection.channel()
        for consumer in consumers:
            await consumer.declare(channel)
    finally:
        await close_quietly(connection)
