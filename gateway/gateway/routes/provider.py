"""The provider API: a ticketing or management system acting for one offerer with its API key
(`Authorization: Bearer pk_…`): the offerer's bookings by showtime and the counter. Everything
outside that offerer answers like something unknown; a revoked key answers 401 at once."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway import booking_views
from gateway.dependencies import ProviderBooking
from gateway.routes.pagination import Paging, page
from gateway.routes.pro_bookings import list_request
from gateway.schemas.bookings import CountermarkUseIn, ListedStatus, ProBookingOut
from gateway.schemas.common import Page, QueryText
from passculture.booking.v1 import counter_service_pb2 as pb
from pclib.timestamps import timestamp

router = APIRouter(prefix="/v1/provider", tags=["provider"])


@router.get("/bookings")
async def list_provider_bookings(
    booking: ProviderBooking,
    paging: Paging,
    stock_id: Annotated[QueryText, Query(description="only this showtime's")] = "",
    venue_id: Annotated[QueryText, Query(description="only this venue's")] = "",
    status: Annotated[ListedStatus | None, Query(description="only bookings in this status")] = (
        None
    ),
) -> Page[ProBookingOut]:
    """The bookings of the key's offerer, newest first, by showtime (`stock_id`) or venue."""
    reply = await booking.counter.ListProBookings(
        list_request(venue_id, status, paging.page_size, paging.page_token, stock_id)
    )
    return page(map(booking_views.pro_booking_out, reply.bookings), reply.next_page_token)


@router.get("/countermarks/{countermark}")
async def provider_get_countermark(countermark: str, booking: ProviderBooking) -> ProBookingOut:
    """The booking of this countermark, if it may be validated now (as the counter's)."""
    reply = await booking.counter.GetCountermark(pb.GetCountermarkRequest(countermark=countermark))
    return booking_views.pro_booking_out(reply.booking)


@router.post("/countermarks/{countermark}/use")
async def provider_use_countermark(
    countermark: str, booking: ProviderBooking, body: CountermarkUseIn | None = None
) -> ProBookingOut:
    """Validates the booking (as the counter's `use`)."""
    request = pb.UseCountermarkRequest(countermark=countermark)
    if body is not None and body.validated_at is not None:
        request.validated_at.CopyFrom(timestamp(body.validated_at))
    reply = await booking.counter.UseCountermark(request)
    return booking_views.pro_booking_out(reply.booking)


@router.post("/countermarks/{countermark}/unuse")
async def provider_unuse_countermark(countermark: str, booking: ProviderBooking) -> ProBookingOut:
    """Cancels a validation (as the counter's `unuse`)."""
    reply = await booking.counter.UnuseCountermark(
        pb.UnuseCountermarkRequest(countermark=countermark)
    )
    return booking_views.pro_booking_out(reply.booking)
