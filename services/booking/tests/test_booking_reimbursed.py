"""Paid bookings become REIMBURSED: the payments service's `booking.reimbursed` events, first
through the handler, then through RabbitMQ with the worker's real consumer; the counter then
refuses them."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select

from booking import models, worker
from booking.consumers import payment_events
from passculture.booking.v1 import counter_service_pb2 as counter_pb
from passculture.payments.v1 import events_pb2
from pclib.db import make_session_factory
from pclib.grpc_client import error_info
from pclib.inbox import EventMeta
from pclib.topology import declare_exchange
from tests.support.booking_helpers import isolated, store_booking, store_venue
from tests.support.catalog_helpers import make_pro
from tests.support.pclib_fixtures import consumed, eventually, running_consumers

ROUTING_KEY = "booking.reimbursed"


def reimbursed(booking_ids, at: datetime, payment_id: str | None = None):
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return events_pb2.BookingsReimbursed(
        payment_id=payment_id or str(uuid.uuid4()),
        batch_id=str(uuid.uuid4()),
        booking_ids=[str(booking_id) for booking_id in booking_ids],
        reimbursed_at=stamp,
    )


async def handle(engine, event) -> None:
    """Runs the handler as the consumer would, in one transaction."""
    _, handler = payment_events.HANDLERS[ROUTING_KEY]
    meta = EventMeta(str(uuid.uuid4()), ROUTING_KEY, None)
    async with make_session_factory(engine).begin() as session:
        await handler(session, event, meta)


async def bookings_by_id(engine) -> dict[uuid.UUID, models.Booking]:
    async with engine.connect() as conn:
        return {row.id: row for row in await conn.execute(select(models.Booking))}


def paid_at() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture
async def venue(booking_engine):
    return await store_venue(booking_engine)


async def test_the_used_bookings_of_a_payment_become_reimbursed(booking_engine, venue, caplog):
    stored = {
        status: await store_booking(booking_engine, venue, status=status)
        for status in ("USED", "CANCELLED")
    }
    also_used = await store_booking(booking_engine, venue, status="USED")
    not_paid = await store_booking(booking_engine, venue, status="USED")
    unknown, at = uuid.uuid4(), paid_at()
    listed = [stored["USED"], stored["CANCELLED"], also_used]

    with caplog.at_level(logging.WARNING, logger=payment_events.__name__):
        await handle(booking_engine, reimbursed([s.booking.id for s in listed] + [unknown], at))

    after = await bookings_by_id(booking_engine)
    for used in (stored["USED"], also_used):
        row = after[used.booking.id]
        assert (row.status, row.reimbursed_at, row.used_at) == (
            "REIMBURSED",
            at,
            used.booking.used_at,
        )
    cancelled = after[stored["CANCELLED"].booking.id]
    assert (cancelled.status, cancelled.reimbursed_at) == ("CANCELLED", None)
    assert (after[not_paid.booking.id].status, after[not_paid.booking.id].reimbursed_at) == (
        "USED",
        None,
    )
    logged = caplog.text
    assert str(stored["CANCELLED"].booking.id) in logged
    assert str(unknown) in logged


async def test_a_booking_unused_after_it_was_paid_is_reimbursed_all_the_same(
    booking_engine, venue, caplog
):
    unused = await store_booking(booking_engine, venue, status="CONFIRMED")
    at = paid_at()

    with caplog.at_level(logging.WARNING, logger=payment_events.__name__):
        await handle(booking_engine, reimbursed([unused.booking.id], at))

    row = (await bookings_by_id(booking_engine))[unused.booking.id]
    assert (row.status, row.reimbursed_at, row.used_at) == ("REIMBURSED", at, at)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(unused.booking.id) in warning.getMessage()


async def test_a_second_payment_of_the_same_bookings_changes_nothing(booking_engine, venue):
    used = await store_booking(booking_engine, venue, status="USED")
    first = paid_at()
    await handle(booking_engine, reimbursed([used.booking.id], first))

    await handle(booking_engine, reimbursed([used.booking.id], first + timedelta(days=15)))

    row = (await bookings_by_id(booking_engine))[used.booking.id]
    assert (row.status, row.reimbursed_at) == ("REIMBURSED", first)


async def test_malformed_booking_ids_are_skipped(booking_engine, venue, caplog):
    used = await store_booking(booking_engine, venue, status="USED")
    event = reimbursed([used.booking.id], paid_at())
    event.booking_ids.append("not-a-uuid")

    with caplog.at_level(logging.ERROR, logger=payment_events.__name__):
        await handle(booking_engine, event)

    assert (await bookings_by_id(booking_engine))[used.booking.id].status == "REIMBURSED"
    assert "not-a-uuid" in caplog.text


# --- through RabbitMQ, then the counter -------------------------------------------------------


@pytest.fixture
def settings(booking_settings, unique_name):
    return isolated(booking_settings, unique_name).model_copy(
        update={"payments_exchange": f"payments-{unique_name}"}
    )


def payments_consumer(engine, pool, settings):
    (consumer,) = [c for c in worker.consumers(engine, pool, settings) if "payment" in c.queue]
    return consumer


async def publish(exchange, event, message_id: str) -> None:
    await exchange.publish(
        aio_pika.Message(
            event.SerializeToString(),
            message_id=message_id,
            headers={"message_type": "passculture.payments.v1.BookingsReimbursed"},
        ),
        ROUTING_KEY,
    )


def test_the_worker_consumes_the_payments_exchange(booking_engine, booking_pool, settings):
    consumer = payments_consumer(booking_engine, booking_pool, settings)
    assert consumer.queue == f"{settings.queue_prefix}.payment-events"
    assert consumer.bindings == {settings.payments_exchange: [ROUTING_KEY]}


async def test_a_redelivered_event_changes_nothing(
    booking_engine, booking_pool, broker, settings, venue
):
    stored = [await store_booking(booking_engine, venue, status="USED") for _ in range(2)]
    consumer = payments_consumer(booking_engine, booking_pool, settings)
    exchange = await declare_exchange(broker.channel, settings.payments_exchange)
    at, message_id = paid_at(), str(uuid.uuid4())
    event = reimbursed([s.booking.id for s in stored], at)
    handled = consumed(consumer.queue, ROUTING_KEY, "handled")
    duplicates = consumed(consumer.queue, ROUTING_KEY, "duplicate")

    async with running_consumers(broker, [consumer]):
        await publish(exchange, event, message_id)
        await eventually(lambda: consumed(consumer.queue, ROUTING_KEY, "handled") == handled + 1)
        first = await bookings_by_id(booking_engine)
        # The same event again (the relay retried), this time with a later date.
        event.reimbursed_at.FromDatetime(at + timedelta(hours=1))
        await publish(exchange, event, message_id)
        await eventually(
            lambda: consumed(consumer.queue, ROUTING_KEY, "duplicate") == duplicates + 1
        )

    assert consumed(consumer.queue, ROUTING_KEY, "handled") == handled + 1
    after = await bookings_by_id(booking_engine)
    for s in stored:
        row = after[s.booking.id]
        assert (row.status, row.reimbursed_at) == ("REIMBURSED", at)
        assert row.updated_at == first[s.booking.id].updated_at


COUNTER_CALLS = {
    "get": lambda booking, countermark, metadata: booking.counter.GetCountermark(
        counter_pb.GetCountermarkRequest(countermark=countermark), metadata=metadata
    ),
    "use": lambda booking, countermark, metadata: booking.counter.UseCountermark(
        counter_pb.UseCountermarkRequest(countermark=countermark), metadata=metadata
    ),
    "unuse": lambda booking, countermark, metadata: booking.counter.UnuseCountermark(
        counter_pb.UnuseCountermarkRequest(countermark=countermark), metadata=metadata
    ),
}


async def test_the_counter_then_refuses_the_reimbursed_booking(
    booking, booking_engine, booking_pool, catalog, issuer, broker, settings
):
    pro = await make_pro(catalog, issuer)
    venue = await store_venue(booking_engine, offerer_id=pro.offerer_id)
    used = await store_booking(booking_engine, venue, status="USED")
    countermark = used.booking.countermark
    consumer = payments_consumer(booking_engine, booking_pool, settings)
    exchange = await declare_exchange(broker.channel, settings.payments_exchange)

    async with running_consumers(broker, [consumer]):
        await publish(exchange, reimbursed([used.booking.id], paid_at()), str(uuid.uuid4()))

        async def is_reimbursed() -> bool:
            return (await bookings_by_id(booking_engine))[used.booking.id].status == "REIMBURSED"

        await eventually(is_reimbursed)

    for name, call in COUNTER_CALLS.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(booking, countermark, pro.metadata)
        error = raised.value
        assert (error.code(), error_info(error).reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "BOOKING_REIMBURSED",
        ), name
    assert (await bookings_by_id(booking_engine))[used.booking.id].status == "REIMBURSED"
