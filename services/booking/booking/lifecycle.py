"""A booking's lifecycle: every change of its status, each with its guard, in one place.

    PENDING ──confirm──▶ CONFIRMED ──use──▶ USED ──reimburse──▶ REIMBURSED
       │                  │    ▲            │
      fail                │    └───unuse────┘
       ▼                cancel (the young person before the limit; the cinema until paid)
     FAILED               ▼
                      CANCELLED

`move` (a moved showtime) changes the times of any booking that holds seats, and unuses a USED
one when the showtime moved more than 48h away.

The saga, its reconciler, the counter, the auto-use job and the consumers call these; none of
them sets a status itself. A transition returns the event to record in the outbox, in the
caller's transaction (`booking.events.record`), or None when it changes nothing. Transitions on
a row expect it locked by the caller (SELECT … FOR UPDATE); `confirm` and `fail` are
conditional UPDATEs, safe against a concurrent request path and reconciler.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking import events
from booking.domain import rules
from booking.domain.countermark import new_countermark
from booking.domain.status import BookingStatus, CancellationReason, ValidationAuthor
from booking.models import Booking, Venue
from passculture.booking.v1 import events_pb2
from passculture.booking.v1.reasons import Reason

COUNTERMARK_ATTEMPTS = 20


async def create(session: AsyncSession, **values: Any) -> Booking:
    """A new booking, PENDING (it counts against the credit from now on), with a fresh
    countermark, drawn again when it is taken."""
    for _ in range(COUNTERMARK_ATTEMPTS):
        statement = (
            insert(Booking)
            .values(countermark=new_countermark(), status=BookingStatus.PENDING, **values)
            .on_conflict_do_nothing(index_elements=[Booking.countermark])
            .returning(Booking)
        )
        booking = await session.scalar(statement)
        if booking is not None:
            return booking
    raise RuntimeError("no free countermark found")


async def _settle(session: AsyncSession, booking_id: uuid.UUID, **values: Any) -> Booking | None:
    statement = (
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == BookingStatus.PENDING)
        .values(**values)
        .returning(Booking)
        .execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


async def confirm(
    session: AsyncSession, booking_id: uuid.UUID, venue: Venue | None = None
) -> tuple[Booking, events_pb2.BookingCreated] | None:
    """PENDING → CONFIRMED (its seats are reserved); None when it was no longer PENDING.
    `venue`: the booking's, when the caller has it."""
    booking = await _settle(session, booking_id, status=BookingStatus.CONFIRMED)
    if booking is None:
        return None
    if venue is None:
        venue = await session.get_one(Venue, booking.venue_id)
    return booking, events.created(booking, venue)


async def fail(session: AsyncSession, booking_id: uuid.UUID, reason: Reason) -> Booking | None:
    """PENDING → FAILED (the seats were refused, or never reserved in time): it no longer counts
    against anything. None when it was no longer PENDING."""
    return await _settle(
        session, booking_id, status=BookingStatus.FAILED, failure_reason=reason[:32]
    )


def cancel(booking: Booking, venue: Venue, now: datetime) -> events_pb2.BookingCancelled:
    """CONFIRMED → CANCELLED by the young person, before its cancellation limit (else the
    reason why not)."""
    rules.check_cancellable(booking.status, booking.cancellation_limit_at, now)
    return _cancelled(booking, venue, now, CancellationReason.BENEFICIARY)


def cancel_by_cinema(
    booking: Booking, venue: Venue, at: datetime
) -> events_pb2.BookingCancelled | None:
    """→ CANCELLED by the cinema (it deleted the showtime): any booking not paid yet; None for
    the others, left as they are."""
    if booking.status not in rules.CANCELLABLE_BY_OFFERER:
        return None
    return _cancelled(booking, venue, at, CancellationReason.OFFERER)


def _cancelled(
    booking: Booking, venue: Venue, at: datetime, by: CancellationReason
) -> events_pb2.BookingCancelled:
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at, booking.cancellation_reason = at, by
    return events.cancelled(booking, venue)


def use(
    booking: Booking,
    venue: Venue,
    now: datetime,
    by: ValidationAuthor,
    validated_at: datetime | None = None,
) -> events_pb2.BookingUsed:
    """CONFIRMED → USED, at the counter or automatically, once the young person can no longer
    cancel it (else the reason why not). `validated_at`: when a counter validated it offline
    (rules.validated_at), synced now; the booking is used as of then."""
    at = now
    if validated_at is not None:
        at = rules.validated_at(validated_at, booking.booked_at, booking.updated_at, now)
    rules.check_usable(
        booking.status, booking.cancellation_limit_at, at, venue.timezone, booking.used_at
    )
    booking.status, booking.used_at, booking.validated_by = BookingStatus.USED, at, by
    return events.used(booking, venue)


def unuse(booking: Booking, venue: Venue, now: datetime) -> events_pb2.BookingUnused:
    """USED → CONFIRMED, until paid (else the reason why not)."""
    rules.check_unusable(booking.status)
    booking.status, booking.used_at, booking.validated_by = BookingStatus.CONFIRMED, None, None
    return events.unused(booking, venue, now)


def move(
    booking: Booking, venue: Venue, starts_at: datetime, moved_at: datetime, now: datetime
) -> events_pb2.BookingUnused | None:
    """The showtime moved (at `moved_at`, the catalog's time): new start and cancellation limit
    (the price stays); a USED booking goes back to CONFIRMED when the new start is more than 48h
    away. Its unuse is stamped `now`, not with the catalog's second-precision time: payments
    orders a booking's events by their times, and the use may be later in that same second."""
    if booking.status not in rules.MOVABLE:
        return None
    booking.starts_at = starts_at
    booking.cancellation_limit_at = rules.limit_after_move(starts_at, moved_at)
    if booking.status == BookingStatus.USED and rules.move_unuses(starts_at, moved_at):
        return unuse(booking, venue, now)
    return None


async def reimburse(
    session: AsyncSession, booking_ids: list[uuid.UUID], reimbursed_at: datetime
) -> list[Row[uuid.UUID, BookingStatus, bool]]:
    """The paid bookings → REIMBURSED, in one statement that locks the listed bookings (a
    counter's unuse in flight is seen once committed). Answers each listed booking that exists:
    (id, its status before, whether it was reimbursed now)."""
    listed = (
        select(Booking.id, Booking.status)
        .where(Booking.id.in_(booking_ids))
        .with_for_update()
        .cte("listed")
    )
    paid = (
        update(Booking)
        .where(Booking.id == listed.c.id, listed.c.status.in_(rules.REIMBURSABLE))
        .values(
            status=BookingStatus.REIMBURSED,
            reimbursed_at=reimbursed_at,
            used_at=func.coalesce(Booking.used_at, literal(reimbursed_at, Booking.used_at.type)),
        )
        .returning(Booking.id)
        .cte("paid")
    )
    query = select(listed.c.id, listed.c.status, paid.c.id.is_not(None).label("paid")).outerjoin(
        paid, paid.c.id == listed.c.id
    )
    return list((await session.execute(query)).all())
