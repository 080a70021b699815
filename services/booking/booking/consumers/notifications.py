"""Booking notifications: each booking and cancellation of a venue with a URL becomes a
delivery (booking.notifications sends it). Handlers run in the inbox transaction: a redelivered
event adds nothing."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain.status import NotificationAction
from booking.notifications import enqueue
from passculture.booking.v1 import events_pb2
from pclib.inbox import EventMeta, Handlers


async def on_created(
    session: AsyncSession, event: events_pb2.BookingCreated, meta: EventMeta
) -> None:
    await enqueue(session, event.booking.booking_id, NotificationAction.BOOK, datetime.now(UTC))


async def on_cancelled(
    session: AsyncSession, event: events_pb2.BookingCancelled, meta: EventMeta
) -> None:
    await enqueue(session, event.booking.booking_id, NotificationAction.CANCEL, datetime.now(UTC))


HANDLERS: Handlers = {
    "booking.created": (events_pb2.BookingCreated, on_created),
    "booking.cancelled": (events_pb2.BookingCancelled, on_cancelled),
}
