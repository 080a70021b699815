"""Transactional outbox: events are written in the business transaction, then a relay publishes
them to the service's topic exchange (at least once; consumers deduplicate by message id)."""

import asyncio
import logging
import time
import uuid
from typing import Any

import aio_pika
import psycopg
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Row,
    Table,
    Text,
    Uuid,
    column,
    delete,
    func,
    insert,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pclib import tracing
from pclib.topology import (
    backoff_delay,
    close_quietly,
    connect,
    declare_exchange,
    sleep_unless_stopped,
)

log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

CONTENT_TYPE = "application/x-protobuf"
# The backlog gauges cost a count(*): refresh them now and then, not every poll.
GAUGES_INTERVAL = 5.0
# A batch whose confirms take longer than this is retried (the broker is stalled or gone).
CONFIRM_TIMEOUT = 30.0

PUBLISHED = Counter(
    "outbox_events_published_total", "Outbox events published and confirmed", ["exchange"]
)
FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox batches that failed to publish", ["exchange"]
)
BACKLOG = Gauge("outbox_backlog", "Outbox events waiting to be published", ["exchange"])
OLDEST_AGE = Gauge(
    "outbox_oldest_event_age_seconds", "Age of the oldest unpublished outbox event", ["exchange"]
)

# Works against any service's metadata: only the table name and columns matter.
_outbox = table(
    "outbox",
    column("id", Uuid),
    column("routing_key", Text),
    column("message_type", Text),
    column("payload", LargeBinary),
    column("created_at", DateTime(timezone=True)),
    column("trace_context", JSONB),
)


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("routing_key", Text, nullable=False),
        Column("message_type", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # The W3C headers (traceparent, tracestate) of the span that wrote the row, if any.
        Column("trace_context", JSONB),
        Index("ix_outbox_created_at", "created_at"),
    )


async def add_event(session: AsyncSession, routing_key: str, message: Message) -> uuid.UUID:
    """Records an event in the caller's transaction; it is published only if that commits."""
    event_id = uuid.uuid4()
    await session.execute(
        insert(_outbox).values(
            id=event_id,
            routing_key=routing_key,
            message_type=message.DESCRIPTOR.full_name,
            payload=message.SerializeToString(),
            # now() is the same for every row of a transaction: keep the order they were added in.
            created_at=func.clock_timestamp(),
            trace_context=tracing.outbox_context(),
        )
    )
    return event_id


# An event's outbox row written by the very statement that makes the change, as a data-modifying
# CTE's follow-up: `INSERT INTO outbox OUTBOX_COLUMNS SELECT OUTBOX_VALUES FROM changed`, with
# `outbox_params(routing_key, message)` among the statement's (psycopg) parameters. The row is
# written only when the CTE changed something, and atomically with it.
OUTBOX_COLUMNS = "(id, routing_key, message_type, payload, created_at, trace_context)"
OUTBOX_VALUES = (
    "%(event_id)s, %(routing_key)s, %(message_type)s, %(payload)s, clock_timestamp(),"
    " %(trace_context)s"
)


def outbox_params(routing_key: str, message: Message) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "routing_key": routing_key,
        "message_type": message.DESCRIPTOR.full_name,
        "payload": message.SerializeToString(),
        "trace_context": _jsonb(tracing.outbox_context()),
    }


