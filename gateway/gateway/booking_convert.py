"""Conversions between the JSON models and the booking service's protobuf messages."""

from datetime import UTC, datetime

from google.protobuf.message import Message

from gateway.schemas.beneficiaries import BeneficiaryIn, BeneficiaryOut, CreditOut
from gateway.schemas.bookings import BookerOut, BookingOut, ProBookingOut
from passculture.booking.v1 import beneficiary_service_pb2
from passculture.booking.v1 import resources_pb2 as pb

STATUS_TO_PB = {
    name.removeprefix("BOOKING_STATUS_"): value
    for name, value in pb.BookingStatus.items()
    if value != pb.BOOKING_STATUS_UNSPECIFIED
}


def _name(enum_type, value: int, prefix: str) -> str | None:
    """CANCELLATION_REASON_OFFERER → OFFERER; the UNSPECIFIED zero → None."""
    return enum_type.Name(value).removeprefix(prefix) if value else None


def _datetime(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    return getattr(message, field).ToDatetime(tzinfo=UTC)


# Beneficiaries


def sign_up_request(body: BeneficiaryIn) -> beneficiary_service_pb2.SignUpBeneficiaryRequest:
    return beneficiary_service_pb2.SignUpBeneficiaryRequest(
        **body.model_dump(exclude={"birth_date"}), birth_date=body.birth_date.isoformat()
    )


def credit_out(credit: pb.Credit) -> CreditOut:
    return CreditOut(
        initial_cents=credit.initial_cents,
        remaining_cents=credit.remaining_cents,
        expires_at=_datetime(credit, "expires_at"),
    )


def beneficiary_out(beneficiary: pb.Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(
        id=beneficiary.id,
        email=beneficiary.email,
        first_name=beneficiary.first_name,
        last_name=beneficiary.last_name,
        birth_date=beneficiary.birth_date,
        phone_number=beneficiary.phone_number,
        postal_code=beneficiary.postal_code,
        credit=credit_out(beneficiary.credit) if beneficiary.HasField("credit") else None,
    )


# Bookings


def status_name(booking: pb.Booking) -> str:
    return pb.BookingStatus.Name(booking.status).removeprefix("BOOKING_STATUS_")


def booking_out(booking: pb.Booking) -> BookingOut:
    return BookingOut(
        id=booking.id,
        countermark=booking.countermark,
        status=status_name(booking),
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        total_cents=booking.total_cents,
        offer_id=booking.offer_id,
        offer_title=booking.offer_title,
        stock_id=booking.stock_id,
        venue_id=booking.venue_id,
        venue_name=booking.venue_name,
        venue_timezone=booking.venue_timezone,
        features=list(booking.features),
        starts_at=_datetime(booking, "starts_at"),
        booked_at=_datetime(booking, "booked_at"),
        cancellation_limit_at=_datetime(booking, "cancellation_limit_at"),
        used_at=_datetime(booking, "used_at"),
        cancelled_at=_datetime(booking, "cancelled_at"),
        cancellation_reason=_name(
            pb.CancellationReason, booking.cancellation_reason, "CANCELLATION_REASON_"
        ),
        qr_payload=booking.qr_payload,
    )


def pro_booking_out(booking: pb.Booking) -> ProBookingOut:
    return ProBookingOut(
        booking_id=booking.id,
        countermark=booking.countermark,
        status=status_name(booking),
        offer_id=booking.offer_id,
        offer_title=booking.offer_title,
        stock_id=booking.stock_id,
        venue_id=booking.venue_id,
        venue_name=booking.venue_name,
        venue_timezone=booking.venue_timezone,
        starts_at=_datetime(booking, "starts_at"),
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        total_cents=booking.total_cents,
        features=list(booking.features),
        booked_at=_datetime(booking, "booked_at"),
        cancellation_limit_at=_datetime(booking, "cancellation_limit_at"),
        used_at=_datetime(booking, "used_at"),
        validated_by=_name(pb.ValidationAuthor, booking.validated_by, "VALIDATION_AUTHOR_"),
        cancelled_at=_datetime(booking, "cancelled_at"),
        cancellation_reason=_name(
            pb.CancellationReason, booking.cancellation_reason, "CANCELLATION_REASON_"
        ),
        beneficiary=BookerOut(
            first_name=booking.beneficiary_first_name,
            last_name=booking.beneficiary_last_name,
            email=booking.beneficiary_email,
        ),
    )
