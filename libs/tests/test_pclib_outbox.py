import asyncio
import contextlib
import uuid
from datetime import datetime

import aio_pika
import pytest
from event_helpers import metric, outbox
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import func, select

from pclib.db import libpq_dsn, make_session_factory
from pclib.outbox import NOTIFY_TRIGGER, OutboxRelay, Wakeups, add_event
from tests.support.pclib_fixtures import drain, eventually, observe, receive


async def add_events(engine, values: list[str], *, commit: bool = True) -> list[uuid.UUID]:
    """Adds one event per value in one transaction; returns their ids."""
    async with make_session_factory(engine)() as session:
        ids = [await add_event(session, "thing.changed", StringValue(value=v)) for v in values]
        await (session.commit() if commit else session.rollback())
    return ids


async def backlog(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(outbox))


async def is_empty(engine) -> bool:
    return await backlog(engine) == 0


@pytest.fixture
async def observed(broker, unique_name):
    """The relay's exchange name, and a queue that receives everything published on it."""
    name = f"outbox-test-{unique_name}"
    return name, await observe(broker, name)


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay):
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_publishes_committed_events_once_in_order(engine, amqp_url, observed):
    exchange, queue = observed
    first = await add_events(engine, ["a", "b", "c"])
    rolled_back = await add_events(engine, ["x", "y"], commit=False)
    second = await add_events(engine, ["d", "e"])
    relay = OutboxRelay(engine, amqp_url, exchange)
    try:
        assert await relay.publish_pending() == 5
        assert await relay.publish_pending() == 0
    finally:
        await relay.close()

    messages = await receive(queue, 5)
    assert [m.message_id for m in messages] == [str(i) for i in first + second]
    assert [StringValue.FromString(m.body).value for m in messages] == list("abcde")
    assert not set(map(str, rolled_back)) & {m.message_id for m in messages}
    message = messages[0]
    assert message.type == message.routing_key == "thing.changed"
    assert message.content_type == "application/x-protobuf"
    assert message.headers == {"message_type": "google.protobuf.StringValue"}
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert isinstance(message.timestamp, datetime)
    assert await drain(queue) == []
    assert await backlog(engine) == 0
    assert metric("outbox_events_published_total", exchange=exchange) == 5


async def test_run_publishes_in_batches_in_order(engine, amqp_url, observed):
    exchange, queue = observed
    ids = [i for n in range(10) for i in await add_events(engine, [f"{n}-{k}" for k in range(7)])]
    relay = OutboxRelay(engine, amqp_url, exchange, batch_size=4, poll_interval=0.05)
    async with running(relay):
        messages = await receive(queue, len(ids))
        await eventually(lambda: metric("outbox_backlog", exchange=exchange) == 0)
    assert [m.message_id for m in messages] == [str(i) for i in ids]
    assert metric("outbox_oldest_event_age_seconds", exchange=exchange) == 0


async def test_concurrent_relays_publish_each_event_exactly_once(engine, amqp_url, observed):
    exchange, queue = observed
    ids = [i for n in range(30) for i in await add_events(engine, [str(n)] * 10)]
    relays = [
        OutboxRelay(engine, amqp_url, exchange, batch_size=7, poll_interval=0.05) for _ in range(3)
    ]
    async with running(*relays):
        messages = await receive(queue, len(ids))
    messages += await drain(queue)
    assert sorted(m.message_id for m in messages) == sorted(map(str, ids))
    assert await backlog(engine) == 0


async def test_relay_waits_for_an_unreachable_broker(engine, proxy, observed):
    exchange, queue = observed
    relay = OutboxRelay(engine, proxy.url, exchange, max_backoff=0.2)
    ids = [i for n in range(4) for i in await add_events(engine, [str(n)] * 5)]
    failures = metric("outbox_publish_failures_total", exchange=exchange)
    async with running(relay):
        await eventually(
            lambda: metric("outbox_publish_failures_total", exchange=exchange) >= failures + 3
        )
        assert metric("outbox_backlog", exchange=exchange) == len(ids)
        assert await backlog(engine) == len(ids)
        assert await drain(queue) == []

        await proxy.start()
        messages = await receive(queue, len(ids))
        await eventually(lambda: metric("outbox_backlog", exchange=exchange) == 0)
    messages += await drain(queue)
    assert sorted(m.message_id for m in messages) == sorted(map(str, ids))


async def test_relay_loses_nothing_when_connections_drop(engine, proxy, observed):
    exchange, queue = observed
    ids = [i for n in range(20) for i in await add_events(engine, [str(n)] * 50)]
    await proxy.start()
    relay = OutboxRelay(engine, proxy.url, exchange, batch_size=50, max_backoff=0.2)
    async with running(relay):
        received = await receive(queue, 20)
        failures = metric("outbox_publish_failures_total", exchange=exchange)
        await proxy.stop()  # while batches are in flight
        await eventually(
            lambda: metric("outbox_publish_failures_total", exchange=exchange) > failures
        )
        await proxy.start()
        await eventually(lambda: is_empty(engine))
    received += await drain(queue)
    # At least once: a batch whose confirms were lost is published again.
    assert {m.message_id for m in received} == set(map(str, ids))


@pytest.mark.parametrize("with_trigger", [True, False])
async def test_a_write_to_the_outbox_wakes_the_relay(engine, amqp_url, observed, with_trigger):
    """With the trigger's NOTIFY, the relay publishes at once although it would poll only every
    30 s; without it (the negative control), nothing comes before the next poll."""
    exchange, queue = observed
    if with_trigger:
        async with engine.begin() as conn:
            for statement in NOTIFY_TRIGGER:
                await conn.exec_driver_sql(statement)
    wakeups = Wakeups(libpq_dsn(engine.url.render_as_string(hide_password=False)))
    relay = OutboxRelay(
        engine, amqp_url, exchange, wakeups=wakeups, poll_interval=30, idle_interval=30
    )
    stop = asyncio.Event()
    listening = asyncio.create_task(wakeups.run(stop))
    async with running(relay):
        await eventually(lambda: wakeups.listening)
        await asyncio.sleep(0.5)  # the relay published nothing, and waits
        await add_events(engine, ["a"])
        if with_trigger:
            assert len(await receive(queue, 1, within=2)) == 1
        else:
            with pytest.raises(AssertionError):
                await receive(queue, 1, within=2)
    stop.set()
    await asyncio.wait_for(listening, 5)
