"""Idempotent event consumers: each message is handled once, and acknowledged only after its id
is in the inbox table.

- EventConsumer: the handler runs in the database transaction that records the id (a
  redelivered event changes nothing).
- StatementConsumer: the same, on a psycopg pool: its handlers are SQL statements sent as
  written (a hot consumer's few statements, without the ORM's work per statement).
- EffectConsumer: for a handler whose effect is outside the database (an email); the inbox is
  read before and written after the effect, in autocommit on a psycopg pool (two statements,
  no transaction held while the effect runs). A redelivery of a handled event does nothing; a
  crash between the effect and the inbox row repeats the effect, as an EventConsumer's would
  when its commit fails after the effect.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from google.protobuf.message import DecodeError, Message
from opentelemetry import trace
from prometheus_client import Counter
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Column, DateTime, MetaData, Table, Text, column, func, table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pclib import tracing
from pclib.db import make_session_factory
from pclib.topology import (
    RetiredQueue,
    backoff_delay,
    close_quietly,
    connect,
    declare_consumer_queue,
    retire_queue,
    sleep_unless_stopped,
)

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

# On stop, in-flight messages get this long to finish before the connection is closed.
DRAIN_TIMEOUT = 10.0

CONSUMED = Counter(
    "events_consumed_total",
    "Events received, by outcome (handled, duplicate, failed, rejected)",
    ["queue", "routing_key", "result"],
)


class Outcome(StrEnum):
    """What became of a received event (the `result` label of CONSUMED)."""

    HANDLED = "handled"
    #: Already in the inbox: acknowledged, not handled again.
    DUPLICATE = "duplicate"
    #: The handler raised: handed back to the broker, after a delay.
    FAILED = "failed"
    #: Never handleable (no handler, no message id, undecodable): dead-lettered.
    REJECTED = "rejected"


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


# Handles one event type in the inbox's transaction. It takes the event type it is registered
# with (Any: a mapping's entry type cannot tie the two).
Handler = Callable[[AsyncSession, Any, EventMeta], Awaitable[None]]
# Routing key → (event type, its handler): annotate a consumer's table with it.
Handlers = Mapping[str, tuple[type[Message], Handler]]
# An EffectConsumer's handler, with a psycopg connection (autocommit) for what it reads.
EffectHandler = Callable[[AsyncConnection[Any], Any, EventMeta], Awaitable[None]]
EffectHandlers = Mapping[str, tuple[type[Message], EffectHandler]]
# A StatementConsumer's handler: the same, its connection in the inbox's transaction.
StatementHandler = EffectHandler
StatementHandlers = EffectHandlers

H = TypeVar("H")

HANDLED_ALREADY = "SELECT EXISTS (SELECT FROM inbox WHERE message_id = %(id)s)"
RECORD = (
    "INSERT INTO inbox (message_id, routing_key) VALUES (%(id)s, %(routing_key)s)"
    " ON CONFLICT DO NOTHING"
)
RECORD_NEW = RECORD + " RETURNING message_id"


class Consumer(Generic[H]):
    """A durable queue's consumer: connects (again after a loss), hands each message to
    `_handle` in a task of its own, settles it by the outcome, and drains on stop."""

    def __init__(
        self,
        amqp_url: str,
        queue: str,
        bindings: dict[str, list[str]],
        handlers: Mapping[str, tuple[type[Message], H]],
        *,
        prefetch: int = 32,
        delivery_limit: int = 5,
    ) -> None:
        self.amqp_url = amqp_url
        self.queue = queue
        self.bindings = bindings
        self.handlers: Mapping[str, tuple[type[Message], H]] = handlers
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.max_backoff = 30.0
        self._in_flight: set[asyncio.Task[None]] = set()
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
        connection = await connect(self.amqp_url)
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
        assert task is not None  # aio-pika runs each consumer callback in a task of its own
        self._in_flight.add(task)
        try:
            result = await self._traced(message)
            CONSUMED.labels(self.queue, message.routing_key or "", result).inc()
            if result is Outcome.FAILED:
                # Wait before handing it back, so that a short outage (the database restarting)
                # does not burn the delivery limit at once and dead-letter a good event.
                await asyncio.sleep(self._retry_delay(message))
                await message.nack(requeue=True)
            elif result is Outcome.REJECTED:
                await message.reject(requeue=False)
            else:
                await message.ack()
        except Exception as exc:
            # The channel is gone: the broker redelivers and the inbox drops the duplicate.
            log.warning("consumer %s: could not settle %s: %r", self.queue, message.message_id, exc)
        finally:
            self._in_flight.discard(task)

    def _retry_delay(self, message: AbstractIncomingMessage) -> float:
        deliveries = (message.headers or {}).get("x-delivery-count")
        return backoff_delay(
            (deliveries if isinstance(deliveries, int) else 0) + 1, self.max_backoff
        )

    async def _traced(self, message: AbstractIncomingMessage) -> Outcome:
        """_apply in a CONSUMER span, child of the publisher's (the `traceparent` header): the
        event's handling continues the trace of the request that caused it."""
        if not tracing.is_active():
            return await self._apply(message)
        with _tracer.start_as_current_span(
            f"process {message.routing_key}",
            context=tracing.extract(message.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.exchange or "",
                "messaging.rabbitmq.destination.routing_key": message.routing_key or "",
                "messaging.consumer.group.name": self.queue,
                "messaging.message.id": message.message_id or "",
            },
        ) as span:
            result = await self._apply(message)
            span.set_attribute("passculture.event.outcome", str(result))
            if result in (Outcome.FAILED, Outcome.REJECTED):
                span.set_status(trace.StatusCode.ERROR, str(result))
            return result

    async def _apply(self, message: AbstractIncomingMessage) -> Outcome:
        parsed = self._parse(message)
        if parsed is None:
            return Outcome.REJECTED
        event, handle, meta = parsed
        try:
            return await self._handle(event, handle, meta)
        except Exception:
            log.exception("consumer %s: handler failed on %s", self.queue, meta)
            return Outcome.FAILED

    async def _handle(self, event: Message, handle: H, meta: EventMeta) -> Outcome:
        raise NotImplementedError

    def _parse(self, message: AbstractIncomingMessage) -> tuple[Message, H, EventMeta] | None:
        """The event, its handler and its metadata, or None (logged) when the message can never
        be handled."""
        routing_key = message.routing_key or ""
        entry = self.handlers.get(routing_key)
        if entry is None or not message.message_id:
            log.error(
                "consumer %s: dead-lettering %s (routing key %r has no handler or no message id)",
                self.queue,
                message.message_id,
                message.routing_key,
            )
            return None
        meta = EventMeta(message.message_id, routing_key, message.timestamp)
        message_type, handle = entry
        declared = (message.headers or {}).get("message_type")
        try:
            if declared not in (None, message_type.DESCRIPTOR.full_name):
                raise DecodeError(f"message_type header is {declared!r}")
            return message_type.FromString(message.body), handle, meta
        except DecodeError as exc:
            log.error("consumer %s: dead-lettering %s: %s", self.queue, message.message_id, exc)
            return None


