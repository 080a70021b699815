"""The seat reservation (the booking saga's step in the catalog): seats of a stock held for a
booking, reserved once and released once. It publishes no event.

A reservation is one conditional UPDATE of the stock's booked quantity, in the same statement
as the insert of the reservation row: the stock row lock serialises concurrent reservations
and PostgreSQL re-checks the condition after the lock, so no showtime is sold beyond its
quantity. The reservation id (the booking id) makes retries idempotent; releasing leaves a
tombstone so that a late retry of a released id never reserves again.

That statement runs alone in autocommit on the psycopg pool (one round trip): the hot stock row
stays locked only while PostgreSQL inserts and commits, never while this process works. The
offer, venue and offerer are checked before the row lock is taken (`bookable`, read once, as a
join would read them from the statement's snapshot too), so that a call woken up by the lock
re-checks the stock row alone. Only when the statement reserves nothing (a retry, a tombstone,
a refusal) does a second look say why.
"""

import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.domain import reservations as rules
from catalog.domain import stocks
from catalog.domain.status import OffererStatus, ReservationStatus
from catalog.models import Offer, Offerer, Stock, StockReservation, Venue
from catalog.stock_reads import stock_details
from passculture.catalog.v1.reasons import Reason
from pclib.errors import DomainError, NotFound

RESERVE = f"""
WITH bookable AS (
    SELECT s.id, o.title
    FROM stocks s
    JOIN offers o ON o.id = s.offer_id AND o.is_active AND (%(quantity)s = 1 OR o.is_duo)
    JOIN venues v ON v.id = o.venue_id
    JOIN offerers f ON f.id = v.offerer_id AND f.status = '{OffererStatus.VALIDATED}'
    WHERE s.id = %(stock_id)s
),
reserved AS (
    UPDATE stocks s SET booked_quantity = s.booked_quantity + %(quantity)s
    WHERE s.id = (SELECT id FROM bookable)
      AND s.is_active AND s.deleted_at IS NULL
      AND s.starts_at > now() AND s.booking_limit_at > now()
      AND (s.quantity IS NULL OR s.booked_quantity + %(quantity)s <= s.quantity)
      AND NOT EXISTS (SELECT FROM stock_reservations r WHERE r.id = %(reservation_id)s)
    RETURNING s.id, s.offer_id, s.starts_at, s.price_cents, s.quantity, s.booked_quantity,
        s.booking_limit_at, s.features, s.is_active, s.price_category_id
),
held AS (
    INSERT INTO stock_reservations (id, stock_id, quantity, status)
    SELECT %(reservation_id)s, id, %(quantity)s, '{ReservationStatus.RESERVED}' FROM reserved
    RETURNING id, stock_id, quantity, status, created_at
)
SELECT held.id, held.quantity, held.status, held.created_at, bookable.title, c.label,
    reserved.id, reserved.offer_id, reserved.starts_at, reserved.price_cents, reserved.quantity,
    reserved.booked_quantity, reserved.booking_limit_at, reserved.features, reserved.is_active,
    reserved.price_category_id
FROM held JOIN reserved ON reserved.id = held.stock_id CROSS JOIN bookable
LEFT JOIN price_categories c ON c.id = reserved.price_category_id
"""  # noqa: S608 (only status constants are formatted in)
# The category is joined by the statement's snapshot: one the stock was moved to by a
# transaction that committed while this one waited for the row lock is not in it (LEFT JOIN:
# the seats are still taken; its label is then read apart).
PRICE_CATEGORY_LABEL = "SELECT label FROM price_categories WHERE id = %(id)s"
# Raised when a concurrent call with the same id (or a release's tombstone) committed first:
# the whole statement, its UPDATE included, rolled back.
SAME_ID_CONFLICT = "stock_reservations_pkey"


class Held(NamedTuple):
    """A reservation as RESERVE returns it (the columns of StockReservation it needs)."""

    id: uuid.UUID
    stock_id: uuid.UUID | None
    quantity: int
    status: ReservationStatus
    created_at: datetime


# A reservation as read back: its row, or RESERVE's.
Reservation = StockReservation | Held


class Reserved(NamedTuple):
    """A reservation, and its showtime as it was when its seats were taken."""

    reservation: Reservation
    stock: Stock
    offer_title: str
    price_category_label: str


