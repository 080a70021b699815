"""TicketingService: a booking's tickets in its venue's ticketing system, for the booking saga
(role "service"). The row of each booking is written before the system is called and after it
answered, in separate transactions: no database transaction waits on the system."""

import uuid

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from importer import store
from importer.domain.ticketing_programme import split_reference
from importer.ticketing import Refused, SoldOut, SystemUnavailable, Ticket, bookings
from importer.ticketing.clients import TicketingClients
from passculture.importer.v1 import ticketing_service_pb2 as pb
from passculture.importer.v1 import ticketing_service_pb2_grpc as pb_grpc
from passculture.importer.v1.reasons import Reason
from pclib.auth import require_role
from pclib.errors import FailedPrecondition, Unavailable


def _tickets_pb(tickets: list[Ticket]) -> pb.BookTicketsResponse:
    return pb.BookTicketsResponse(
        tickets=[pb.ExternalTicket(barcode=t.barcode, seat=t.seat or "") for t in tickets]
    )


class TicketingServicer(pb_grpc.TicketingServiceServicer):
    def __init__(self, sessions: async_sessionmaker, clients: TicketingClients) -> None:
        self._sessions = sessions
        self._clients = clients

    async def BookTickets(
        self, request: pb.BookTicketsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BookTicketsResponse:
        require_role("service")
        attempt = bookings.Attempt(
            booking_id=uuid.UUID(request.booking_id),
            venue_id=uuid.UUID(request.venue_id),
            stock_reference=request.provider_stock_reference,
            quantity=request.quantity,
        )
        async with self._sessions.begin() as session:
            link = await store.get_link(session, attempt.venue_id)
            if link is None:
                raise FailedPrecondition(
                    Reason.TICKETING_LINK_NOT_FOUND, "the venue has no ticketing system"
                )
            known = await bookings.begin(session, attempt)
            client = self._clients.of(link)
        if known is not None:
            return _tickets_pb(known)
        showtime_ref, tariff_ref = split_reference(attempt.stock_reference)
        try:
            tickets = await client.book(showtime_ref, tariff_ref, attempt.quantity)
        except SystemUnavailable:
            raise bookings.unknown_outcome() from None
        except (SoldOut, Refused) as error:
            async with self._sessions.begin() as session:
                await bookings.failed(session, attempt.booking_id)
            if isinstance(error, SoldOut):
                raise FailedPrecondition(
                    Reason.TICKETING_SOLD_OUT, "sold out in the system"
                ) from None
            raise FailedPrecondition(Reason.TICKETING_REFUSED, str(error)) from None
        async with self._sessions.begin() as session:
            await bookings.booked(session, attempt.booking_id, tickets)
        return _tickets_pb(tickets)

    async def CancelTickets(
        self, request: pb.CancelTicketsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelTicketsResponse:
        require_role("service")
        booking_id = uuid.UUID(request.booking_id)
        async with self._sessions.begin() as session:
            row = await bookings.to_cancel(session, booking_id)
            if row is None:
                return pb.CancelTicketsResponse()
            link = await store.get_link(session, row.venue_id)
            barcodes = [ticket.barcode for ticket in bookings.tickets_of(row)]
        if link is None:
            raise FailedPrecondition(
                Reason.TICKETING_LINK_NOT_FOUND, "the venue is no longer linked to its system"
            )
        try:
            await self._clients.of(link).cancel(barcodes)
        except SystemUnavailable:
            raise Unavailable(Reason.TICKETING_UNAVAILABLE, "the system did not answer") from None
        except Refused as error:
            raise FailedPrecondition(Reason.TICKETING_REFUSED, str(error)) from None
        async with self._sessions.begin() as session:
            await bookings.cancelled(session, booking_id)
        return pb.CancelTicketsResponse()