def _jsonb(value: dict[str, str] | None) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _to_amqp(row: Row, span: trace.Span | None) -> aio_pika.Message:
    """The row as a message; its trace context as W3C headers: the relay's publish `span`'s,
    or, when the relay does not trace, the writer's as stored."""
    headers: dict[str, Any] = {"message_type": row.message_type}
    if span is not None:
        propagate.inject(headers, context=trace.set_span_in_context(span))
    elif row.trace_context:
        headers |= row.trace_context
    return aio_pika.Message(
        row.payload,
        message_id=str(row.id),
        type=row.routing_key,
        content_type=CONTENT_TYPE,
        headers=headers,
        timestamp=row.created_at,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def _end_spans(spans: list[trace.Span | None], error: BaseException | None) -> None:
    for span in spans:
        if span is None:
            continue
        if error is not None:
            span.record_exception(error)
            span.set_status(trace.StatusCode.ERROR, repr(error))
        span.end()


# What each service's migration `outbox_notify` creates (a copy: migrations are frozen history).
NOTIFY_TRIGGER = (
    "CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox"
    " FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
)


class Wakeups:
    """Tells the relay when the outbox was written to: the NOTIFY that each service's outbox
    trigger sends (channel "outbox", migration `outbox_notify`), received on a LISTEN
    connection of its own, reconnected when lost. While it is down the relay polls."""

    CHANNEL = "outbox"

    def __init__(self, dsn: str, max_backoff: float = 30.0) -> None:
        self._dsn = dsn
        self._max_backoff = max_backoff
        self.written = asyncio.Event()
        self.listening = False

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.CHANNEL)))
                    self.listening, failures = True, 0
                    self.written.set()  # what was written while nobody listened
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=1.0):
                            self.written.set()
            except psycopg.Error as exc:
                failures += 1
                delay = backoff_delay(failures, self._max_backoff)
                log.warning("outbox wakeups: %r; listening again in %.1fs", exc, delay)
                self.listening = False
                await sleep_unless_stopped(stop, delay)
            finally:
                self.listening = False

    async def wait(self, stop: asyncio.Event, poll_interval: float, idle_interval: float) -> None:
        """Until the outbox is written to (at most `idle_interval` when listening, a safety
        net), or `poll_interval` when not listening, or `stop`."""
        timeout = idle_interval if self.listening else poll_interval
        waiters = [asyncio.ensure_future(self.written.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self.written.clear()


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        amqp_url: str,
        exchange: str,
        *,
        wakeups: Wakeups | None = None,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        idle_interval: float = 5.0,
        gather_interval: float = 0.05,
        max_backoff: float = 30.0,
    ) -> None:
        """`wakeups`: publish as soon as the outbox is written to, and poll only every
        `idle_interval` (else every `poll_interval`); after a batch, wait `gather_interval`
        for the next one."""
        self.engine = engine
        self.amqp_url = amqp_url
        self.exchange = exchange
        self.wakeups = wakeups
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self.gather_interval = gather_interval
        self.max_backoff = max_backoff
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        next_gauges = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= next_gauges:
                        await self.refresh_gauges()
                        next_gauges = time.monotonic() + GAUGES_INTERVAL
                    published = await self.publish_pending()
                except Exception as exc:
                    failures += 1
                    delay = backoff_delay(failures, self.max_backoff)
                    log.warning("outbox relay %s: %r; retrying in %.1fs", self.exchange, exc, delay)
                    await sleep_unless_stopped(stop, delay)
                    continue
                if failures:
                    log.info("outbox relay %s recovered after %d failures", self.exchange, failures)
                    failures = 0
                if not published:
                    await self._wait(stop)
                elif published < self.batch_size and self.wakeups is not None:
                    # Under a steady flow, a wakeup per event would make batches of one:
                    # gather what comes for a moment (events wait this long at most). 50 ms
                    # rather than 20: a quarter less relay CPU per booking in the bench, and no
                    # consumer of these events is in a hurry (emails, ledger lines).
                    await sleep_unless_stopped(stop, self.gather_interval)
        finally:
            await self.close()

    async def _wait(self, stop: asyncio.Event) -> None:
        if self.wakeups is None:
            await sleep_unless_stopped(stop, self.poll_interval)
        else:
            await self.wakeups.wait(stop, self.poll_interval, self.idle_interval)

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many events were published. Raises (leaving the
        rows in place and dropping the broker connection) when anything fails."""
        try:
            published = await self._publish_batch()
        except Exception:
            FAILURES.labels(self.exchange).inc()
            await self.close()
            raise
        PUBLISHED.labels(self.exchange).inc(published)
        return published

    async def refresh_gauges(self) -> None:
        age = func.extract("epoch", func.clock_timestamp() - func.min(_outbox.c.created_at))
        query = select(func.count(), func.coalesce(age, 0)).select_from(_outbox)
        async with self.engine.connect() as conn:
            backlog, oldest = (await conn.execute(query)).one()
        BACKLOG.labels(self.exchange).set(backlog)
        OLDEST_AGE.labels(self.exchange).set(max(0.0, float(oldest)))

    async def _publish_batch(self) -> int:
        exchange = await self._ensure_exchange()
        batch = (
            select(_outbox)
            .order_by(_outbox.c.created_at, _outbox.c.id)
            .limit(self.batch_size)
            # Several relays may run: each takes rows the others have not locked.
            .with_for_update(skip_locked=True)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(batch)).all()
            if not rows:
                return 0
            spans = [self._publish_span(row) for row in rows]
            try:
                # Publishes are sent in order on one channel; confirms are awaited together.
                async with asyncio.timeout(CONFIRM_TIMEOUT):
                    await asyncio.gather(
                        *(
                            exchange.publish(_to_amqp(row, span), row.routing_key, mandatory=False)
                            for row, span in zip(rows, spans, strict=True)
                        )
                    )
            except BaseException as exc:
                _end_spans(spans, exc)
                raise
            _end_spans(spans, None)
            await conn.execute(delete(_outbox).where(_outbox.c.id.in_([r.id for r in rows])))
        return len(rows)

    def _publish_span(self, row: Row) -> trace.Span | None:
        """A PRODUCER span, child of the span that wrote the row (none for a row written
        outside any span, or when this process does not trace)."""
        if not row.trace_context or not tracing.is_active():
            return None
        return _tracer.start_span(
            f"publish {row.routing_key}",
            context=tracing.extract(row.trace_context),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": self.exchange,
                "messaging.rabbitmq.destination.routing_key": row.routing_key,
                "messaging.message.id": str(row.id),
            },
        )

    async def _ensure_exchange(self) -> AbstractExchange:
        if self._exchange is not None and self._channel is not None and not self._channel.is_closed:
            return self._exchange
        await self.close()
        self._connection = await connect(self.amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await declare_exchange(self._channel, self.exchange)
        return self._exchange

    async def close(self) -> None:
        """Drops the broker connection; run() does it when it returns."""
        connection = self._connection
        self._connection, self._channel, self._exchange = None, None, None
        await close_quietly(connection)