async def reserve(
    sessions: async_sessionmaker[AsyncSession],
    pool: AsyncConnectionPool,
    reservation_id: uuid.UUID,
    stock_id: uuid.UUID,
    quantity: int,
) -> Reserved:
    """Holds `quantity` seats of the stock under this id; a retry answers what the id holds.
    Raises why the stock refused, or why the id cannot reserve these seats."""
    rules.check_quantity(quantity)
    reserved = await _hold(pool, reservation_id, stock_id, quantity)
    if reserved is not None:
        return reserved
    async with sessions() as session:
        existing = await session.get(StockReservation, reservation_id)
        if existing is None:
            raise await _refusal(session, stock_id, quantity)
    rules.check_retry(existing.status, existing.stock_id, existing.quantity, stock_id, quantity)
    async with pool.connection() as conn:
        details = await stock_details(conn, stock_id)
    if details is None:  # deleted since: the retry still answers what the id holds
        raise NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
    return Reserved(existing, details.stock, details.offer.title, details.price_category_label)


async def _hold(
    pool: AsyncConnectionPool, reservation_id: uuid.UUID, stock_id: uuid.UUID, quantity: int
) -> Reserved | None:
    """The new reservation, or None when this id exists or the stock refused."""
    params = {"stock_id": stock_id, "quantity": quantity, "reservation_id": reservation_id}
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute(RESERVE, params)
            row = await cursor.fetchone()
    except UniqueViolation as error:
        if error.diag.constraint_name != SAME_ID_CONFLICT:
            raise
        return None
    if row is None:
        return None
    reservation_id, held, status, created_at, title, label, *stock = row
    columns = (
        *("id", "offer_id", "starts_at", "price_cents", "quantity", "booked_quantity"),
        *("booking_limit_at", "features", "is_active", "price_category_id"),
    )
    showtime = Stock(**dict(zip(columns, stock, strict=True)))
    holding = Held(reservation_id, showtime.id, held, ReservationStatus(status), created_at)
    if label is None:
        async with pool.connection() as conn:
            cursor = await conn.execute(PRICE_CATEGORY_LABEL, {"id": showtime.price_category_id})
            (label,) = await cursor.fetchone() or ("",)
    return Reserved(holding, showtime, title, label)


async def _refusal(session: AsyncSession, stock_id: uuid.UUID, quantity: int) -> DomainError:
    """The reason a reservation was refused, read after the fact."""
    row = (
        await session.execute(
            select(Stock, Offer, Offerer)
            .join(Offer, Offer.id == Stock.offer_id)
            .join(Venue, Venue.id == Offer.venue_id)
            .join(Offerer, Offerer.id == Venue.offerer_id)
            .where(Stock.id == stock_id, Stock.deleted_at.is_(None))
        )
    ).one_or_none()
    if row is None:
        return NotFound(Reason.STOCK_NOT_FOUND, "stock not found")
    stock, offer, offerer = row
    bookable_if_seats = stocks.is_bookable(
        offerer_validated=offerer.status == OffererStatus.VALIDATED,
        offer_active=offer.is_active,
        stock_active=stock.is_active,
        stock_deleted=False,
        starts_at=stock.starts_at,
        booking_limit_at=stock.booking_limit_at,
        quantity=None,
        booked=0,
        now=datetime.now(UTC),
    )
    return rules.refusal(
        quantity=quantity,
        is_duo=offer.is_duo,
        bookable_if_seats=bookable_if_seats,
        remaining=stocks.remaining(stock.quantity, stock.booked_quantity),
    )


async def release(session: AsyncSession, reservation_id: uuid.UUID) -> StockReservation:
    """Frees the reservation's seats once; an unknown id leaves a RELEASED tombstone so that it
    can never reserve later. Runs in the caller's transaction (ReleaseStock, and the
    booking.cancelled consumer)."""
    await session.execute(
        insert(StockReservation)
        .values(id=reservation_id, stock_id=None, quantity=0, status=ReservationStatus.RELEASED)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    reservation = (
        await session.scalars(
            select(StockReservation)
            .where(StockReservation.id == reservation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    if reservation.status == ReservationStatus.RESERVED:
        await session.execute(
            update(Stock)
            .where(Stock.id == reservation.stock_id)
            .values(booked_quantity=Stock.booked_quantity - reservation.quantity)
        )
        reservation.status = ReservationStatus.RELEASED
        reservation.released_at = datetime.now(UTC)
    return reservation
