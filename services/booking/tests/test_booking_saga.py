"""The booking saga when the catalog is slow, silent or loses answers, and its reconciler.

The saga runs in this process against the real catalog server and the booking database; the
catalog client loses ReserveStock requests or answers on demand, or pauses around them.
"""

import asyncio
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import select, text

from booking.credits import remaining_cents
from booking.external_tickets import OrphanTickets
from booking.models import Booking, Credit
from booking.saga import BookingSaga
from passculture.booking.v1 import events_pb2
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import reservation_service_pb2 as reservations_pb
from pclib.db import make_session_factory
from pclib.errors import DomainError
from tests.support.booking_helpers import (
    UnreliableCatalog,
    booked_quantity,
    insert_beneficiaries,
    make_showtime,
    no_ticketing,
    outbox_events,
)
from tests.support.catalog_helpers import (
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
)
from tests.support.pclib_fixtures import eventually
from tests.support.tcp_proxy import free_port


@pytest.fixture
async def unreliable(catalog_server, issuer):
    async with grpc.aio.insecure_channel(catalog_server[0]) as channel:
        yield UnreliableCatalog(channel, issuer)


@pytest.fixture
def booking_saga(booking_pool, unreliable, issuer) -> BookingSaga:
    return BookingSaga(booking_pool, unreliable, no_ticketing(issuer))


@pytest.fixture
async def young_id(booking_engine, issuer) -> uuid.UUID:
    [young] = await insert_beneficiaries(booking_engine, issuer, 1)
    return uuid.UUID(young.id)


@pytest.fixture
async def showtime(catalog, issuer):
    return await make_showtime(catalog, issuer, quantity=10)


async def failure(call) -> tuple[str, str]:
    with pytest.raises(DomainError) as raised:
        await call
    return raised.value.code.name, raised.value.reason


async def status_of(booking_engine, booking_id: uuid.UUID) -> str:
    async with booking_engine.connect() as conn:
        return await conn.scalar(select(Booking.status).where(Booking.id == booking_id))


async def only_booking(booking_engine) -> Booking:
    async with make_session_factory(booking_engine)() as session:
        [booking] = (await session.scalars(select(Booking))).all()
        return booking


async def remaining(booking_engine, young_id: uuid.UUID) -> int:
    async with make_session_factory(booking_engine)() as session:
        credit = await session.scalar(select(Credit).where(Credit.beneficiary_id == young_id))
        return remaining_cents(credit, datetime.now(UTC))


async def reserve_directly(catalog, issuer, stock_id: str, reservation_id: uuid.UUID):
    return await catalog.reservations.ReserveStock(
        reservations_pb.ReserveStockRequest(
            stock_id=stock_id, quantity=1, reservation_id=str(reservation_id)
        ),
        metadata=auth(issuer, "booking", "service"),
    )


# --- the request path ----------------------------------------------------------------------


async def test_a_lost_request_leaves_the_booking_pending_and_a_retry_completes_it(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog_engine
):
    unreliable.lose = "request"
    assert await failure(booking_saga.create(young_id, showtime.stock.id, 1, "k")) == (
        "UNAVAILABLE",
        "CATALOG_UNAVAILABLE",
    )
    pending = await only_booking(booking_engine)
    assert pending.status == "PENDING"
    # A PENDING booking already counts against the credit.
    assert await remaining(booking_engine, young_id) == 30_000 - 800
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 0

    unreliable.lose = None
    booking, _, _ = await booking_saga.create(young_id, showtime.stock.id, 1, "k")
    assert (booking.id, booking.status) == (pending.id, "CONFIRMED")
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1
    assert len(await outbox_events(booking_engine, events_pb2.BookingCreated)) == 1


async def test_a_lost_answer_is_retried_without_reserving_twice(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog_engine
):
    unreliable.lose = "answer"
    await failure(booking_saga.create(young_id, showtime.stock.id, 1, "k"))
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1

    unreliable.lose = None
    booking, _, _ = await booking_saga.create(young_id, showtime.stock.id, 1, "k")
    assert booking.status == "CONFIRMED"
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1
    assert await remaining(booking_engine, young_id) == 30_000 - 800


