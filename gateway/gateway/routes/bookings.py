"""A young person's bookings (booking BookingService): each sees and cancels only their own."""

from fastapi import APIRouter, Response

from gateway import booking_views
from gateway.dependencies import BeneficiaryBooking
from gateway.qr import SVG_MEDIA_TYPE, qr_svg
from gateway.routes.pagination import Paging, page
from gateway.schemas.bookings import BookingIn, BookingOut
from gateway.schemas.common import Page
from passculture.booking.v1 import booking_service_pb2 as pb

router = APIRouter(prefix="/v1/bookings", tags=["bookings"])


@router.post("", status_code=201)
async def create_booking(body: BookingIn, booking: BeneficiaryBooking) -> BookingOut:
    """Books `quantity` places of a showtime; an `Idempotency-Key` makes a retry safe."""
    reply = await booking.bookings.CreateBooking(
        pb.CreateBookingRequest(stock_id=body.stock_id, quantity=body.quantity)
    )
    return booking_views.booking_out(reply.booking)


@router.get("")
async def list_my_bookings(booking: BeneficiaryBooking, paging: Paging) -> Page[BookingOut]:
    """The caller's bookings, newest first."""
    reply = await booking.bookings.ListMyBookings(
        pb.ListMyBookingsRequest(page_size=paging.page_size, page_token=paging.page_token)
    )
    return page(map(booking_views.booking_out, reply.bookings), reply.next_page_token)


@router.get("/{booking_id}")
async def get_my_booking(booking_id: str, booking: BeneficiaryBooking) -> BookingOut:
    reply = await booking.bookings.GetMyBooking(pb.GetMyBookingRequest(booking_id=booking_id))
    return booking_views.booking_out(reply.booking)


@router.get(
    "/{booking_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {SVG_MEDIA_TYPE: {}}, "description": "The ticket's QR code"}},
)
async def get_my_booking_qr(booking_id: str, booking: BeneficiaryBooking) -> Response:
    """The QR code of the ticket: it encodes the signed ticket `signed_qr_payload`
    (`PASSCULTURE:v4;<JWS>`); the countermark is printed beneath it, to be typed."""
    reply = await booking.bookings.GetMyBooking(pb.GetMyBookingRequest(booking_id=booking_id))
    countermark = reply.booking.countermark
    svg = qr_svg(reply.booking.signed_qr_payload, countermark, f"pass Culture {countermark}")
    return Response(svg, media_type=SVG_MEDIA_TYPE, headers={"Cache-Control": "private"})


@router.post("/{booking_id}/cancel")
async def cancel_my_booking(booking_id: str, booking: BeneficiaryBooking) -> BookingOut:
    """Allowed until the booking's `cancellation_limit_at`; the seats go back to the showtime."""
    reply = await booking.bookings.CancelMyBooking(pb.CancelMyBookingRequest(booking_id=booking_id))
    return booking_views.booking_out(reply.booking)
