"""ReservationService: seats for the booking saga.

A reservation is one conditional UPDATE of the stock's booked quantity, in the same statement
as the insert of the reservation row: the stock row lock serialises concurrent reservations
and PostgreSQL re-checks the condition after the lock, so no showtime is sold beyond its
quantity. The reservation id (the booking id) makes retries idempotent; releasing leaves a
tombstone so that a late retry of a released id never reserves again.
"""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.api.convert import parse_id, timestamp
from catalog.domain import stocks as rules
from catalog.models import Offer, Offerer, Stock, StockReservation, Venue
from passculture.catalog.v1 import reservation_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2_grpc as pb_grpc
from pclib.auth import require_role
from pclib.errors import FailedPrecondition, InvalidArgument, NotFound

RESERVE_SQL = text("""
WITH reserved AS (
    UPDATE stocks s SET booked_quantity = s.booked_quantity + :quantity
    FROM offers o, venues v, offerers f
    WHERE s.id = :stock_id AND o.id = s.offer_id AND v.id = o.venue_id AND f.id = v.offerer_id
      AND f.status = 'VALIDATED' AND o.is_active AND s.is_active AND s.deleted_at IS NULL
      AND s.starts_at > now() AND s.booking_limit_at > now()
      AND (:quantity = 1 OR o.is_duo)
      AND (s.quantity IS NULL OR s.booked_quantity + :quantity <= s.quantity)
    RETURNING s.id
)
INSERT INTO stock_reservations (id, stock_id, quantity, status)
SELECT :reservation_id, id, :quantity, 'RESERVED' FROM reserved
RETURNING id
""")

STATUS = {"RESERVED": pb.RESERVATION_STATUS_RESERVED, "RELEASED": pb.RESERVATION_STATUS_RELEASED}


def _reservation_pb(reservation: StockReservation) -> pb.Reservation:
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


class ReservationServicer(pb_grpc.ReservationServiceServicer):
    def __init__(self, sessions: async_sessionmaker) -> None:
        self._sessions = sessions

    async def ReserveStock(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        stock_id = parse_id(request.stock_id, "STOCK_NOT_FOUND")
        if request.quantity not in (1, 2):
            raise InvalidArgument("INVALID_QUANTITY", "quantity must be 1 or 2")
        try:
            return await self._reserve(reservation_id, stock_id, request.quantity)
        except IntegrityError:
            # A concurrent call with the same id won (or released it first): answer as a retry.
            return await self._reserve(reservation_id, stock_id, request.quantity)

    async def _reserve(self, reservation_id: uuid.UUID, stock_id: uuid.UUID, quantity: int):
        async with self._sessions.begin() as session:
            existing = await session.get(StockReservation, reservation_id)
            if existing is None:
                params = {
                    "stock_id": stock_id,
                    "quantity": quantity,
                    "reservation_id": reservation_id,
                }
                if (await session.execute(RESERVE_SQL, params)).one_or_none() is None:
                    raise await _why_refused(session, stock_id, quantity)
                existing = await session.get(StockReservation, reservation_id)
            elif existing.status == "RELEASED":
                raise FailedPrecondition("RESERVATION_RELEASED", "this reservation was released")
            elif existing.stock_id != stock_id or existing.quantity != quantity:
                raise FailedPrecondition(
                    "RESERVATION_MISMATCH", "this reservation id holds another stock or quantity"
                )
        return pb.ReserveStockResponse(reservation=_reservation_pb(existing))

    async def ReleaseStock(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions.begin() as session:
            await session.execute(
                insert(StockReservation)
                .values(id=reservation_id, stock_id=None, quantity=0, status="RELEASED")
                .on_conflict_do_nothing(index_elements=["id"])
            )
            reservation = await session.scalar(
                select(StockReservation)
                .where(StockReservation.id == reservation_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if reservation.status == "RESERVED":
                await session.execute(
                    update(Stock)
                    .where(Stock.id == reservation.stock_id)
                    .values(booked_quantity=Stock.booked_quantity - reservation.quantity)
                )
                reservation.status = "RELEASED"
                reservation.released_at = datetime.now(UTC)
        return pb.ReleaseStockResponse(reservation=_reservation_pb(reservation))

    async def GetReservation(self, request, context):
        require_role("service")
        reservation_id = _reservation_id(request.reservation_id)
        async with self._sessions() as session:
            reservation = await session.get(StockReservation, reservation_id)
        if reservation is None:
            raise NotFound("RESERVATION_NOT_FOUND", "no such reservation")
        return pb.GetReservationResponse(reservation=_reservation_pb(reservation))
