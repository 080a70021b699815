"""The catalog's events as they touch bookings: venues copied, showtimes moved or deleted.
First each handler on its own, then through RabbitMQ with the worker's real consumer."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import func, select

from booking import models, worker
from booking.consumers import catalog_events
from passculture.booking.v1 import events_pb2 as booking_events
from passculture.catalog.v1 import events_pb2, resources_pb2
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from pclib.db import make_session_factory
from pclib.inbox import EventMeta
from pclib.outbox import OutboxRelay
from pclib.topology import declare_exchange
from tests.support.booking_helpers import isolated, outbox_events, store_booking, store_venue
from tests.support.catalog_helpers import make_offer, make_pro, make_stock, make_venue
from tests.support.pclib_fixtures import consumed, eventually, running_consumers

H = timedelta(hours=1)


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


async def handle(engine, routing_key: str, event, occurred_at: datetime | None = None) -> None:
    """Runs the handler as the consumer would, in one transaction."""
    message_type, handler = catalog_events.HANDLERS[routing_key]
    assert isinstance(event, message_type)
    meta = EventMeta(str(uuid.uuid4()), routing_key, occurred_at)
    async with make_session_factory(engine).begin() as session:
        await handler(session, event, meta)


async def bookings_by_id(engine) -> dict[uuid.UUID, models.Booking]:
    async with engine.connect() as conn:
        return {row.id: row for row in await conn.execute(select(models.Booking))}


@pytest.fixture
async def venue(booking_engine):
    return await store_venue(booking_engine)


@pytest.fixture
def stock_id() -> uuid.UUID:
    return uuid.uuid4()


def moved(stock_id, starts_at: datetime, previous: datetime, price_cents: int = 1200):
    return events_pb2.StockUpdated(
        stock=resources_pb2.Stock(
            id=str(stock_id), starts_at=ts(starts_at), price_cents=price_cents
        ),
        venue_id=str(uuid.uuid4()),
        previous_starts_at=ts(previous),
    )


# --- stock.deleted --------------------------------------------------------------------------


async def test_a_deleted_showtime_cancels_every_booking_not_yet_paid(
    booking_engine, venue, stock_id
):
    stored = {
        status: await store_booking(booking_engine, venue, status=status, stock_id=stock_id)
        for status in ("PENDING", "CONFIRMED", "USED", "REIMBURSED", "CANCELLED", "FAILED")
    }
    elsewhere = await store_booking(booking_engine, venue)
    deleted_at = datetime.now(UTC).replace(microsecond=0)

    await handle(
        booking_engine,
        "stock.deleted",
        events_pb2.StockDeleted(
            stock_id=str(stock_id),
            offer_id=str(stored["CONFIRMED"].booking.offer_id),
            venue_id=str(venue.id),
            deleted_at=ts(deleted_at),
        ),
    )

    after = await bookings_by_id(booking_engine)
    cancelled = [stored[s].booking.id for s in ("PENDING", "CONFIRMED", "USED")]
    for booking_id in cancelled:
        row = after[booking_id]
        assert (row.status, row.cancellation_reason, row.cancelled_at) == (
            "CANCELLED",
            "OFFERER",
            deleted_at,
        )
    assert after[stored["REIMBURSED"].booking.id].status == "REIMBURSED"
    assert after[stored["CANCELLED"].booking.id].cancellation_reason == "BENEFICIARY"
    assert after[stored["FAILED"].booking.id].status == "FAILED"
    assert after[elsewhere.booking.id].status == "CONFIRMED"
    events = await outbox_events(booking_engine, booking_events.BookingCancelled)
    assert sorted(e.booking.booking_id for e in events) == sorted(map(str, cancelled))
    assert {e.reason for e in events} == {"OFFERER"}
    assert {e.cancelled_at.ToDatetime(tzinfo=UTC) for e in events} == {deleted_at}


# --- stock.updated --------------------------------------------------------------------------


async def test_a_showtime_moved_more_than_48h_away_resets_limits_and_unuses(
    booking_engine, venue, stock_id
):
    now = datetime.now(UTC).replace(microsecond=0)
    old_start, new_start = now - 2 * H, now + 5 * 24 * H
    stored = {
        status: await store_booking(
            booking_engine, venue, status=status, stock_id=stock_id, starts_at=old_start
        )
        for status in ("CONFIRMED", "REIMBURSED", "CANCELLED")
    }
    # Used in the very second of the catalog's change, after its (truncated) time.
    stored["USED"] = await store_booking(
        booking_engine,
        venue,
        status="USED",
        stock_id=stock_id,
        starts_at=old_start,
        used_at=datetime.now(UTC),
    )

    await handle(booking_engine, "stock.updated", moved(stock_id, new_start, old_start), now)

    after = await bookings_by_id(booking_engine)
    for status in ("CONFIRMED", "USED", "REIMBURSED"):
        row = after[stored[status].booking.id]
        assert (row.starts_at, row.cancellation_limit_at) == (new_start, now + 48 * H)
        assert row.amount_cents == 800  # the price they booked at
    unused = after[stored["USED"].booking.id]
    assert (unused.status, unused.used_at, unused.validated_by) == ("CONFIRMED", None, None)
    assert after[stored["REIMBURSED"].booking.id].status == "REIMBURSED"
    assert after[stored["CANCELLED"].booking.id].starts_at == old_start
    (event,) = await outbox_events(booking_engine, booking_events.BookingUnused)
    assert event.booking.booking_id == str(stored["USED"].booking.id)
    assert event.booking.starts_at.ToDatetime(tzinfo=UTC) == new_start
    assert event.booking.amount_cents == 800
    # Payments orders a booking's events by time: the unuse must come after the use, which
    # may be later than the catalog's second-precision event time.
    assert event.unused_at.ToDatetime(tzinfo=UTC) > stored["USED"].booking.used_at


async def test_a_showtime_moved_within_48h_keeps_used_bookings_used(
    booking_engine, venue, stock_id
):
    now = datetime.now(UTC).replace(microsecond=0)
    old_start, new_start = now + 3 * 24 * H, now + 10 * H
    confirmed = await store_booking(
        booking_engine, venue, stock_id=stock_id, starts_at=old_start, booked_at=now - 24 * H
    )
    used = await store_booking(
        booking_engine, venue, status="USED", stock_id=stock_id, starts_at=old_start
    )

    await handle(booking_engine, "stock.updated", moved(stock_id, new_start, old_start), now)

    after = await bookings_by_id(booking_engine)
    assert after[used.booking.id].status == "USED"
    for stored in (confirmed, used):
        row = after[stored.booking.id]
        assert (row.starts_at, row.cancellation_limit_at) == (new_start, new_start)
    assert await outbox_events(booking_engine, booking_events.BookingUnused) == []


async def test_a_stock_update_that_does_not_move_the_showtime_changes_no_booking(
    booking_engine, venue, stock_id
):
    stored = await store_booking(booking_engine, venue, status="USED", stock_id=stock_id)
    event = moved(stock_id, datetime.now(UTC) + 9 * 24 * H, datetime.now(UTC))
    event.ClearField("previous_starts_at")

    await handle(booking_engine, "stock.updated", event)

    row = (await bookings_by_id(booking_engine))[stored.booking.id]
    assert (row.status, row.starts_at) == ("USED", stored.booking.starts_at)


# --- venue.upserted -------------------------------------------------------------------------


def venue_event(venue_id, offerer_id, **fields) -> events_pb2.VenueUpserted:
    return events_pb2.VenueUpserted(
        venue=resources_pb2.Venue(
            id=str(venue_id),
            offerer_id=str(offerer_id),
            name=fields.get("name", "Ciné Soleil"),
            siret=fields.get("siret", "12345678200017"),
            booking_email=fields.get("booking_email", "resa@soleil.test"),
            timezone=fields.get("timezone", "Indian/Reunion"),
        ),
        offerer=resources_pb2.Offerer(id=str(offerer_id), siren="123456782"),
    )


async def test_venues_are_copied_then_kept_current(booking_engine):
    venue_id, offerer_id = uuid.uuid4(), uuid.uuid4()

    await handle(booking_engine, "venue.upserted", venue_event(venue_id, offerer_id))
    async with make_session_factory(booking_engine)() as session:
        venue = await session.get(models.Venue, venue_id)
        assert (venue.offerer_id, venue.offerer_siren, venue.name, venue.siret) == (
            offerer_id,
            "123456782",
            "Ciné Soleil",
            "12345678200017",
        )
        assert (venue.booking_email, venue.timezone) == ("resa@soleil.test", "Indian/Reunion")

    await handle(
        booking_engine,
        "venue.upserted",
        venue_event(venue_id, offerer_id, name="Ciné Lune", siret="", booking_email="a@b.test"),
    )
    async with make_session_factory(booking_engine)() as session:
        venue = await session.get(models.Venue, venue_id)
        assert (venue.name, venue.siret, venue.booking_email) == ("Ciné Lune", "", "a@b.test")
        assert await session.scalar(select(func.count()).select_from(models.Venue)) == 1


# --- through RabbitMQ -----------------------------------------------------------------------


@pytest.fixture
def settings(booking_settings, unique_name):
    return isolated(booking_settings, unique_name)


def catalog_consumer(engine, pool, settings):
    (consumer,) = [c for c in worker.consumers(engine, pool, settings) if "catalog" in c.queue]
    return consumer


async def test_a_redelivered_event_changes_nothing(
    booking_engine, booking_pool, broker, settings, venue, stock_id
):
    stored = [
        await store_booking(booking_engine, venue, status=status, stock_id=stock_id)
        for status in ("CONFIRMED", "USED")
    ]
    consumer = catalog_consumer(booking_engine, booking_pool, settings)
    exchange = await declare_exchange(broker.channel, settings.catalog_exchange)
    body = events_pb2.StockDeleted(stock_id=str(stock_id), venue_id=str(venue.id))
    message_id = str(uuid.uuid4())
    handled = consumed(consumer.queue, "stock.deleted", "handled")
    duplicates = consumed(consumer.queue, "stock.deleted", "duplicate")

    async with running_consumers(broker, [consumer]):
        for _ in range(2):  # the same event delivered twice (e.g. the relay retried)
            await exchange.publish(
                aio_pika.Message(
                    body.SerializeToString(),
                    message_id=message_id,
                    headers={"message_type": "passculture.catalog.v1.StockDeleted"},
                ),
                "stock.deleted",
            )
        await eventually(
            lambda: consumed(consumer.queue, "stock.deleted", "duplicate") == duplicates + 1
        )

    assert consumed(consumer.queue, "stock.deleted", "handled") == handled + 1
    after = await bookings_by_id(booking_engine)
    assert {after[s.booking.id].status for s in stored} == {"CANCELLED"}
    events = await outbox_events(booking_engine, booking_events.BookingCancelled)
    assert sorted(e.booking.booking_id for e in events) == sorted(str(s.booking.id) for s in stored)


async def test_the_catalogs_changes_reach_the_bookings(
    booking_engine, booking_pool, catalog_engine, catalog, issuer, broker, settings
):
    consumer = catalog_consumer(booking_engine, booking_pool, settings)
    relay = OutboxRelay(
        catalog_engine, settings.amqp_url, settings.catalog_exchange, poll_interval=0.05
    )
    stop = asyncio.Event()
    async with running_consumers(broker, [consumer]):
        relaying = asyncio.create_task(relay.run(stop))
        try:
            await _create_move_and_delete_a_showtime(booking_engine, catalog, issuer)
        finally:
            stop.set()
            await asyncio.wait_for(relaying, 10)


async def _create_move_and_delete_a_showtime(booking_engine, catalog, issuer) -> None:
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro, postal_code="97400")
    sessions = make_session_factory(booking_engine)

    async def copied():
        async with sessions() as session:
            return await session.get(models.Venue, uuid.UUID(venue.id))

    await eventually(copied)
    local = await copied()
    assert (local.timezone, local.offerer_siren) == ("Indian/Reunion", pro.siren)

    offer = await make_offer(catalog, pro, venue.id)
    stock = await make_stock(catalog, pro, offer.id, in_days=1)
    stored = [
        await store_booking(
            booking_engine,
            local,
            status=status,
            stock_id=stock.id,
            offer_id=offer.id,
            starts_at=stock.starts_at.ToDatetime(tzinfo=UTC),
        )
        for status in ("CONFIRMED", "USED")
    ]
    new_start = datetime.now(UTC) + 6 * 24 * H
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=stock.id, starts_at=ts(new_start)),
        metadata=pro.metadata,
    )

    async def statuses() -> list[str]:
        after = await bookings_by_id(booking_engine)
        return [after[s.booking.id].status for s in stored]

    await eventually(lambda: _equal(statuses(), ["CONFIRMED", "CONFIRMED"]))
    after = await bookings_by_id(booking_engine)
    assert {after[s.booking.id].starts_at for s in stored} == {new_start}

    await catalog.offers.DeleteStock(
        offers_pb.DeleteStockRequest(stock_id=stock.id), metadata=pro.metadata
    )
    await eventually(lambda: _equal(statuses(), ["CANCELLED", "CANCELLED"]))
    assert len(await outbox_events(booking_engine, booking_events.BookingUnused)) == 1
    assert len(await outbox_events(booking_engine, booking_events.BookingCancelled)) == 2


async def _equal(value, expected) -> bool:
    return await value == expected
