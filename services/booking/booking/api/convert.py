"""Conversions between the booking service's rows and its protobuf messages."""

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from booking import models
from booking.domain.countermark import qr_payload
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import resources_pb2 as pb

STATUS_TO_PB = {
    "PENDING": pb.BOOKING_STATUS_PENDING,
    "CONFIRMED": pb.BOOKING_STATUS_CONFIRMED,
    "USED": pb.BOOKING_STATUS_USED,
    "REIMBURSED": pb.BOOKING_STATUS_REIMBURSED,
    "CANCELLED": pb.BOOKING_STATUS_CANCELLED,
    "FAILED": pb.BOOKING_STATUS_FAILED,
}
STATUS_FROM_PB = {value: key for key, value in STATUS_TO_PB.items()}
REASON_TO_PB = {
    "BENEFICIARY": pb.CANCELLATION_REASON_BENEFICIARY,
    "OFFERER": pb.CANCELLATION_REASON_OFFERER,
}
AUTHOR_TO_PB = {"OFFERER": pb.VALIDATION_AUTHOR_OFFERER, "AUTO": pb.VALIDATION_AUTHOR_AUTO}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _optional_timestamp(value: datetime | None) -> Timestamp | None:
    return timestamp(value) if value is not None else None


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
    booking: models.Booking, beneficiary: models.Beneficiary, venue: models.Venue
) -> pb.Booking:
    return pb.Booking(
        id=str(booking.id),
        beneficiary_id=str(booking.beneficiary_id),
        countermark=booking.countermark,
        status=STATUS_TO_PB[booking.status],
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
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
        used_at=_optional_timestamp(booking.used_at),
        cancelled_at=_optional_timestamp(booking.cancelled_at),
        cancellation_reason=REASON_TO_PB.get(booking.cancellation_reason or "", 0),
        validated_by=AUTHOR_TO_PB.get(booking.validated_by or "", 0),
        features=booking.features,
        qr_payload=qr_payload(booking.countermark),
        beneficiary_first_name=beneficiary.first_name,
        beneficiary_last_name=beneficiary.last_name,
        beneficiary_email=beneficiary.email,
    )


def booking_facts(booking: models.Booking, venue: models.Venue) -> events_pb2.BookingFacts:
    """What every booking event carries (what payments needs to price and pay)."""
    return events_pb2.BookingFacts(
        booking_id=str(booking.id),
        stock_id=str(booking.stock_id),
        offer_id=str(booking.offer_id),
        venue_id=str(booking.venue_id),
        offerer_id=str(booking.offerer_id),
        offerer_siren=venue.offerer_siren,
        venue_siret=venue.siret,
        quantity=booking.quantity,
        amount_cents=booking.amount_cents,
        total_cents=booking.total_cents,
        starts_at=timestamp(booking.starts_at),
    )


def used_event(
    booking: models.Booking, venue: models.Venue, used_at: datetime, validated_by: str
) -> events_pb2.BookingUsed:
    return events_pb2.BookingUsed(
        booking=booking_facts(booking, venue),
        used_at=timestamp(used_at),
        validated_by=validated_by,
    )


def unused_event(
    booking: models.Booking, venue: models.Venue, unused_at: datetime
) -> events_pb2.BookingUnused:
    return events_pb2.BookingUnused(
        booking=booking_facts(booking, venue), unused_at=timestamp(unused_at)
    )


def cancelled_event(booking: models.Booking, venue: models.Venue) -> events_pb2.BookingCancelled:
    """From a booking already marked CANCELLED (its cancelled_at and reason set)."""
    return events_pb2.BookingCancelled(
        booking=booking_facts(booking, venue),
        cancelled_at=timestamp(booking.cancelled_at),
        reason=booking.cancellation_reason or "",
    )
