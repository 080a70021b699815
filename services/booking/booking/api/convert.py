"""The booking service's rows as the protobuf messages of its API."""

from booking import models
from booking.domain.countermark import qr_payload
from booking.domain.status import BookingStatus, CancellationReason, ValidationAuthor
from passculture.booking.v1 import resources_pb2 as pb
from pclib.timestamps import optional_timestamp, timestamp

STATUS_TO_PB = {
    BookingStatus.PENDING: pb.BOOKING_STATUS_PENDING,
    BookingStatus.CONFIRMED: pb.BOOKING_STATUS_CONFIRMED,
    BookingStatus.USED: pb.BOOKING_STATUS_USED,
    BookingStatus.REIMBURSED: pb.BOOKING_STATUS_REIMBURSED,
    BookingStatus.CANCELLED: pb.BOOKING_STATUS_CANCELLED,
    BookingStatus.FAILED: pb.BOOKING_STATUS_FAILED,
}
STATUS_FROM_PB = {value: key for key, value in STATUS_TO_PB.items()}
REASON_TO_PB = {
    CancellationReason.BENEFICIARY: pb.CANCELLATION_REASON_BENEFICIARY,
    CancellationReason.OFFERER: pb.CANCELLATION_REASON_OFFERER,
}
AUTHOR_TO_PB = {
    ValidationAuthor.OFFERER: pb.VALIDATION_AUTHOR_OFFERER,
    ValidationAuthor.AUTO: pb.VALIDATION_AUTHOR_AUTO,
}


def credit_pb(credit: models.Credit, remaining_cents: int) -> pb.Credit:
    return pb.Credit(
        initial_cents=credit.initial_cents,
        remaining_cents=remaining_cents,
        expires_at=timestamp(credit.expires_at),
    )


def beneficiary_pb(beneficiary: models.Beneficiary, credit: pb.Credit | None) -> pb.Beneficiary:
    return pb.Beneficiary(
        id=str(beneficiary.id),
        email=beneficiary.email,
        first_name=beneficiary.first_name,
        last_name=beneficiary.last_name,
        birth_date=beneficiary.birth_date.isoformat(),
        phone_number=beneficiary.phone_number,
        postal_code=beneficiary.postal_code,
        credit=credit,
    )


def booking_pb(
    booking: models.Booking,
    beneficiary: models.Beneficiary,
    venue: models.Venue,
    signed_qr_payload: str = "",
) -> pb.Booking:
    """`signed_qr_payload`: the signed ticket, for the young person's answers only."""
    return pb.Booking(
        id=str(booking.id),
        beneficiary_id=str(booking.beneficiary_id),
        countermark=booking.countermark,
        status=STATUS_TO_PB[booking.status],
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        price_category_label=booking.price_category_label,
        total_cents=booking.total_cents,
        offer_id=str(booking.offer_id),
        offer_title=booking.offer_title,
        stock_id=str(booking.stock_id),
        venue_id=str(booking.venue_id),
        venue_name=venue.name,
        venue_timezone=venue.timezone,
        offerer_id=str(booking.offerer_id),
        starts_at=timestamp(booking.starts_at),
        booked_at=timestamp(booking.booked_at),
        cancellation_limit_at=timestamp(booking.cancellation_limit_at),
        used_at=optional_timestamp(booking.used_at),
        cancelled_at=optional_timestamp(booking.cancelled_at),
        cancellation_reason=(
            REASON_TO_PB[booking.cancellation_reason] if booking.cancellation_reason else None
        ),
        validated_by=AUTHOR_TO_PB[booking.validated_by] if booking.validated_by else None,
        features=booking.features,
        qr_payload=qr_payload(booking.countermark),
        beneficiary_first_name=beneficiary.first_name,
        beneficiary_last_name=beneficiary.last_name,
        beneficiary_email=beneficiary.email,
        signed_qr_payload=signed_qr_payload,
        external_tickets=[
            pb.ExternalTicket(barcode=barcode, seat=seat) for barcode, seat in booking.tickets
        ],
    )
