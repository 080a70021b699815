"""No oversell, no overspend, no double booking, whatever the concurrency.

The storm: 500 young people book a showtime of 50 places at once. The spree: one young person
books 30 films at once with a credit that covers 3. The negative control runs the spree without
the credit row lock, to prove that the spree's check does catch an overspend.
"""

import asyncio
import time

import grpc
import pytest
from sqlalchemy import text

from booking import lifecycle
from booking.domain.status import ACTIVE_STATUSES
from passculture.booking.v1 import resources_pb2 as resources
from passculture.booking.v1.reasons import Reason
from pclib.errors import FailedPrecondition
from tests.support.booking_helpers import (
    book,
    insert_beneficiaries,
    make_beneficiary,
    make_showtime,
)
from tests.support.catalog_helpers import make_pro, make_venue, reason_of

PLACES = 50
YOUNG_PEOPLE = 500
FILMS = 30
PRICE = 10_000  # the credit (30 000) covers exactly 3


@pytest.fixture
def booking_settings(booking_settings):
    # A storm on a loaded machine may queue a reservation for seconds: the point here is the
    # outcome of each booking, not the timeout (test_booking_saga.py covers a silent catalog).
    return booking_settings.model_copy(update={"catalog_timeout_seconds": 60.0})


async def all_at_once(calls) -> list:
    """Starts every call together; returns each answer or exception."""
    start = asyncio.Event()

    async def one(call):
        await start.wait()
        return await call

    tasks = [asyncio.create_task(one(call)) for call in calls]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def split(answers: list) -> tuple[list[resources.Booking], list[str]]:
    """(bookings made, reasons of the refusals); anything else fails the test."""
    made, reasons = [], []
    for answer in answers:
        if isinstance(answer, grpc.aio.AioRpcError):
            reasons.append(reason_of(answer))
        elif isinstance(answer, BaseException):
            raise answer
        else:
            made.append(answer)
    return made, reasons


async def statuses(booking_engine) -> dict[str, int]:
    async with booking_engine.connect() as conn:
        rows = await conn.execute(text("SELECT status, count(*) FROM bookings GROUP BY status"))
        return dict(rows.all())


async def seats(catalog_engine, stock_id: str) -> tuple[int, set[str]]:
    """(booked quantity of the stock, ids of its held reservations)."""
    async with catalog_engine.connect() as conn:
        booked = await conn.scalar(
            text("SELECT booked_quantity FROM stocks WHERE id = :id"), {"id": stock_id}
        )
        held = await conn.scalars(
            text("SELECT id FROM stock_reservations WHERE stock_id = :id AND status = 'RESERVED'"),
            {"id": stock_id},
        )
        return booked, {str(reservation_id) for reservation_id in held}


async def test_a_storm_sells_exactly_the_places(
    booking, catalog, issuer, booking_engine, catalog_engine
):
    showtime = await make_showtime(catalog, issuer, quantity=PLACES)
    young_people = await insert_beneficiaries(booking_engine, issuer, YOUNG_PEOPLE)

    started = time.perf_counter()
    answers = await all_at_once(book(booking, young, showtime.stock.id) for young in young_people)
    elapsed = time.perf_counter() - started
    print(f"\nstorm: {YOUNG_PEOPLE} CreateBooking on {PLACES} places in {elapsed:.2f}s")

    made, reasons = split(answers)
    assert len(made) == PLACES
    assert {b.status for b in made} == {resources.BOOKING_STATUS_CONFIRMED}
    assert len(reasons) == YOUNG_PEOPLE - PLACES
    assert set(reasons) == {"SOLD_OUT"}
    booked, held = await seats(catalog_engine, showtime.stock.id)
    assert booked == PLACES
    assert held == {b.id for b in made}
    counts = await statuses(booking_engine)
    assert counts.get("CONFIRMED") == PLACES
    assert counts.get("PENDING", 0) == 0
    async with booking_engine.connect() as conn:
        events = await conn.scalar(
            text("SELECT count(*) FROM outbox WHERE routing_key = 'booking.created'")
        )
    assert events == PLACES


async def spree(booking, catalog, issuer, young) -> list:
    """One young person books FILMS different films at once."""
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    showtimes = [
        await make_showtime(catalog, issuer, pro=pro, venue=venue, price_cents=PRICE)
        for _ in range(FILMS)
    ]
    return await all_at_once(book(booking, young, s.stock.id) for s in showtimes)


