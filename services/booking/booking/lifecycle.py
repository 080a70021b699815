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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import class_row, dict_row
from sqlalchemy import Row, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking import events
from booking.domain import credit as credit_rules
from booking.domain import rules
from booking.domain.countermark import new_countermark
from booking.domain.credit import CreditState
from booking.domain.showtime import Showtime
from booking.domain.status import (
    ACTIVE_STATUSES,
    BookingStatus,
    CancellationReason,
    ValidationAuthor,
)
from booking.models import Beneficiary, Booking, Credit, Venue
from booking.ticketing_client import ExternalTicket
from passculture.booking.v1 import events_pb2
from passculture.booking.v1.reasons import Reason
from pclib.outbox import OUTBOX_COLUMNS, OUTBOX_VALUES, outbox_params

COUNTERMARK_ATTEMPTS = 20

# --- the saga's transitions: one statement each, on a psycopg connection ----------------------
# The request path runs them in autocommit (one round trip each); the reconciler inside the
# transaction that locked the booking. The credit is a counter (credits.spent_cents) reserved
# by a conditional UPDATE, as the catalog reserves seats: the row lock serialises a young
# person's bookings and PostgreSQL re-checks the condition after it, so no one overspends
# (and a CHECK constraint holds the counter within the credit).

OPEN = f"""
WITH credit AS (
    UPDATE credits SET spent_cents = spent_cents + %(total)s
    WHERE beneficiary_id = %(beneficiary_id)s AND expires_at > %(now)s
      AND spent_cents + %(total)s <= initial_cents
    RETURNING id
), opened AS (
    INSERT INTO bookings (id, beneficiary_id, credit_id, idempotency_key, countermark, status,
        quantity, amount_cents, price_category_label, stock_id, offer_id, offer_title, features,
        venue_id, offerer_id, starts_at, booked_at, cancellation_limit_at, ticketing_reference)
    SELECT %(id)s, %(beneficiary_id)s, credit.id, %(idempotency_key)s, %(countermark)s,
        '{BookingStatus.PENDING}', %(quantity)s, %(amount_cents)s, %(price_category_label)s,
        %(stock_id)s, %(offer_id)s,
        %(offer_title)s, %(features)s, %(venue_id)s, %(offerer_id)s, %(starts_at)s,
        %(booked_at)s, %(cancellation_limit_at)s, %(ticketing_reference)s
    FROM credit
    RETURNING *
)
SELECT opened.*, b.first_name, b.last_name, b.email
FROM opened JOIN beneficiaries b ON b.id = opened.beneficiary_id
"""  # noqa: S608 (only a status constant is formatted in)
# Why OPEN opened nothing (the credit is missing, expired or short; the film booked already).
CREDIT = f"""
SELECT c.initial_cents, c.spent_cents, c.expires_at,
    EXISTS (SELECT FROM bookings WHERE beneficiary_id = %(beneficiary_id)s
            AND offer_id = %(offer_id)s
            AND status IN ({", ".join(f"'{status}'" for status in ACTIVE_STATUSES)})) AS held
FROM credits c WHERE c.beneficiary_id = %(beneficiary_id)s
"""  # noqa: S608 (only status constants are formatted in)
# The booking is made at the showtime's facts when its seats were taken (the catalog's answer),
# which may differ from what step 1 read: the credit takes the difference, or nothing changes.
CONFIRM = f"""
WITH pending AS (
    SELECT id, credit_id, amount_cents * quantity AS held FROM bookings
    WHERE id = %(id)s AND status = '{BookingStatus.PENDING}'
    FOR UPDATE
), credit AS (
    UPDATE credits c SET spent_cents = c.spent_cents - pending.held + %(total)s
    FROM pending
    WHERE c.id = pending.credit_id AND pending.held <> %(total)s
      AND c.spent_cents - pending.held + %(total)s <= c.initial_cents
    RETURNING c.id
), confirmed AS (
    UPDATE bookings SET status = '{BookingStatus.CONFIRMED}', amount_cents = %(amount_cents)s,
        price_category_label = %(price_category_label)s,
        starts_at = %(starts_at)s, cancellation_limit_at = %(cancellation_limit_at)s,
        features = %(features)s, offer_title = %(offer_title)s,
        external_barcodes = %(external_barcodes)s, external_seats = %(external_seats)s,
        updated_at = now()
    WHERE id = (SELECT id FROM pending)
      AND ((SELECT held FROM pending) = %(total)s OR EXISTS (SELECT FROM credit))
    RETURNING id
)
INSERT INTO outbox {OUTBOX_COLUMNS} SELECT {OUTBOX_VALUES} FROM confirmed RETURNING id
"""  # noqa: S608 (only constants are formatted in)
STATUS = "SELECT status FROM bookings WHERE id = %(id)s"
FAIL = f"""
WITH failed AS (
    UPDATE bookings SET status = '{BookingStatus.FAILED}', failure_reason = %(reason)s,
        tickets_to_cancel = ticketing_reference IS NOT NULL,
        idempotency_key = CASE WHEN %(free_key)s THEN NULL ELSE idempotency_key END,
        updated_at = now()
    WHERE id = %(id)s AND status = '{BookingStatus.PENDING}'
    RETURNING credit_id, amount_cents * quantity AS total
)
UPDATE credits c SET spent_cents = c.spent_cents - failed.total
FROM failed WHERE c.id = failed.credit_id
RETURNING c.id
"""  # noqa: S608 (only status constants are formatted in)
# The unique constraints OPEN may break: each says something else.
COUNTERMARK_TAKEN = "bookings_countermark_key"
OFFER_HELD = "uq_bookings_one_active_per_offer"
KEY_USED = "bookings_beneficiary_id_idempotency_key_key"


