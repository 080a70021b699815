"""The booking service's events: their messages built from the rows, and their routing keys.

Every booking event carries the BookingFacts payments needs to price and pay the booking.
"""

from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, Venue
from passculture.booking.v1 import events_pb2
from pclib.outbox import add_event
from pclib.timestamps import timestamp

ROUTING_KEYS: dict[type[Message], str] = {
    events_pb2.BookingCreated: "booking.created",
    events_pb2.BookingCancelled: "booking.cancelled",
    events_pb2.BookingUsed: "booking.used",
    events_pb2.BookingUnused: "booking.unused",
    events_pb2.BookingMoved: "booking.moved",
    events_pb2.BookingReminderDue: "booking.reminder_due",
}


async def record(session: AsyncSession, event: Message) -> None:
    """Puts the event in the outbox, in the caller's transaction."""
    await add_event(session, ROUTING_KEYS[type(event)], event)


def booking_facts(booking: Booking, venue: Venue) -> events_pb2.BookingFacts:
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


def created(booking: Booking, venue: Venue) -> events_pb2.BookingCreated:
    return events_pb2.BookingCreated(
        booking=booking_facts(booking, venue), booked_at=timestamp(booking.booked_at)
    )


def used(booking: Booking, venue: Venue) -> events_pb2.BookingUsed:
    assert booking.used_at is not None and booking.validated_by is not None
    return events_pb2.BookingUsed(
        booking=booking_facts(booking, venue),
        used_at=timestamp(booking.used_at),
        validated_by=booking.validated_by,
    )


def unused(booking: Booking, venue: Venue, unused_at: datetime) -> events_pb2.BookingUnused:
    return events_pb2.BookingUnused(
        booking=booking_facts(booking, venue), unused_at=timestamp(unused_at)
    )


def cancelled(booking: Booking, venue: Venue) -> events_pb2.BookingCancelled:
    assert booking.cancelled_at is not None and booking.cancellation_reason is not None
    return events_pb2.BookingCancelled(
        booking=booking_facts(booking, venue),
        cancelled_at=timestamp(booking.cancelled_at),
        reason=booking.cancellation_reason,
    )


def moved(
    booking: Booking, venue: Venue, previous_starts_at: datetime, moved_at: datetime
) -> events_pb2.BookingMoved:
    return events_pb2.BookingMoved(
        booking=booking_facts(booking, venue),
        previous_starts_at=timestamp(previous_starts_at),
        cancellation_limit_at=timestamp(booking.cancellation_limit_at),
        moved_at=timestamp(moved_at),
    )


def reminder_due(booking: Booking, venue: Venue) -> events_pb2.BookingReminderDue:
    return events_pb2.BookingReminderDue(booking=booking_facts(booking, venue))
