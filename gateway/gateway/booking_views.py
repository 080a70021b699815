"""The booking service's answers as JSON models, and the JSON bodies as its requests."""

from collections.abc import Mapping
from datetime import date
from typing import TypeVar

from gateway.proto_fields import instant, optional_instant
from gateway.schemas.beneficiaries import BeneficiaryIn, BeneficiaryOut, CreditOut
from gateway.schemas.bookings import (
    BookerOut,
    BookingOut,
    BookingStatus,
    CancellationReason,
    ExternalTicketOut,
    ProBookingOut,
    ValidationAuthor,
)
from gateway.schemas.common import Feature
from passculture.booking.v1 import beneficiary_service_pb2
from passculture.booking.v1 import resources_pb2 as pb

STATUS_NAMES: Mapping[pb.BookingStatus, BookingStatus] = {
    pb.BOOKING_STATUS_PENDING: "PENDING",
    pb.BOOKING_STATUS_CONFIRMED: "CONFIRMED",
    pb.BOOKING_STATUS_USED: "USED",
    pb.BOOKING_STATUS_REIMBURSED: "REIMBURSED",
    pb.BOOKING_STATUS_CANCELLED: "CANCELLED",
    pb.BOOKING_STATUS_FAILED: "FAILED",
}
STATUSES = {name: value for value, name in STATUS_NAMES.items()}
# The zero (UNSPECIFIED) of these two enums is JSON null.
CANCELLATION_REASON_NAMES: Mapping[pb.CancellationReason, CancellationReason] = {
    pb.CANCELLATION_REASON_BENEFICIARY: "BENEFICIARY",
    pb.CANCELLATION_REASON_OFFERER: "OFFERER",
}
VALIDATION_AUTHOR_NAMES: Mapping[pb.ValidationAuthor, ValidationAuthor] = {
    pb.VALIDATION_AUTHOR_OFFERER: "OFFERER",
    pb.VALIDATION_AUTHOR_AUTO: "AUTO",
}
# The booking service names a showtime's features (the catalog's enum, by name).
FEATURES_BY_NAME: Mapping[str, Feature] = {"VF": "VF", "VO": "VO", "3D": "3D"}

Value = TypeVar("Value", bound=int)
Name = TypeVar("Name", bound=str)


def _name_or_none(names: Mapping[Value, Name], value: Value) -> Name | None:
    """CANCELLATION_REASON_OFFERER → OFFERER; the UNSPECIFIED zero → None."""
    return names[value] if value else None


# Beneficiaries


def sign_up_request(body: BeneficiaryIn) -> beneficiary_service_pb2.SignUpBeneficiaryRequest:
    return beneficiary_service_pb2.SignUpBeneficiaryRequest(
        **body.model_dump(exclude={"birth_date"}), birth_date=body.birth_date.isoformat()
    )


def credit_out(credit: pb.Credit) -> CreditOut:
    return CreditOut(
        initial_cents=credit.initial_cents,
        remaining_cents=credit.remaining_cents,
        expires_at=instant(credit, "expires_at"),
    )


def beneficiary_out(beneficiary: pb.Beneficiary) -> BeneficiaryOut:
    return BeneficiaryOut(
        id=beneficiary.id,
        email=beneficiary.email,
        first_name=beneficiary.first_name,
        last_name=beneficiary.last_name,
        birth_date=date.fromisoformat(beneficiary.birth_date),
        phone_number=beneficiary.phone_number,
        postal_code=beneficiary.postal_code,
        credit=credit_out(beneficiary.credit) if beneficiary.HasField("credit") else None,
    )


# Bookings


def booking_out(booking: pb.Booking) -> BookingOut:
    return BookingOut(
        id=booking.id,
        countermark=booking.countermark,
        status=STATUS_NAMES[booking.status],
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        price_category_label=booking.price_category_label,
        total_cents=booking.total_cents,
        offer_id=booking.offer_id,
        offer_title=booking.offer_title,
        stock_id=booking.stock_id,
        venue_id=booking.venue_id,
        venue_name=booking.venue_name,
        venue_timezone=booking.venue_timezone,
        features=[FEATURES_BY_NAME[name] for name in booking.features],
        starts_at=instant(booking, "starts_at"),
        booked_at=instant(booking, "booked_at"),
        cancellation_limit_at=instant(booking, "cancellation_limit_at"),
        used_at=optional_instant(booking, "used_at"),
        cancelled_at=optional_instant(booking, "cancelled_at"),
        cancellation_reason=_name_or_none(CANCELLATION_REASON_NAMES, booking.cancellation_reason),
        qr_payload=booking.qr_payload,
        signed_qr_payload=booking.signed_qr_payload,
        external_tickets=external_tickets_out(booking),
    )


def external_tickets_out(booking: pb.Booking) -> list[ExternalTicketOut]:
    return [ExternalTicketOut(barcode=t.barcode, seat=t.seat) for t in booking.external_tickets]


def pro_booking_out(booking: pb.Booking) -> ProBookingOut:
    return ProBookingOut(
        booking_id=booking.id,
        countermark=booking.countermark,
        status=STATUS_NAMES[booking.status],
        offer_id=booking.offer_id,
        offer_title=booking.offer_title,
        stock_id=booking.stock_id,
        venue_id=booking.venue_id,
        venue_name=booking.venue_name,
        venue_timezone=booking.venue_timezone,
        starts_at=instant(booking, "starts_at"),
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        price_category_label=booking.price_category_label,
        total_cents=booking.total_cents,
        features=[FEATURES_BY_NAME[name] for name in booking.features],
        booked_at=instant(booking, "booked_at"),
        cancellation_limit_at=instant(booking, "cancellation_limit_at"),
        used_at=optional_instant(booking, "used_at"),
        validated_by=_name_or_none(VALIDATION_AUTHOR_NAMES, booking.validated_by),
        cancelled_at=optional_instant(booking, "cancelled_at"),
        cancellation_reason=_name_or_none(CANCELLATION_REASON_NAMES, booking.cancellation_reason),
        beneficiary=BookerOut(
            first_name=booking.beneficiary_first_name,
            last_name=booking.beneficiary_last_name,
            email=booking.beneficiary_email,
        ),
        external_tickets=external_tickets_out(booking),
    )