@dataclass(frozen=True)
class Opened:
    booking: Booking
    beneficiary: Beneficiary


class KeyUsed(Exception):
    """A booking with this Idempotency-Key exists already (a retry, or a concurrent call)."""


async def open_booking(conn: AsyncConnection[Any], **values: Any) -> Opened:
    """A new booking, PENDING, its amount reserved on the credit, with a fresh countermark
    (drawn again when taken); or the reason why not. Raises KeyUsed for a retry's key."""
    params = values | {"id": uuid.uuid4(), "total": values["amount_cents"] * values["quantity"]}
    for _ in range(COUNTERMARK_ATTEMPTS):
        try:
            async with conn.cursor(row_factory=dict_row) as cursor:
                await cursor.execute(OPEN, params | {"countermark": new_countermark()})
                row = await cursor.fetchone()
        except UniqueViolation as error:
            constraint = error.diag.constraint_name
            if constraint == COUNTERMARK_TAKEN:
                continue
            if constraint == KEY_USED:
                raise KeyUsed() from None
            if constraint == OFFER_HELD:
                raise credit_rules.already_booked() from None
            raise
        if row is None:
            raise await _why_not_opened(conn, values)
        names = {key: row.pop(key) for key in ("first_name", "last_name", "email")}
        return Opened(Booking(**row), Beneficiary(id=row["beneficiary_id"], **names))
    raise RuntimeError("no free countermark found")


async def _why_not_opened(conn: AsyncConnection[Any], values: dict[str, Any]) -> Exception:
    async with conn.cursor(row_factory=class_row(CreditState)) as cursor:
        await cursor.execute(CREDIT, values)
        credit = await cursor.fetchone()
    return credit_rules.refusal(credit, values["amount_cents"] * values["quantity"], values["now"])


class CreditShort(Exception):
    """The showtime's price went up since the booking was opened, beyond what the credit has."""


