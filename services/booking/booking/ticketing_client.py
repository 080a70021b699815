"""The import service's TicketingService, as the booking saga sees it: a booking's tickets in
its venue's ticketing system, booked and cancelled (both idempotent on the booking id)."""

import uuid
from dataclasses import dataclass

import grpc

from booking.models import Beneficiary, Booking
from passculture.booking.v1.reasons import Reason
from passculture.importer.v1 import ticketing_service_pb2 as pb
from passculture.importer.v1 import ticketing_service_pb2_grpc as pb_grpc
from passculture.importer.v1.reasons import Reason as ImporterReason
from pclib.auth import ServiceToken, TokenIssuer
from pclib.errors import Unavailable
from pclib.grpc_client import error_info

SERVICE_NAME = "booking"
TOKEN_TTL_SECONDS = 600
# The system's refusals as the booking answers them (any other: the showtime cannot be booked).
REFUSALS: dict[str, Reason] = {ImporterReason.TICKETING_SOLD_OUT: Reason.SOLD_OUT}


@dataclass(frozen=True)
class ExternalTicket:
    barcode: str
    seat: str


class TicketsRefused(Exception):
    """The system (or the import service) said no for good: sold out, refused, not linked."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


UNAVAILABLE_MESSAGE = "the cinema's ticketing system did not answer, try again later"


def ticketing_unavailable() -> Unavailable:
    return Unavailable(Reason.TICKETING_UNAVAILABLE, UNAVAILABLE_MESSAGE)


class TicketingClient:
    def __init__(self, channel: grpc.aio.Channel, issuer: TokenIssuer, timeout: float) -> None:
        self._stub = pb_grpc.TicketingServiceStub(channel)
        self._token = ServiceToken(issuer, SERVICE_NAME, TOKEN_TTL_SECONDS)
        self._timeout = timeout

    async def book(self, booking: Booking, beneficiary: Beneficiary) -> list[ExternalTicket]:
        """The booking's tickets; raises TicketsRefused, or grpc.aio.AioRpcError when the
        outcome is unknown (the system failed or did not answer in time)."""
        assert booking.ticketing_reference is not None
        request = pb.BookTicketsRequest(
            booking_id=str(booking.id),
            venue_id=str(booking.venue_id),
            provider_stock_reference=booking.ticketing_reference,
            quantity=booking.quantity,
            first_name=beneficiary.first_name,
            last_name=beneficiary.last_name,
            email=beneficiary.email,
        )
        try:
            reply = await self._stub.BookTickets(
                request, metadata=self._token.metadata(), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
                info = error_info(error)
                reason = REFUSALS.get(info.reason, Reason.NOT_BOOKABLE)
                raise TicketsRefused(reason, info.message) from error
            raise
        return [ExternalTicket(ticket.barcode, ticket.seat) for ticket in reply.tickets]

    async def cancel(self, booking_id: uuid.UUID) -> None:
        """Cancels the booking's tickets in the system (none booked yet: never will be);
        raises grpc.aio.AioRpcError when that could not be done now."""
        await self._stub.CancelTickets(
            pb.CancelTicketsRequest(booking_id=str(booking_id)),
            metadata=self._token.metadata(),
            timeout=self._timeout,
        )