async def test_a_catalog_that_does_not_answer_books_nothing(
    booking_engine, booking_pool, issuer, young_id
):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        nowhere = BookingSaga(
            booking_pool, UnreliableCatalog(channel, issuer), no_ticketing(issuer)
        )
        assert await failure(nowhere.create(young_id, str(uuid.uuid4()), 1, None)) == (
            "UNAVAILABLE",
            "CATALOG_UNAVAILABLE",
        )
    async with booking_engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM bookings")) == 0


async def test_seats_refused_at_reservation_fail_the_booking_and_free_the_credit(
    booking_saga, unreliable, young_id, showtime, catalog, issuer, booking_engine
):
    # The stock looked bookable; someone takes every place before the reservation.
    async def sell_out():
        for _ in range(10):
            await reserve_directly(catalog, issuer, showtime.stock.id, uuid.uuid4())

    unreliable.before_reserve = sell_out
    assert await failure(booking_saga.create(young_id, showtime.stock.id, 1, "k")) == (
        "FAILED_PRECONDITION",
        "SOLD_OUT",
    )
    assert (await only_booking(booking_engine)).status == "FAILED"
    assert await remaining(booking_engine, young_id) == 30_000
    # A retry with the same key answers the same refusal.
    unreliable.before_reserve = None
    assert await failure(booking_saga.create(young_id, showtime.stock.id, 1, "k")) == (
        "FAILED_PRECONDITION",
        "SOLD_OUT",
    )


# --- the showtime as it is when its seats are taken ----------------------------------------


async def change_price(catalog, showtime, price_cents: int) -> None:
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=showtime.stock.id, price_cents=price_cents),
        metadata=showtime.pro.metadata,
    )


async def amount_of(booking_engine, booking_id) -> int:
    async with booking_engine.connect() as conn:
        return await conn.scalar(select(Booking.amount_cents).where(Booking.id == booking_id))


async def test_a_booking_is_made_at_the_price_of_the_moment_its_seats_are_taken(
    booking_saga, booking_engine, issuer, showtime, catalog
):
    first, second = await insert_beneficiaries(booking_engine, issuer, 2)
    await booking_saga.create(uuid.UUID(first.id), showtime.stock.id, 1, None)
    # The saga keeps what GetStock said (800); the price changes before the next booking.
    await change_price(catalog, showtime, 1_000)
    booking, _, _ = await booking_saga.create(uuid.UUID(second.id), showtime.stock.id, 1, None)
    assert (booking.amount_cents, booking.total_cents) == (1_000, 1_000)
    assert await amount_of(booking_engine, booking.id) == 1_000
    assert await remaining(booking_engine, uuid.UUID(second.id)) == 30_000 - 1_000
    [_, created] = await outbox_events(booking_engine, events_pb2.BookingCreated)
    assert (created.booking.booking_id, created.booking.amount_cents) == (str(booking.id), 1_000)


async def test_a_booking_records_the_tariff_it_was_made_at(
    booking_saga, booking_engine, issuer, catalog
):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id)
    normal = (
        await catalog.offers.CreatePriceCategory(
            offers_pb.CreatePriceCategoryRequest(
                offer_id=offer.id, label="Tarif normal", price_cents=800
            ),
            metadata=pro.metadata,
        )
    ).price_category
    stock = await make_stock(catalog, pro, offer.id, price_category_id=normal.id)
    first, second = await insert_beneficiaries(booking_engine, issuer, 2)
    before, _, _ = await booking_saga.create(uuid.UUID(first.id), stock.id, 1, None)
    assert (before.price_category_label, before.amount_cents) == ("Tarif normal", 800)
    # The saga keeps what GetStock said; the tariff changes before the next booking.
    await catalog.offers.UpdatePriceCategory(
        offers_pb.UpdatePriceCategoryRequest(
            price_category_id=normal.id, label="Plein tarif", price_cents=1_000
        ),
        metadata=pro.metadata,
    )
    after, _, _ = await booking_saga.create(uuid.UUID(second.id), stock.id, 1, None)
    assert (after.price_category_label, after.amount_cents) == ("Plein tarif", 1_000)
    async with booking_engine.connect() as conn:
        stored = await conn.execute(
            select(Booking.id, Booking.price_category_label, Booking.amount_cents)
        )
        assert sorted((label, cents) for _, label, cents in stored) == [
            ("Plein tarif", 1_000),
            ("Tarif normal", 800),
        ]
    # What payments is told: the price each booking was made at.
    created = await outbox_events(booking_engine, events_pb2.BookingCreated)
    assert [(event.booking.amount_cents, event.booking.total_cents) for event in created] == [
        (800, 800),
        (1_000, 1_000),
    ]


