"""TicketingService: a booking's tickets in its venue's ticketing system, for the booking saga
(role "service"). The row of each booking is written before the system is called and after it
answered, in separate transactions: no database transaction waits on the system. The call and
the recording of its answer outlive a caller that gave up (ticketing.calls_under_way)."""

import logging
import uuid

import grpc
from sqlalchemy.ext.asyncio import async_sessionmaker

from importer import metrics, store
from importer.domain.ticketing_programme import split_reference
from importer.models import TicketingLink
from importer.ticketing import (
    Refused,
    SoldOut,
    SystemUnavailable,
    Ticket,
    TicketingClient,
    bookings,
)
from importer.ticketing.calls_under_way import CallsUnderWay, Interrupted
from importer.ticketing.clients import TicketingClients
from passculture.importer.v1 import ticketing_service_pb2 as pb
from passculture.importer.v1 import ticketing_service_pb2_grpc as pb_grpc
from passculture.importer.v1.reasons import Reason
from pclib.auth import require_role
from pclib.errors import FailedPrecondition, Unavailable

log = logging.getLogger(__name__)


def _tickets_pb(tickets: list[Ticket]) -> pb.BookTicketsResponse:
    return pb.BookTicketsResponse(
        tickets=[pb.ExternalTicket(barcode=t.barcode, seat=t.seat or "") for t in tickets]
    )


class TicketingServicer(pb_grpc.TicketingServiceServicer):
    def __init__(
        self, sessions: async_sessionmaker, clients: TicketingClients, calls: CallsUnderWay
    ) -> None:
        self._sessions = sessions
        self._clients = clients
        self._calls = calls

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
        try:
            return _tickets_pb(await self._calls.shielded(self._book(client, attempt)))
        except Interrupted:  # the service is stopping: the row stays BOOKING
            raise bookings.unknown_outcome() from None

    async def _book(self, client: TicketingClient, attempt: bookings.Attempt) -> list[Ticket]:
        """The system's booking and the recording of its outcome, whoever still waits for it."""
        showtime_ref, tariff_ref = split_reference(attempt.stock_reference)
        try:
            tickets = await client.book(showtime_ref, tariff_ref, attempt.quantity)
        except SystemUnavailable:
            async with self._sessions.begin() as session:
                await bookings.uncertain(session, attempt.booking_id)
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
            recorded = await bookings.booked(session, attempt.booking_id, tickets)
        if not recorded:  # cancelled meanwhile, the call taken for abandoned
            await _cancel_orphans(client, attempt, tickets)
            raise FailedPrecondition(
                Reason.TICKETS_CANCELLED, "this booking's tickets were cancelled"
            )
        return tickets

    async def CancelTickets(
        self, request: pb.CancelTicketsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelTicketsResponse:
        require_role("service")
        booking_id = uuid.UUID(request.booking_id)
        async with self._sessions.begin() as session:
            cancellation = await bookings.to_cancel(session, booking_id)
            if cancellation is None:
                return pb.CancelTicketsResponse()
            link = await store.get_link(session, cancellation.venue_id)
        if cancellation.uncertain:
            _report_tickets_without_barcode(booking_id, cancellation.venue_id, link)
            return pb.CancelTicketsResponse()
        if link is None:
            raise FailedPrecondition(
                Reason.TICKETING_LINK_NOT_FOUND, "the venue is no longer linked to its system"
            )
        try:
            await self._clients.of(link).cancel(cancellation.barcodes)
        except SystemUnavailable:
            raise Unavailable(Reason.TICKETING_UNAVAILABLE, "the system did not answer") from None
        except Refused as error:
            raise FailedPrecondition(Reason.TICKETING_REFUSED, str(error)) from None
        async with self._sessions.begin() as session:
            await bookings.cancelled(session, booking_id)
        return pb.CancelTicketsResponse()


def _report_tickets_without_barcode(
    booking_id: uuid.UUID, venue_id: uuid.UUID, link: TicketingLink | None
) -> None:
    """Nothing can be cancelled in the system without a barcode: someone must ask the cinema."""
    system = str(link.system) if link is not None else "unknown"
    log.error(
        "tickets may exist in the system without their barcode: check with the cinema",
        extra={"booking_id": str(booking_id), "venue_id": str(venue_id), "system": system},
    )
    metrics.TICKETS_WITHOUT_BARCODE.labels(system).inc()


async def _cancel_orphans(
    client: TicketingClient, attempt: bookings.Attempt, tickets: list[Ticket]
) -> None:
    """Tickets issued after their booking was cancelled: nobody else will ever cancel them."""
    try:
        await client.cancel([ticket.barcode for ticket in tickets])
    except (SystemUnavailable, Refused) as error:
        log.error(
            "tickets issued after their booking was cancelled could not be cancelled: "
            "check with the cinema",
            extra={
                "booking_id": str(attempt.booking_id),
                "venue_id": str(attempt.venue_id),
                "barcodes": [ticket.barcode for ticket in tickets],
                "error": str(error),
            },
        )
