"""ReservationService: seats for the booking saga.

A reservation is one conditional UPDATE of the stock's booked quantity, in the same statement
as the insert of the reservation row: the stock row lock serialises concurrent reservations
and PostgreSQL re-checks the condition after the lock, so no showtime is sold beyond its
quantity. The reservation id (the booking id) makes retries idempotent; releasing leaves a
tombstone so that a late retry of a released id never reserves again.

That statement runs alone in autocommit (one round trip): the hot stock row stays locked only
while PostgreSQL inserts and commits, never while this process works. The offer, venue and
offerer are checked before the row lock is taken (`bookable`, read once, as a join would read
them from the statement's snapshot too), so that a call woken up by the lock re-checks the
stock row alone. Only when the statement reserves nothing (a retry, a tombstone, a refusal)
does a second look say why.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import seats
from catalog.api.convert import parse_id, timestamp
from catalog.domain import stocks as rules
from catalog.models import Offer, Offerer, Stock, StockReservation, Venue
from passculture.catalog.v1 import reservation_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2_grpc as pb_grpc
from pclib.auth import require_role
from pclib.db import autocommit_engine, violated_constraint
from pclib.errors import FailedPrecondition, InvalidArgument, NotFound

RESERVE_SQL = text("""
WITH bookable AS (
    SELECT s.id
    FROM stocks s
    JOIN offers o ON o.id = s.offer_id AND o.is_active AND (:quantity = 1 OR o.is_duo)
    JOIN venues v ON v.id = o.venue_id
    JOIN offerers f ON f.id = v.offerer_id AND f.status = 'VALIDATED'
    WHERE s.id = :stock_id
),
reserved AS (
    UPDATE stocks s SET booked_quantity = s.booked_quantity + :quantity
    WHERE s.id = (SELECT id FROM bookable)
      AND s.is_active AND s.deleted_at IS NULL
      AND s.starts_at > now() AND s.booking_limit_at > now()
      AND (s.quantity IS NULL OR s.booked_quantity + :quantity <= s.quantity)
      AND NOT EXISTS (SELECT FROM stock_reservations r WHERE r.id = :reservation_id)
    RETURNING s.id
)
INSERT INTO stock_reservations (id, stock_id, quantity, status)
SELECT :reservation_id, id, :quantity, 'RESERVED' FROM reserved
RETURNING id, stock_id, quantity, status, created_at
""")
# Raised when a concurrent call with the same id (or a release's tombstone) committed first:
# the whole statement, its UPDATE included, rolled back.
SAME_ID_CONFLICT = "stock_reservations_pkey"

STATUS = {"RESERVED": pb.RESERVATION_STATUS_RESERVED, "RELEASED": pb.RESERVATION_STATUS_RELEASED}


def _reservation_pb(reservation: StockReservation) -> pb.Reservation:
    """Of a StockReservation, or of a row with the same columns (RESERVE_SQL's RETURNING)."""
    return pb.Reservation(
        reservation_id=str(reservation.id),
        stock_id=str(reservation.stock_id or ""),
        quantity=reservation.quantity,
        status=STATUS[reservation.status],
        created_at=timestamp(reservation.created_at),
    )


def _reservation_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument("INVALID_RESERVATION_ID", "reservation_id must be a UUID") from None


async def _why_refused(session: AsyncSession, stock_id: uuid.UUID, quantity: int) -> Exception:
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
        return NotFound("STOCK_NOT_FOUND", "stock not found")
    stock, offer, offerer = row
    if quantity == 2 and not offer.is_duo:
        return InvalidArgument("INVALID_QUANTITY", "this offer is not duo")
    bookable_if_seats = rules.is_bookable(
        offerer_validated=offerer.status == "VALIDATED",
        offer_active=offer.is_active,
        stock_active=stock.is_active,
        stock_deleted=False,
        starts_at=stock.starts_at,
        booking_limit_at=stock.booking_limit_at,
        quantity=None,
        booked=0,
        now=datetime.now(UTC),
    )
    if not bookable_if_seats:
        return FailedPrecondition("NOT_BOOKABLE", "this showtime cannot be booked")
    return FailedPrecondition(
        "SOLD_OUT",
        "not enough places left",
        remaining_quantity=rules.remaining(stock.quantity, stock.booked_quantity),
    )


def _as_retry(existing: StockReservation, stock_id: uuid.UUID, quantity: int) -> None:
    """Raises unless `existing` is what a retry of this request would have reserved."""
    if existing.status == "RELEASED":
        raise FailedPrecondition("RESERVATION_RELEASED", "this reservation was released")
    if existing.stock_id != stock_id or existing.quantity != quantity:
        raise FailedPrecondition(
            "RESERVATION_MISMATCH", "this reservation id holds another stock or quantity"
        )


class ReservationServicer(pb_grpc.ReservationServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions
        self._autocommit = autocommit_engine(sessions)

    async def ReserveStock(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        stock_id = parse_id(request.stock_id, "STOCK_NOT_FOUND")
        if request.quantity not in (1, 2):
            raise InvalidArgument("INVALID_QUANTITY", "quantity must be 1 or 2")
        reservation = await self._reserve(reservation_id, stock_id, request.quantity)
        if reservation is None:
            reservation = await self._retry_or_refusal(reservation_id, stock_id, request.quantity)
        return pb.ReserveStockResponse(reservation=_reservation_pb(reservation))

    async def _reserve(self, reservation_id: uuid.UUID, stock_id: uuid.UUID, quantity: int):
        """The new reservation's row, or None when this id exists or the stock refused."""
        params = {"stock_id": stock_id, "quantity": quantity, "reservation_id": reservation_id}
        try:
            async with self._autocommit.connect() as conn:
                return (await conn.execute(RESERVE_SQL, params)).one_or_none()
        except IntegrityError as error:
            if violated_constraint(error) != SAME_ID_CONFLICT:
                raise
            return None

    async def _retry_or_refusal(
        self, reservation_id: uuid.UUID, stock_id: uuid.UUID, quantity: int
    ) -> StockReservation:
        """The reservation this id already holds (a retry), or the refusal to raise."""
        async with self._sessions() as session:
            existing = await session.get(StockReservation, reservation_id)
            if existing is None:
                raise await _why_refused(session, stock_id, quantity)
        _as_retry(existing, stock_id, quantity)
        return existing

    async def ReleaseStock(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions.begin() as session:
            reservation = await seats.release(session, reservation_id)
        return pb.ReleaseStockResponse(reservation=_reservation_pb(reservation))

    async def GetReservation(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions() as session:
            reservation = await session.get(StockReservation, reservation_id)
        if reservation is None:
            raise NotFound("RESERVATION_NOT_FOUND", "no such reservation")
        return pb.GetReservationResponse(reservation=_reservation_pb(reservation))