async def test_a_price_gone_up_beyond_the_credit_refuses_and_releases_the_seats(
    booking_saga, booking_engine, issuer, showtime, catalog, catalog_engine
):
    [first] = await insert_beneficiaries(booking_engine, issuer, 1)
    [short] = await insert_beneficiaries(booking_engine, issuer, 1, credit_cents=900)
    await booking_saga.create(uuid.UUID(first.id), showtime.stock.id, 1, None)
    await change_price(catalog, showtime, 1_000)  # the saga still believes 800: within 900
    assert await failure(booking_saga.create(uuid.UUID(short.id), showtime.stock.id, 1, None)) == (
        "FAILED_PRECONDITION",
        "INSUFFICIENT_CREDIT",
    )
    assert await remaining(booking_engine, uuid.UUID(short.id)) == 900
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1


# --- the reconciler ------------------------------------------------------------------------


async def test_the_reconciler_confirms_a_pending_booking_whose_seats_are_held(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog_engine
):
    unreliable.lose = "answer"
    await failure(booking_saga.create(young_id, showtime.stock.id, 1, None))
    booking = await only_booking(booking_engine)

    assert await booking_saga.reconcile_once(older_than=60) == 0  # too recent
    assert await booking_saga.reconcile_once(older_than=0) == 1
    assert await status_of(booking_engine, booking.id) == "CONFIRMED"
    [created] = await outbox_events(booking_engine, events_pb2.BookingCreated)
    assert created.booking.booking_id == str(booking.id)
    assert await booking_saga.reconcile_once(older_than=0) == 0
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1


async def test_the_reconciler_fails_a_booking_the_catalog_never_heard_of(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog, issuer
):
    unreliable.lose = "request"
    await failure(booking_saga.create(young_id, showtime.stock.id, 1, None))
    booking = await only_booking(booking_engine)

    assert await booking_saga.reconcile_once(older_than=0) == 1
    assert await status_of(booking_engine, booking.id) == "FAILED"
    assert await remaining(booking_engine, young_id) == 30_000
    assert await outbox_events(booking_engine, events_pb2.BookingCreated) == []
    # The release left a tombstone: a late ReserveStock with this id never holds seats.
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await reserve_directly(catalog, issuer, showtime.stock.id, booking.id)
    assert reason_of(late.value) == "RESERVATION_RELEASED"


async def test_a_reservation_arriving_while_the_reconciler_fails_the_booking_is_refused(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog_engine
):
    """The request is slow to reach the catalog; the reconciler gives up on it first."""
    reconciled = asyncio.Event()
    unreliable.before_reserve = reconciled.wait
    request = asyncio.create_task(booking_saga.create(young_id, showtime.stock.id, 1, None))
    await eventually(lambda: only_booking_exists(booking_engine))

    assert await booking_saga.reconcile_once(older_than=0) == 1
    reconciled.set()
    assert await failure(request) == ("FAILED_PRECONDITION", "BOOKING_TIMED_OUT")
    assert (await only_booking(booking_engine)).status == "FAILED"
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 0


