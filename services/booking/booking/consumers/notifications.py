"""Booking notifications: each booking and cancellation of a venue with a URL becomes a
delivery (the module booking.notifications sends it, not the retired queue of that name).
Handlers of the emails consumer (first, before the emails; worker.py), on the saga's psycopg
pool: a venue without a URL costs one indexed read, and the delivery's insert is idempotent (one
per booking and action), so an event handled twice adds nothing."""

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from booking.domain.status import NotificationAction
from booking.notifications import enqueue
from passculture.booking.v1 import events_pb2
from pclib.inbox import EffectHandlers, EventMeta


async def _enqueue(
    conn: AsyncConnection[Any], facts: events_pb2.BookingFacts, action: NotificationAction
) -> None:
    booking_id, venue_id = uuid.UUID(facts.booking_id), uuid.UUID(facts.venue_id)
    await enqueue(conn, booking_id, venue_id, action, datetime.now(UTC))


async def on_created(
    conn: AsyncConnection[Any], event: events_pb2.BookingCreated, meta: EventMeta
) -> None:
    await _enqueue(conn, event.booking, NotificationAction.BOOK)


async def on_cancelled(
    conn: AsyncConnection[Any], event: events_pb2.BookingCancelled, meta: EventMeta
) -> None:
    await _enqueue(conn, event.booking, NotificationAction.CANCEL)


HANDLERS: EffectHandlers = {
    "booking.created": (events_pb2.BookingCreated, on_created),
    "booking.cancelled": (events_pb2.BookingCancelled, on_cancelled),
}