async def spent(booking_engine, young) -> int:
    statement = text(
        "SELECT coalesce(sum(amount_cents * quantity), 0) FROM bookings"
        " WHERE beneficiary_id = :id AND status = ANY(:active)"
    )
    async with booking_engine.connect() as conn:
        return await conn.scalar(statement, {"id": young.id, "active": list(ACTIVE_STATUSES)})


async def counted(booking_engine, young) -> int:
    """What the credit's counter says its active bookings hold."""
    statement = text("SELECT spent_cents FROM credits WHERE beneficiary_id = :id")
    async with booking_engine.connect() as conn:
        return await conn.scalar(statement, {"id": young.id})


async def while_watching_spending(booking_engine, young, work) -> tuple[object, int]:
    """Runs `work`, sampling what the young person has committed meanwhile; returns its result
    and the most ever committed."""
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await spent(booking_engine, young))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    try:
        result = await work
    finally:
        done.set()
        await watcher
    return result, max(peak, await spent(booking_engine, young))


async def test_one_young_person_cannot_overspend(booking, catalog, issuer, booking_engine):
    young = await make_beneficiary(booking, issuer)
    answers, peak = await while_watching_spending(
        booking_engine, young, spree(booking, catalog, issuer, young)
    )
    made, reasons = split(answers)
    assert len(made) == 3
    assert set(reasons) == {"INSUFFICIENT_CREDIT"}
    # What was ever committed (PENDING included) never exceeded the credit.
    assert peak <= 30_000
    assert await counted(booking_engine, young) == await spent(booking_engine, young)


async def test_negative_control_checking_before_writing_the_spree_overspends(
    booking, catalog, issuer, booking_engine, monkeypatch
):
    """The same spree with the credit checked in Python on a read, then written (a read-then-
    write race): the credit is overspent, so the test above can fail."""
    reserve = (
        "UPDATE credits SET spent_cents = spent_cents + %(total)s\n"
        "    WHERE beneficiary_id = %(beneficiary_id)s AND expires_at > %(now)s\n"
        "      AND spent_cents + %(total)s <= initial_cents"
    )
    assert reserve in lifecycle.OPEN
    naive = lifecycle.OPEN.replace(
        reserve,
        "UPDATE credits SET spent_cents = %(read)s + %(total)s"
        " WHERE beneficiary_id = %(beneficiary_id)s",
    )
    open_booking = lifecycle.open_booking

    async def check_then_open(conn, **values):
        cursor = await conn.execute(
            "SELECT spent_cents, initial_cents FROM credits WHERE beneficiary_id = %s",
            (values["beneficiary_id"],),
        )
        read, initial = await cursor.fetchone()
        if read + values["amount_cents"] * values["quantity"] > initial:
            raise FailedPrecondition(Reason.INSUFFICIENT_CREDIT, "your credit is not enough")
        await asyncio.sleep(0.05)  # any delay between the check and the write opens the race
        return await open_booking(conn, read=read, **values)

    monkeypatch.setattr(lifecycle, "OPEN", naive)
    monkeypatch.setattr(lifecycle, "open_booking", check_then_open)
    young = await make_beneficiary(booking, issuer)
    answers, peak = await while_watching_spending(
        booking_engine, young, spree(booking, catalog, issuer, young)
    )
    made, _ = split(answers)
    assert len(made) > 3
    with pytest.raises(AssertionError):
        assert peak <= 30_000


async def test_concurrent_retries_with_one_key_book_once(
    booking, catalog, issuer, booking_engine, catalog_engine
):
    showtime = await make_showtime(catalog, issuer, quantity=PLACES)
    young = await make_beneficiary(booking, issuer)
    answers = await all_at_once(
        book(booking, young, showtime.stock.id, key="double-click") for _ in range(20)
    )
    made, reasons = split(answers)
    assert reasons == []
    assert len({b.id for b in made}) == 1
    assert await seats(catalog_engine, showtime.stock.id) == (1, {made[0].id})
    assert await statuses(booking_engine) == {"CONFIRMED": 1}


async def test_concurrent_bookings_of_one_offer_book_once(booking, catalog, issuer):
    showtime = await make_showtime(catalog, issuer, quantity=PLACES)
    young = await make_beneficiary(booking, issuer)
    made, reasons = split(
        await all_at_once(book(booking, young, showtime.stock.id) for _ in range(20))
    )
    assert len(made) == 1
    assert set(reasons) == {"ALREADY_BOOKED"}
