import asyncio
import contextlib
from datetime import UTC, datetime

import aio_pika
import pytest
from event_helpers import counters, inbox, metric
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from pclib.db import make_pool
from pclib.inbox import EffectConsumer, EventConsumer, EventMeta, StatementConsumer
from pclib.topology import declare_consumer_queue, declare_exchange
from tests.support.pclib_fixtures import eventually, receive


class Recorder:
    """A handler that counts its calls, and adds the event's value to a counter row."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, EventMeta]] = []

    async def __call__(self, session, event: StringValue, meta: EventMeta) -> None:
        self.calls.append((event.value, meta))
        await session.execute(
            insert(counters).values(name="total", value=0).on_conflict_do_nothing()
        )
        await session.execute(
            update(counters).where(counters.c.name == "total").values(value=counters.c.value + 1)
        )
        if self.fail:
            raise RuntimeError("handler failure")


@pytest.fixture
async def setup(broker, unique_name):
    """A producer exchange and a consumer queue name, deleted after the test."""
    exchange = await declare_exchange(broker.channel, f"inbox-test-{unique_name}")
    queue = f"inbox-test-{unique_name}.consumer"
    broker.exchanges.append(exchange.name)
    broker.consumer_queue(queue)
    return exchange, queue


def consumer(engine, url, exchange, queue, handler, delivery_limit=5) -> EventConsumer:
    consumer = EventConsumer(
        engine,
        url,
        queue,
        {exchange.name: ["thing.*"]},
        {"thing.created": (StringValue, handler)},
        delivery_limit=delivery_limit,
    )
    consumer.max_backoff = 0.2
    return consumer


@contextlib.asynccontextmanager
async def running(consumer: EventConsumer):
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def publish(exchange, routing_key: str, body: bytes, message_id: str) -> None:
    message = aio_pika.Message(
        body,
        message_id=message_id,
        timestamp=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        headers={"message_type": "google.protobuf.StringValue"},
    )
    await exchange.publish(message, routing_key)


def consumed(queue: str, result: str, routing_key: str = "thing.created") -> float:
    return metric("events_consumed_total", queue=queue, routing_key=routing_key, result=result)


async def total(engine) -> int | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(counters.c.value))


async def inbox_ids(engine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.scalars(select(inbox.c.message_id)))


async def test_duplicate_delivery_is_handled_once(engine, amqp_url, broker, setup):
    exchange, queue = setup
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    for message_id in ("m1", "m1", "m2"):
        await publish(
            exchange, "thing.created", StringValue(value="v").SerializeToString(), message_id
        )
    handler = Recorder()
    async with running(consumer(engine, amqp_url, exchange, queue, handler)):
        await eventually(
            lambda: consumed(queue, "handled") == 2 and consumed(queue, "duplicate") == 1
        )
    assert await total(engine) == 2
    assert await inbox_ids(engine) == {"m1", "m2"}
    # Messages within the prefetch window are handled concurrently: no order to check.
    assert sorted(meta.message_id for _, meta in handler.calls) == ["m1", "m2"]
    assert (
        "v",
        EventMeta("m1", "thing.created", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ) in handler.calls
    # Everything was acked: nothing came back when the consumer disconnected.
    declared = await broker.channel.declare_queue(queue, passive=True)
    assert declared.declaration_result.message_count == 0


async def test_failing_handler_ends_in_dead_letter_queue(engine, amqp_url, broker, setup):
    exchange, queue = setup
    dlq = await broker.channel.declare_queue(
        f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]}, 2)
    await publish(exchange, "thing.created", StringValue(value="v").SerializeToString(), "m1")
    handler = Recorder(fail=True)
    async with running(consumer(engine, amqp_url, exchange, queue, handler, delivery_limit=2)):
        [dead] = await receive(dlq, 1)
    assert dead.message_id == "m1"
    assert len(handler.calls) == 3  # the first delivery, then two redeliveries
    assert consumed(queue, "failed") == 3
    # Each attempt was rolled back, inbox row included.
    assert await total(engine) is None
    assert await inbox_ids(engine) == set()


async def test_unparsable_or_unknown_messages_are_dead_lettered(engine, amqp_url, broker, setup):
    exchange, queue = setup
    dlq = await broker.channel.declare_queue(
        f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
    )
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    await publish(exchange, "thing.created", b"\xff\xff not protobuf", "garbage")
    await publish(exchange, "thing.unknown", StringValue(value="v").SerializeToString(), "unknown")
    handler = Recorder()
    async with running(consumer(engine, amqp_url, exchange, queue, handler)):
        dead = await receive(dlq, 2)
    assert sorted(m.message_id for m in dead) == ["garbage", "unknown"]
    assert handler.calls == []
    assert consumed(queue, "rejected") == 1
    assert consumed(queue, "rejected", "thing.unknown") == 1
    assert await inbox_ids(engine) == set()


async def test_consumer_reconnects_after_the_broker_drops(engine, proxy, broker, setup):
    exchange, queue = setup
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    body = StringValue(value="v").SerializeToString()
    handler = Recorder()
    async with running(consumer(engine, proxy.url, exchange, queue, handler)):
        await publish(exchange, "thing.created", body, "m1")
        await proxy.start()
        await eventually(lambda: consumed(queue, "handled") == 1)
        await proxy.stop()
        await publish(exchange, "thing.created", body, "m2")
        await proxy.start()
        await eventually(lambda: consumed(queue, "handled") == 2)
    assert await inbox_ids(engine) == {"m1", "m2"}


# --- EffectConsumer: an effect outside the database, the inbox around it ----------------------


class Effects:
    """An effect handler (think: an email): it records what it did, failing while told to."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.done: list[str] = []

    async def __call__(self, conn, event: StringValue, meta: EventMeta) -> None:
        # The handler reads on the connection it is given.
        assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the effect failed")
        self.done.append(event.value)


