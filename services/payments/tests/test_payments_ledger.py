"""The ledger from the booking and catalog events: handlers first, then through RabbitMQ with
the worker's real consumers."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from payments_event_helpers import handle, ledger_lines, mark_paid, publish
from prometheus_client import REGISTRY

from passculture.catalog.v1 import events_pb2 as catalog_events
from payments import worker
from pclib.db import make_pool
from pclib.topology import declare_exchange
from tests.support.payments_helpers import (
    booking_facts,
    cancelled,
    created,
    isolated,
    new_venue,
    unused,
    used,
)
from tests.support.pclib_fixtures import consumed, eventually, running_consumers


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("payments_ledger_events_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def venue():
    return new_venue(siret="12345678200011")


async def test_a_used_booking_becomes_a_reimbursable_line(payments_engine, venue):
    facts = booking_facts(venue, total_cents=1490)
    at = ago(hours=2)
    await handle(payments_engine, "booking.used", used(facts, at))

    line = (await ledger_lines(payments_engine))[uuid.UUID(facts.booking_id)]
    assert (line.state, line.used_at, line.last_event_at) == ("USED", at, at)
    assert (line.total_cents, line.scale_key, line.used_year) == (1490, venue.siret, at.year)
    assert (str(line.venue_id), str(line.offerer_id), line.offerer_siren) == (
        venue.id,
        venue.offerer_id,
        venue.siren,
    )


async def test_a_new_booking_is_a_booked_line_until_used_whatever_the_order(payments_engine, venue):
    facts, late = booking_facts(venue, total_cents=700), booking_facts(venue)
    booked_at = ago(hours=3)
    await handle(payments_engine, "booking.created", created(facts, booked_at))
    line = (await ledger_lines(payments_engine))[uuid.UUID(facts.booking_id)]
    assert (line.state, line.used_at, line.total_cents) == ("CONFIRMED", None, 700)
    await handle(payments_engine, "booking.used", used(facts, ago(hours=1)))
    assert (await ledger_lines(payments_engine))[uuid.UUID(facts.booking_id)].state == "USED"
    # The creation delivered after the use (another queue's order): the line stays USED.
    await handle(payments_engine, "booking.used", used(late, ago(hours=1)))
    await handle(payments_engine, "booking.created", created(late, booked_at))
    assert (await ledger_lines(payments_engine))[uuid.UUID(late.booking_id)].state == "USED"


@pytest.mark.parametrize(
    ("routing_key", "make"), [("booking.unused", unused), ("booking.cancelled", cancelled)]
)
async def test_unused_or_cancelled_the_line_leaves_the_ledger(
    payments_engine, venue, routing_key, make
):
    facts = booking_facts(venue)
    await handle(payments_engine, "booking.used", used(facts, ago(hours=2)))
    await handle(payments_engine, routing_key, make(facts, ago(hours=1)))
    line = (await ledger_lines(payments_engine))[uuid.UUID(facts.booking_id)]
    assert (line.state, line.used_at) == (routing_key.split(".")[1].upper(), None)


async def test_an_older_event_arriving_late_is_ignored(payments_engine, venue):
    facts = booking_facts(venue)
    booking_id = uuid.UUID(facts.booking_id)
    # Unused at t2 arrives first; the use at t1 < t2 arrives after it: the line stays removed.
    await handle(payments_engine, "booking.unused", unused(facts, ago(hours=1)))
    await handle(payments_engine, "booking.used", used(facts, ago(hours=2)))
    assert (await ledger_lines(payments_engine))[booking_id].state == "UNUSED"
    # Used again later (t3 > t2): the line comes back.
    again = ago(minutes=5)
    await handle(payments_engine, "booking.used", used(facts, again))
    line = (await ledger_lines(payments_engine))[booking_id]
    assert (line.state, line.used_at) == ("USED", again)
    # And a late, older cancellation does not remove it.
    await handle(payments_engine, "booking.cancelled", cancelled(facts, ago(minutes=30)))
    assert (await ledger_lines(payments_engine))[booking_id].state == "USED"


async def test_a_paid_booking_unused_or_cancelled_stays_paid_with_a_warning(
    payments_engine, venue, caplog
):
    facts = booking_facts(venue)
    booking_id = uuid.UUID(facts.booking_id)
    await handle(payments_engine, "booking.used", used(facts, ago(days=2)))
    payment_id = uuid.uuid4()
    await mark_paid(payments_engine, booking_id, payment_id)
    labels = {"state": "CANCELLED"}
    before = REGISTRY.get_sample_value("payments_paid_bookings_undone_total", labels)

    with caplog.at_level(logging.WARNING, logger="payments.ledger"):
        await handle(payments_engine, "booking.cancelled", cancelled(facts, ago(hours=1)))

    # No tombstone either: the booking stays paid, out of the ledger.
    assert booking_id not in await ledger_lines(payments_engine)
    assert REGISTRY.get_sample_value("payments_paid_bookings_undone_total", labels) == before + 1
    [warning] = caplog.records
    assert (warning.booking_id, warning.payment_id) == (str(booking_id), str(payment_id))
    assert "paid booking was cancelled" in warning.message


@pytest.mark.parametrize("late", [False, True])
async def test_a_paid_booking_used_again_does_not_come_back_to_the_ledger(
    payments_engine, venue, late
):
    facts = booking_facts(venue)
    booking_id = uuid.UUID(facts.booking_id)
    await handle(payments_engine, "booking.used", used(facts, ago(days=2)))
    await mark_paid(payments_engine, booking_id, uuid.uuid4())
    stale, already_paid = outcomes("stale"), outcomes("already_paid")

    await handle(payments_engine, "booking.used", used(facts, ago(days=3 if late else 1)))

    assert booking_id not in await ledger_lines(payments_engine)
    assert (outcomes("stale") - stale, outcomes("already_paid") - already_paid) == (
        (1, 0) if late else (0, 1)
    )


async def test_a_moved_showtime_moves_its_lines(payments_engine, venue):
    stock_id = str(uuid.uuid4())
    unpaid, other = booking_facts(venue, stock_id=stock_id), booking_facts(venue)
    for facts in (unpaid, other):
        await handle(payments_engine, "booking.used", used(facts, ago(hours=3)))
    moved_to = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    event = catalog_events.StockUpdated(venue_id=venue.id)
    event.stock.id = stock_id
    event.stock.starts_at.FromDatetime(moved_to)
    event.previous_starts_at.CopyFrom(unpaid.starts_at)

    await handle(payments_engine, "stock.updated", event)

    lines = await ledger_lines(payments_engine)
    assert lines[uuid.UUID(unpaid.booking_id)].starts_at == moved_to
    assert lines[uuid.UUID(other.booking_id)].starts_at == other.starts_at.ToDatetime(tzinfo=UTC)


# --- through RabbitMQ ---------------------------------------------------------------------------


@pytest.fixture
def settings(payments_settings, unique_name):
    return isolated(payments_settings, unique_name)


@pytest.fixture
async def pool(payments_db_url):
    async with make_pool(payments_db_url, 5) as pool:
        yield pool


def booking_consumer(engine, pool, settings):
    (consumer,) = [c for c in worker.consumers(engine, pool, settings) if "booking" in c.queue]
    return consumer


def test_the_worker_consumes_the_booking_and_catalog_exchanges(payments_engine, settings):
    booking, catalog = worker.consumers(
        payments_engine, make_pool(settings.database_url, 1), settings
    )
    assert (booking.queue, catalog.queue) == (
        f"{settings.queue_prefix}.booking-events",
        f"{settings.queue_prefix}.catalog-events",
    )
    assert booking.bindings == {
        settings.booking_exchange: [
            "booking.created",
            "booking.used",
            "booking.unused",
            "booking.cancelled",
        ]
    }
    assert catalog.bindings == {settings.catalog_exchange: ["stock.updated", "venue.upserted"]}


async def test_events_from_the_broker_make_the_ledger_and_a_redelivery_changes_nothing(
    payments_engine, pool, broker, settings, venue
):
    consumer = booking_consumer(payments_engine, pool, settings)
    exchange = await declare_exchange(broker.channel, settings.booking_exchange)
    kept, removed = booking_facts(venue), booking_facts(venue)
    queue = consumer.queue

    def count(key: str, result: str) -> float:
        return consumed(queue, key, result)

    handled_used, duplicates = count("booking.used", "handled"), count("booking.used", "duplicate")
    async with running_consumers(broker, [consumer]):
        message_id = await publish(exchange, "booking.used", used(kept, ago(hours=2)))
        await publish(exchange, "booking.used", used(removed, ago(hours=2)))
        await eventually(lambda: count("booking.used", "handled") == handled_used + 2)
        await publish(exchange, "booking.unused", unused(removed, ago(hours=1)))
        await eventually(lambda: count("booking.unused", "handled") >= 1)
        first = await ledger_lines(payments_engine)
        # The same message again (the relay retried), this time saying a later use.
        await publish(exchange, "booking.used", used(kept, ago(minutes=1)), message_id)
        await eventually(lambda: count("booking.used", "duplicate") == duplicates + 1)

    after = await ledger_lines(payments_engine)
    assert after == first
    assert after[uuid.UUID(kept.booking_id)].state == "USED"
    assert after[uuid.UUID(removed.booking_id)].state == "UNUSED"
    assert count("booking.used", "handled") == handled_used + 2