async def test_a_reservation_confirmed_by_the_reconciler_is_answered_once(
    booking_saga, unreliable, young_id, showtime, booking_engine, catalog_engine
):
    """The seats are held; the reconciler confirms before the request path does."""
    reconciled = asyncio.Event()
    reserved = asyncio.Event()

    async def pause_after_reserve():
        reserved.set()
        await reconciled.wait()

    unreliable.after_reserve = pause_after_reserve
    request = asyncio.create_task(booking_saga.create(young_id, showtime.stock.id, 1, None))
    await reserved.wait()
    assert await booking_saga.reconcile_once(older_than=0) == 1
    reconciled.set()

    booking, _, _ = await request
    assert booking.status == "CONFIRMED"
    assert len(await outbox_events(booking_engine, events_pb2.BookingCreated)) == 1
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 1


async def test_several_reconcilers_settle_each_booking_once(
    booking_engine, booking_pool, unreliable, issuer, catalog, catalog_engine
):
    showtime = await make_showtime(catalog, issuer, quantity=100)
    people = await insert_beneficiaries(booking_engine, issuer, 40)
    saga = BookingSaga(booking_pool, unreliable, no_ticketing(issuer))
    for index, young in enumerate(people):
        unreliable.lose = "answer" if index % 2 else "request"
        await failure(saga.create(uuid.UUID(young.id), showtime.stock.id, 1, None))

    settled = await asyncio.gather(*(saga.reconcile_once(older_than=0) for _ in range(4)))
    assert sum(settled) == 40
    async with booking_engine.connect() as conn:
        counts = dict(
            (
                await conn.execute(text("SELECT status, count(*) FROM bookings GROUP BY status"))
            ).all()
        )
    assert counts == {"CONFIRMED": 20, "FAILED": 20}
    assert len(await outbox_events(booking_engine, events_pb2.BookingCreated)) == 20
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 20


async def test_the_reconciler_runs_until_stopped(
    booking_saga, unreliable, young_id, showtime, booking_engine
):
    unreliable.lose = "answer"
    await failure(booking_saga.create(young_id, showtime.stock.id, 1, None))
    booking = await only_booking(booking_engine)
    stop = asyncio.Event()
    running = asyncio.create_task(booking_saga.run_reconciler(stop, interval=0.05, older_than=0))

    async def confirmed() -> bool:
        return await status_of(booking_engine, booking.id) == "CONFIRMED"

    await eventually(confirmed)
    stop.set()
    await asyncio.wait_for(running, 5)


async def only_booking_exists(booking_engine) -> bool:
    async with booking_engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM bookings")) == 1


# --- showtimes sold through a ticketing system ---------------------------------------------


async def test_the_reconciler_fails_a_pending_ticketing_booking_once_past_its_deadlines(
    booking_saga,
    booking_pool,
    unreliable,
    young_id,
    showtime,
    booking_engine,
    catalog_engine,
    issuer,
):
    """Its tickets are not known here: the seats are given up, the tickets flagged to cancel
    (a plain booking whose seats are held would be confirmed instead)."""
    unreliable.lose = "answer"
    await failure(booking_saga.create(young_id, showtime.stock.id, 1, None))
    booking = await only_booking(booking_engine)
    async with booking_engine.begin() as conn:
        await conn.execute(
            text("UPDATE bookings SET ticketing_reference = '7:1:4' WHERE id = :id"),
            {"id": booking.id},
        )
    assert await booking_saga.reconcile_once(older_than=0, ticketing_older_than=60) == 0
    assert await booking_saga.reconcile_once(older_than=0, ticketing_older_than=0) == 1
    assert await status_of(booking_engine, booking.id) == "FAILED"
    assert await remaining(booking_engine, young_id) == 30_000
    assert await booked_quantity(catalog_engine, showtime.stock.id) == 0
    assert await outbox_events(booking_engine, events_pb2.BookingCreated) == []
    # The import service unreachable: the tickets stay to cancel, for the next pass.
    orphans = OrphanTickets(booking_pool, no_ticketing(issuer))
    assert await orphans.cancel_once() == 0
    assert (await only_booking(booking_engine)).tickets_to_cancel
