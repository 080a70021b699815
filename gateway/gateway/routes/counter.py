"""The counter ("guichet"): a pro checks, validates or un-validates a countermark.

`{countermark}`: a countermark (any case, spaces ignored) or a ticket's QR payload (v3, or v4
signed: a forged one is an unknown countermark). Another offerer's booking answers exactly like
an unknown countermark (404); repeated wrong countermarks from one account are throttled (429
with Retry-After).
"""

from fastapi import APIRouter

from gateway import booking_views
from gateway.dependencies import ProBooking
from gateway.schemas.bookings import CountermarkUseIn, ProBookingOut
from passculture.booking.v1 import counter_service_pb2 as pb
from pclib.timestamps import timestamp

router = APIRouter(prefix="/v1/pro/countermarks", tags=["counter"])


@router.get("/{countermark}")
async def get_countermark(countermark: str, booking: ProBooking) -> ProBookingOut:
    """The booking of this countermark (any case), if it may be validated now."""
    reply = await booking.counter.GetCountermark(pb.GetCountermarkRequest(countermark=countermark))
    return booking_views.pro_booking_out(reply.booking)


@router.post("/{countermark}/use")
async def use_countermark(
    countermark: str, booking: ProBooking, body: CountermarkUseIn | None = None
) -> ProBookingOut:
    """Validates the booking: `status: "USED"`. A validation made offline is synced with its
    `validated_at`; a ticket already used answers 410 `BOOKING_ALREADY_USED` with the first
    `used_at`."""
    request = pb.UseCountermarkRequest(countermark=countermark)
    if body is not None and body.validated_at is not None:
        request.validated_at.CopyFrom(timestamp(body.validated_at))
    reply = await booking.counter.UseCountermark(request)
    return booking_views.pro_booking_out(reply.booking)


@router.post("/{countermark}/unuse")
async def unuse_countermark(countermark: str, booking: ProBooking) -> ProBookingOut:
    """Cancels a validation: back to `status: "CONFIRMED"` (refused once reimbursed)."""
    reply = await booking.counter.UnuseCountermark(
        pb.UnuseCountermarkRequest(countermark=countermark)
    )
    return booking_views.pro_booking_out(reply.booking)
