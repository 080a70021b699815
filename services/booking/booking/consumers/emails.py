"""Emails from the booking service's own events (the words: booking.messages): to the venue on
each new booking and each cancellation; to the young person on their booking, their
cancellation, a cancellation by the cinema, a moved showtime and the day before. Before the
emails of a booking or a cancellation, the venue's notification is recorded
(booking.notifications: a database write, a no-op when the event comes back), from the same
read of the booking.

A consumer, not a step of the booking: a slow or unreachable SMTP server never slows or fails a
booking. A failed send raises, so the event comes back later (with a backoff, dead-lettered
after the delivery limit); a sent event's id goes to the inbox (pclib.inbox.EffectConsumer), so
that a redelivery sends nothing. Delivery is at least once: a redelivery after a partial failure
may send an email again, with the same Message-ID (a mail client shows it once). The worker keeps
one SMTP connection (pclib.mail).
"""

import logging
import uuid
from datetime import UTC, datetime
from email.message import Message
from typing import Any

from psycopg import AsyncConnection

from booking import messages, notifications, views
from booking.domain.status import BookingStatus, CancellationReason, NotificationAction
from booking.messages import Context
from passculture.booking.v1 import events_pb2
from pclib.inbox import EffectHandlers, EventMeta
from pclib.mail import Mailer
from pclib.timestamps import to_datetime

log = logging.getLogger(__name__)

# A moved showtime is news to the young person while the booking is still to be seen.
TOLD_OF_MOVES = (BookingStatus.CONFIRMED, BookingStatus.USED)


async def _load(conn: AsyncConnection[Any], facts: events_pb2.BookingFacts, sender: str) -> Context:
    view = await views.by_id(conn, uuid.UUID(facts.booking_id))
    if view is None:  # our own event: the booking is in this database
        raise LookupError(f"booking {facts.booking_id} not found")
    return Context(*view, sender=sender)


async def _notified(
    conn: AsyncConnection[Any],
    facts: events_pb2.BookingFacts,
    action: NotificationAction,
    sender: str,
) -> Context:
    """_load, the venue's notification recorded first, from the same read (with its URL)."""
    found = await views.with_notification_url(conn, uuid.UUID(facts.booking_id))
    if found is None:  # our own event: the booking is in this database
        raise LookupError(f"booking {facts.booking_id} not found")
    view, url = found
    await notifications.enqueue(conn, view, url, action, datetime.now(UTC))
    return Context(*view, sender=sender)


def handlers(mailer: Mailer, sender: str) -> EffectHandlers:
    """The emails consumer's handlers, by routing key of the booking service's events."""

    async def send_all(emails: list[Message], meta: EventMeta) -> None:
        for email in emails:
            if email["To"]:
                await mailer.send(email)
            else:
                log.warning("no address to send %r to (%s)", email["Subject"], meta.message_id)

    async def on_created(
        conn: AsyncConnection[Any], event: events_pb2.BookingCreated, meta: EventMeta
    ) -> None:
        context = await _notified(conn, event.booking, NotificationAction.BOOK, sender)
        await send_all(
            [messages.new_booking_email(context), messages.confirmation_email(context)], meta
        )

    async def on_cancelled(
        conn: AsyncConnection[Any], event: events_pb2.BookingCancelled, meta: EventMeta
    ) -> None:
        context = await _notified(conn, event.booking, NotificationAction.CANCEL, sender)
        by_cinema = event.reason == CancellationReason.OFFERER
        to_young = (
            messages.cancelled_by_cinema_email(context)
            if by_cinema
            else messages.cancelled_by_young_email(context)
        )
        await send_all([messages.cancellation_email(context, by_cinema=by_cinema), to_young], meta)

    async def on_moved(
        conn: AsyncConnection[Any], event: events_pb2.BookingMoved, meta: EventMeta
    ) -> None:
        context = await _load(conn, event.booking, sender)
        if context.booking.status not in TOLD_OF_MOVES:
            return
        # The times of this move, even when the booking moved again since.
        context.booking.starts_at = to_datetime(event.booking.starts_at)
        context.booking.cancellation_limit_at = to_datetime(event.cancellation_limit_at)
        email = messages.moved_email(
            context, to_datetime(event.previous_starts_at), to_datetime(event.moved_at)
        )
        await send_all([email], meta)

    async def on_reminder_due(
        conn: AsyncConnection[Any], event: events_pb2.BookingReminderDue, meta: EventMeta
    ) -> None:
        context = await _load(conn, event.booking, sender)
        booking = context.booking
        if booking.status != BookingStatus.CONFIRMED:
            return  # cancelled or used since the reminder was recorded
        if booking.starts_at != to_datetime(event.booking.starts_at):
            return  # moved since: no longer tomorrow (the young person was told of the move)
        await send_all([messages.reminder_email(context)], meta)

    return {
        "booking.created": (events_pb2.BookingCreated, on_created),
        "booking.cancelled": (events_pb2.BookingCancelled, on_cancelled),
        "booking.moved": (events_pb2.BookingMoved, on_moved),
        "booking.reminder_due": (events_pb2.BookingReminderDue, on_reminder_due),
    }
