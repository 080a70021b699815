"""BookingService: a beneficiary's own bookings. Anyone else's booking is answered exactly like
an unknown one (BOOKING_NOT_FOUND)."""

import uuid
from datetime import UTC, datetime

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking import events, external_tickets, lifecycle, queries
from booking.api.access import require_beneficiary
from booking.api.convert import booking_pb
from booking.domain import rules
from booking.models import Booking
from booking.queries import BookingView
from booking.saga import BookingSaga
from booking.ticketing_client import TicketingClient
from booking.tickets import TicketKeys
from passculture.booking.v1 import booking_service_pb2 as pb
from passculture.booking.v1 import booking_service_pb2_grpc as pb_grpc
from passculture.booking.v1 import resources_pb2 as res
from passculture.booking.v1.reasons import Reason
from pclib.errors import NotFound
from pclib.idempotency import key_of
from pclib.pagination import decode_token, next_token, page_size


def _not_found() -> NotFound:
    return NotFound(Reason.BOOKING_NOT_FOUND, "booking not found")


async def _get_mine(
    session: AsyncSession, beneficiary_id: uuid.UUID, booking_id: str, *, for_update: bool = False
) -> BookingView:
    try:
        bid = uuid.UUID(booking_id)
    except ValueError:
        raise _not_found() from None
    query = queries.of_beneficiary(beneficiary_id).where(Booking.id == bid)
    if for_update:
        query = query.with_for_update(of=Booking)
    view = await queries.one(session, query)
    if view is None:
        raise _not_found()
    return view


class BookingServicer(pb_grpc.BookingServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        saga: BookingSaga,
        tickets: TicketKeys,
        ticketing: TicketingClient,
    ) -> None:
        self._sessions = sessions
        self._saga = saga
        self._tickets = tickets
        self._ticketing = ticketing

    def _ticket(self, view: BookingView) -> res.Booking:
        """The booking as its young person sees it: with the signed ticket."""
        return booking_pb(*view, signed_qr_payload=self._tickets.signed_qr_payload(view.booking))

    async def CreateBooking(
        self, request: pb.CreateBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateBookingResponse:
        beneficiary_id = require_beneficiary()
        view = await self._saga.create(
            beneficiary_id, request.stock_id, request.quantity, key_of(context)
        )
        return pb.CreateBookingResponse(booking=self._ticket(view))

    async def ListMyBookings(
        self, request: pb.ListMyBookingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMyBookingsResponse:
        beneficiary_id = require_beneficiary()
        size = page_size(request.page_size)
        offset = decode_token(request.page_token)
        query = (
            queries.of_beneficiary(beneficiary_id)
            .where(Booking.status.in_(queries.LISTED_FOR_BENEFICIARIES))
            .order_by(Booking.booked_at.desc(), Booking.id.desc())
            .offset(offset)
            .limit(size + 1)
        )
        async with self._sessions() as session:
            views = await queries.many(session, query)
        return pb.ListMyBookingsResponse(
            bookings=[self._ticket(view) for view in views[:size]],
            next_page_token=next_token(offset, size, len(views)),
        )

    async def GetMyBooking(
        self, request: pb.GetMyBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMyBookingResponse:
        beneficiary_id = require_beneficiary()
        async with self._sessions() as session:
            view = await _get_mine(session, beneficiary_id, request.booking_id)
        return pb.GetMyBookingResponse(booking=self._ticket(view))

    async def CancelMyBooking(
        self, request: pb.CancelMyBookingRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelMyBookingResponse:
        beneficiary_id = require_beneficiary()
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            # Locked: a concurrent validation at the counter waits, then sees it cancelled.
            view = await _get_mine(session, beneficiary_id, request.booking_id, for_update=True)
            booking = view.booking
            rules.check_cancellable(booking.status, booking.cancellation_limit_at, now)
            await external_tickets.cancel_now(self._ticketing, booking)
            # The catalog frees the seats when it receives the event.
            cancelled = await lifecycle.cancel(session, view.booking, view.venue, now)
            await events.record(session, cancelled)
        return pb.CancelMyBookingResponse(booking=self._ticket(view))