@pytest.fixture
async def pool(engine):
    async with make_pool(engine.url.render_as_string(hide_password=False), 2) as pool:
        yield pool


def effect_consumer(pool, url, exchange, queue, handler, kind=EffectConsumer):
    """An EffectConsumer (or a StatementConsumer: `kind`) of thing.created."""
    consumer = kind(
        pool, url, queue, {exchange.name: ["thing.*"]}, {"thing.created": (StringValue, handler)}
    )
    consumer.max_backoff = 0.2
    return consumer


async def test_an_effect_is_done_once_per_event(engine, pool, amqp_url, broker, setup):
    exchange, queue = setup
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    effects = Effects()
    async with running(effect_consumer(pool, amqp_url, exchange, queue, effects)):
        body = StringValue(value="hello").SerializeToString()
        await publish(exchange, "thing.created", body, "message-1")
        await eventually(lambda: consumed(queue, "handled") == 1)
        await publish(exchange, "thing.created", body, "message-1")  # a redelivery
        await eventually(lambda: consumed(queue, "duplicate") == 1)
    assert effects.done == ["hello"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(inbox.c.message_id))).scalars().all() == ["message-1"]


async def test_a_failed_effect_is_tried_again_and_recorded_once_done(
    engine, pool, amqp_url, broker, setup
):
    exchange, queue = setup
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    effects = Effects(failures=2)
    async with running(effect_consumer(pool, amqp_url, exchange, queue, effects)):
        body = StringValue(value="hello").SerializeToString()
        await publish(exchange, "thing.created", body, "message-2")
        await eventually(lambda: consumed(queue, "handled") == 1)
    assert consumed(queue, "failed") == 2
    assert effects.done == ["hello"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(inbox.c.message_id))).scalars().all() == ["message-2"]


class Statements:
    """A StatementConsumer's handler: adds the event's value to a counter row, then fails the
    first `failures` times (after its write: the transaction must take it back)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures

    async def __call__(self, conn, event: StringValue, meta: EventMeta) -> None:
        await conn.execute(
            "INSERT INTO counters (name, value) VALUES ('total', 1)"
            " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the handler failed after its write")


async def test_a_statement_consumer_applies_each_event_once_in_the_inbox_transaction(
    engine, pool, amqp_url, broker, setup
):
    exchange, queue = setup
    await declare_consumer_queue(broker.channel, queue, {exchange.name: ["thing.*"]})
    handler = Statements(failures=1)
    consumer = effect_consumer(pool, amqp_url, exchange, queue, handler, kind=StatementConsumer)
    async with running(consumer):
        body = StringValue(value="v").SerializeToString()
        for message_id in ("s1", "s1", "s2"):
            await publish(exchange, "thing.created", body, message_id)
        await eventually(
            lambda: consumed(queue, "handled") == 2 and consumed(queue, "duplicate") == 1
        )
    # The failed attempt's write and inbox row were rolled back; each event counted once.
    assert consumed(queue, "failed") == 1
    assert await total(engine) == 2
    assert await inbox_ids(engine) == {"s1", "s2"}