class EventConsumer(Consumer[Handler]):
    """Its handlers run in the transaction that records the event in the inbox."""

    def __init__(
        self,
        engine: AsyncEngine,
        amqp_url: str,
        queue: str,
        bindings: dict[str, list[str]],
        handlers: Handlers,
        *,
        prefetch: int = 32,
        delivery_limit: int = 5,
    ) -> None:
        super().__init__(
            amqp_url,
            queue,
            bindings,
            handlers,
            prefetch=prefetch,
            delivery_limit=delivery_limit,
        )
        self._sessions = make_session_factory(engine)

    async def _handle(self, event: Message, handle: Handler, meta: EventMeta) -> Outcome:
        async with self._sessions.begin() as session:
            if not await _record(session, meta.message_id, meta.routing_key):
                return Outcome.DUPLICATE
            await handle(session, event, meta)
        return Outcome.HANDLED


class _PoolConsumer(Consumer[EffectHandler]):
    """A consumer whose handlers take a connection of a psycopg pool."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        amqp_url: str,
        queue: str,
        bindings: dict[str, list[str]],
        handlers: EffectHandlers,
        *,
        prefetch: int = 32,
        delivery_limit: int = 5,
    ) -> None:
        super().__init__(
            amqp_url,
            queue,
            bindings,
            handlers,
            prefetch=prefetch,
            delivery_limit=delivery_limit,
        )
        self._pool = pool


class StatementConsumer(_PoolConsumer):
    """Its handlers run, on a connection of a psycopg pool, in the transaction that records the
    event in the inbox."""

    async def _handle(self, event: Message, handle: StatementHandler, meta: EventMeta) -> Outcome:
        ids = {"id": meta.message_id, "routing_key": meta.routing_key}
        async with self._pool.connection() as conn, conn.transaction():
            if await (await conn.execute(RECORD_NEW, ids)).fetchone() is None:
                return Outcome.DUPLICATE
            await handle(conn, event, meta)
        return Outcome.HANDLED


class EffectConsumer(_PoolConsumer):
    """Its handlers act outside the database (see the module's docstring)."""

    async def _handle(self, event: Message, handle: EffectHandler, meta: EventMeta) -> Outcome:
        ids = {"id": meta.message_id, "routing_key": meta.routing_key}
        async with self._pool.connection() as conn:
            handled = await (await conn.execute(HANDLED_ALREADY, ids)).fetchone()
            if handled and handled[0]:
                return Outcome.DUPLICATE
            await handle(conn, event, meta)
            await conn.execute(RECORD, ids)
        return Outcome.HANDLED


async def _record(session: AsyncSession, inbox_id: str, routing_key: str) -> bool:
    """Inserts the message's inbox id into the inbox; False when it was already there."""
    statement = (
        insert(_inbox)
        .values(message_id=inbox_id, routing_key=routing_key)
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


async def declare_queues(
    amqp_url: str, consumers: Sequence[Consumer[Any]], retired: Sequence[RetiredQueue] = ()
) -> None:
    """The consumers' queues declared; the retired ones unbound, and deleted once drained."""
    connection = await connect(amqp_url)
    try:
        channel = await connection.channel()
        for consumer in consumers:
            await consumer.declare(channel)
        for queue in retired:
            await retire_queue(connection, queue)
    finally:
        await close_quietly(connection)
