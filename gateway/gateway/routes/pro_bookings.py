"""The bookings of a pro's venues (booking CounterService.ListProBookings), as JSON pages or,
with `Accept: text/csv`, as one CSV export of every page."""

import logging
from collections.abc import AsyncIterator
from typing import Annotated

import grpc
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from gateway import booking_views, csv_export
from gateway.dependencies import ProBooking
from gateway.routes.pagination import Paging, page
from gateway.schemas.bookings import ListedStatus, ProBookingOut
from gateway.schemas.common import Page, QueryText
from gateway.upstreams import Booking
from passculture.booking.v1 import counter_service_pb2 as pb
from passculture.booking.v1 import resources_pb2
from pclib.pagination import MAX_PAGE_SIZE

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/pro/bookings", tags=["pro bookings"])

# Bookings fetched per call while exporting CSV (the largest page the service gives).
CSV_PAGE_SIZE = MAX_PAGE_SIZE


def list_request(
    venue_id: str, status: ListedStatus | None, size: int, token: str, stock_id: str = ""
) -> pb.ListProBookingsRequest:
    return pb.ListProBookingsRequest(
        venue_id=venue_id,
        stock_id=stock_id,
        status=booking_views.STATUSES[status]
        if status
        else resources_pb2.BOOKING_STATUS_UNSPECIFIED,
        page_size=size,
        page_token=token,
    )


@router.get(
    "",
    response_model=Page[ProBookingOut],  # or CSV: the function's type says both
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A page of bookings, or with `Accept: text/csv` all of them as CSV",
        }
    },
)
async def list_pro_bookings(
    booking: ProBooking,
    paging: Paging,
    venue_id: Annotated[QueryText, Query(description="only this venue's")] = "",
    status: Annotated[ListedStatus | None, Query(description="only bookings in this status")] = (
        None
    ),
    accept: Annotated[str, Header(include_in_schema=False)] = "",
) -> Page[ProBookingOut] | StreamingResponse:
    """The bookings of the venues of the caller's offerers, newest first."""
    if csv_export.wants_csv(accept):
        return await _csv_export(booking, venue_id, status)
    reply = await booking.counter.ListProBookings(
        list_request(venue_id, status, paging.page_size, paging.page_token)
    )
    return page(map(booking_views.pro_booking_out, reply.bookings), reply.next_page_token)


async def _csv_export(
    booking: Booking, venue_id: str, status: ListedStatus | None
) -> StreamingResponse:
    # The first page is asked before answering: a refusal is still a problem+json.
    first = await booking.counter.ListProBookings(list_request(venue_id, status, CSV_PAGE_SIZE, ""))

    async def lines() -> AsyncIterator[str]:
        reply = first
        yield csv_export.header()
        while True:
            rows = [csv_export.row(booking_views.pro_booking_out(item)) for item in reply.bookings]
            yield csv_export.csv_lines(rows)
            if not reply.next_page_token:
                return
            try:
                reply = await booking.counter.ListProBookings(
                    list_request(venue_id, status, CSV_PAGE_SIZE, reply.next_page_token)
                )
            except grpc.aio.AioRpcError as error:
                # The answer has begun: breaking the connection tells the client it is truncated.
                log.error("CSV export interrupted", extra={"grpc_code": error.code().name})
                raise

    return StreamingResponse(
        lines(),
        media_type=csv_export.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="bookings.csv"'},
    )