async def confirm(
    conn: AsyncConnection[Any],
    booking: Booking,
    venue: Venue,
    showtime: Showtime | None = None,
    tickets: Sequence[ExternalTicket] = (),
) -> bool:
    """PENDING → CONFIRMED (its seats are reserved, and its `tickets` issued by the venue's
    ticketing system) with its `booking.created` event, in one statement, at `showtime` (the
    booking's own facts when None); False when it was no longer PENDING. Raises CreditShort
    (the booking still PENDING) when the price went up beyond the credit."""
    booking.external_barcodes = [ticket.barcode for ticket in tickets]
    booking.external_seats = [ticket.seat for ticket in tickets]
    if showtime is not None:
        booking.amount_cents, booking.starts_at = showtime.amount_cents, showtime.starts_at
        booking.price_category_label = showtime.price_category_label
        booking.features, booking.offer_title = showtime.features, showtime.offer_title
        booking.cancellation_limit_at = rules.cancellation_limit(
            showtime.starts_at, booking.booked_at
        )
    event = events.created(booking, venue)
    params = {
        "id": booking.id,
        "total": booking.total_cents,
        "amount_cents": booking.amount_cents,
        "price_category_label": booking.price_category_label,
        "starts_at": booking.starts_at,
        "cancellation_limit_at": booking.cancellation_limit_at,
        "features": booking.features,
        "offer_title": booking.offer_title,
        "external_barcodes": booking.external_barcodes,
        "external_seats": booking.external_seats,
    } | outbox_params(events.ROUTING_KEYS[type(event)], event)
    cursor = await conn.execute(CONFIRM, params)
    if await cursor.fetchone() is not None:
        booking.status = BookingStatus.CONFIRMED
        return True
    status = await (await conn.execute(STATUS, {"id": booking.id})).fetchone()
    if status is not None and status[0] == BookingStatus.PENDING:
        raise CreditShort()
    return False


async def fail(
    conn: AsyncConnection[Any], booking_id: uuid.UUID, reason: Reason, *, free_key: bool = False
) -> bool:
    """PENDING → FAILED (the seats were refused, or never reserved in time), its amount given
    back to the credit, any tickets of a ticketing system to cancel there; False when it was no
    longer PENDING. `free_key`: the failure is passing (the system did not answer), so its
    Idempotency-Key may book again."""
    params = {"id": booking_id, "reason": reason[:32], "free_key": free_key}
    cursor = await conn.execute(FAIL, params)
    return await cursor.fetchone() is not None


# --- transitions on a row the caller locked, in its SQLAlchemy transaction --------------------


async def _give_back(session: AsyncSession, booking: Booking) -> None:
    """The booking's amount no longer counts against its credit."""
    await session.execute(
        update(Credit)
        .where(Credit.id == booking.credit_id)
        .values(spent_cents=Credit.spent_cents - booking.total_cents)
    )


async def cancel(
    session: AsyncSession, booking: Booking, venue: Venue, now: datetime
) -> events_pb2.BookingCancelled:
    """CONFIRMED → CANCELLED by the young person, before its cancellation limit (else the
    reason why not); the credit gets the amount back. Tickets of a ticketing system are
    cancelled there first, by the caller (booking.external_tickets.cancel_now)."""
    rules.check_cancellable(booking.status, booking.cancellation_limit_at, now)
    return await _cancelled(session, booking, venue, now, CancellationReason.BENEFICIARY)


async def cancel_by_cinema(
    session: AsyncSession, booking: Booking, venue: Venue, at: datetime
) -> events_pb2.BookingCancelled | None:
    """→ CANCELLED by the cinema (it deleted the showtime): any booking not paid yet, its amount
    given back to the credit, its tickets in a ticketing system to cancel there (by
    booking.external_tickets); None for the others, left as they are."""
    if booking.status not in rules.CANCELLABLE_BY_OFFERER:
        return None
    return await _cancelled(session, booking, venue, at, CancellationReason.OFFERER)


async def _cancelled(
    session: AsyncSession, booking: Booking, venue: Venue, at: datetime, by: CancellationReason
) -> events_pb2.BookingCancelled:
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at, booking.cancellation_reason = at, by
    booking.tickets_to_cancel = bool(booking.external_barcodes) and by == CancellationReason.OFFERER
    await _give_back(session, booking)
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
) -> list[Message]:
    """The showtime moved (at `moved_at`, the catalog's time): new start and cancellation limit
    (the price stays), with its `booking.moved` event; a USED booking goes back to CONFIRMED
    when the new start is more than 48h away (its `booking.unused` first). Its unuse is stamped
    `now`, not with the catalog's second-precision time: payments orders a booking's events by
    their times, and the use may be later in that same second."""
    if booking.status not in rules.MOVABLE or booking.starts_at == starts_at:
        return []
    previous = booking.starts_at
    booking.starts_at = starts_at
    booking.cancellation_limit_at = rules.limit_after_move(starts_at, moved_at)
    changes: list[Message] = []
    if booking.status == BookingStatus.USED and rules.move_unuses(starts_at, moved_at):
        changes.append(unuse(booking, venue, now))
    return [*changes, events.moved(booking, venue, previous, moved_at)]


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
