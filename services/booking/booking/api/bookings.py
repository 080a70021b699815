"""BookingService: a beneficiary's own bookings. Anyone else's booking is answered exactly like
an unknown one (BOOKING_NOT_FOUND)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.api.beneficiaries import require_beneficiary
from booking.api.convert import booking_facts, booking_pb, timestamp
from booking.domain import rules
from booking.models import Beneficiary, Booking, Venue
from booking.saga import BookingSaga, BookingView
from passculture.booking.v1 import booking_service_pb2 as pb
from passculture.booking.v1 import booking_service_pb2_grpc as pb_grpc
from passculture.booking.v1 import events_pb2
from pclib.errors import NotFound
from pclib.idempotency import key_of
from pclib.outbox import add_event
from pclib.pagination import decode_token, next_token, page_size

# What a young person sees in their list: PENDING ones are being settled, FAILED ones never were.
LISTED_STATUSES = ("CONFIRMED", "USED", "REIMBURSED", "CANCELLED")


def _mine(beneficiary_id: uuid.UUID) -> Select:
    return (
        select(Booking, Beneficiary, Venue)
        .join(Beneficiary, Beneficiary.id == Booking.beneficiary_id)
        .join(Venue, Venue.id == Booking.venue_id)
        .where(Booking.beneficiary_id == beneficiary_id)
    )


def _not_found() -> NotFound:
    return NotFound("BOOKING_NOT_FOUND", "booking not found")


async def _get_mine(
    session: AsyncSession, beneficiary_id: uuid.UUID, booking_id: str, *, for_update: bool = False
) -> BookingView:
    try:
        bid = uuid.UUID(booking_id)
    except ValueError:
        raise _not_found() from None
    query = _mine(beneficiary_id).where(Booking.id == bid)
    if for_update:
        query = query.with_for_update(of=Booking)
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise _not_found()
    return row.Booking, row.Beneficiary, row.Venue


class BookingServicer(pb_grpc.BookingServiceServicer):
    def __init__(self, sessions: async_sessionmaker, saga: BookingSaga) -> None:
        self._sessions = sessions
        self._saga = saga

    async def CreateBooking(self, request, context):
        beneficiary_id = require_beneficiary()
        view = await self._saga.create(
            beneficiary_id, request.stock_id, request.quantity, key_of(context)
        )
        return pb.CreateBookingResponse(booking=booking_pb(*view))

    async def ListMyBookings(self, request, context):
        beneficiary_id = require_beneficiary()
        size = page_size(request.page_size)
        offset = decode_token(request.page_token)
        query = (
            _mine(beneficiary_id)
            .where(Booking.status.in_(LISTED_STATUSES))
            .order_by(Booking.booked_at.desc(), Booking.id.desc())
            .offset(offset)
            .limit(size + 1)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return pb.ListMyBookingsResponse(
            bookings=[booking_pb(*row) for row in rows[:size]],
            next_page_token=next_token(offset, size, len(rows)),
        )

    async def GetMyBooking(self, request, context):
        beneficiary_id = require_beneficiary()
        async with self._sessions() as session:
            view = await _get_mine(session, beneficiary_id, request.booking_id)
        return pb.GetMyBookingResponse(booking=booking_pb(*view))

    async def CancelMyBooking(self, request, context):
        beneficiary_id = require_beneficiary()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            # Locked: a concurrent validation at the counter waits, then sees it cancelled.
            booking, beneficiary, venue = await _get_mine(
                session, beneficiary_id, request.booking_id, for_update=True
            )
            rules.check_cancellable(booking.status, booking.cancellation_limit_at, now)
            booking.status = "CANCELLED"
            booking.cancellation_reason = "BENEFICIARY"
            booking.cancelled_at = now
            # The catalog frees the seats when it receives this event.
            event = events_pb2.BookingCancelled(
                booking=booking_facts(booking, venue),
                cancelled_at=timestamp(now),
                reason="BENEFICIARY",
            )
            await add_event(session, "booking.cancelled", event)
        return pb.CancelMyBookingResponse(booking=booking_pb(booking, beneficiary, venue))
