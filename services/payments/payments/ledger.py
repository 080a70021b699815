"""A booking's ledger line and its transitions, as the booking and catalog events change it:
confirmed (booked), used (reimbursable until paid), unused or cancelled (tombstones, so that a
late, older event does not bring the line back), and moved (its showtime's new start). Which
event a line takes is domain/ledger.py's rule. Every transition runs in the event's inbox
transaction, holding batches off (batch/lock.py): the booking events' on a psycopg connection
(pclib.inbox.StatementConsumer), the moved showtimes' in an ORM session.

A batch moves the lines it pays out of the ledger into payment_lines: an event about a booking
is first looked up there (a paid line never changes, and must not come back as a new line)."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from passculture.booking.v1 import events_pb2
from payments import metrics
from payments.batch.lock import hold_batches_off, hold_batches_off_on
from payments.domain import ledger, rates
from payments.domain.status import LedgerState
from payments.models import LedgerLine

log = logging.getLogger(__name__)
Connection = psycopg.AsyncConnection[Any]


# The booking events' transitions run in the consumer's psycopg transaction (the hot path: one
# event per booking), after holding batches off. A line is inserted unless the booking was paid
# or has a line already: one statement, that also says which.
INSERT_UNLESS_PAID = """
WITH paid AS (
    SELECT pl.payment_id, pl.used_at, p.venue_id FROM payment_lines pl
    LEFT JOIN payments p ON p.id = pl.payment_id
    WHERE pl.booking_id = %(booking_id)s
), inserted AS (
    INSERT INTO ledger_lines (booking_id, venue_id, offerer_id, offerer_siren, venue_siret,
        stock_id, total_cents, starts_at, scale_key, state, last_event_at, used_at, used_year)
    SELECT %(booking_id)s, %(venue_id)s, %(offerer_id)s, %(offerer_siren)s, %(venue_siret)s,
        %(stock_id)s, %(total_cents)s, %(starts_at)s, %(scale_key)s, %(state)s,
        %(last_event_at)s, %(used_at)s, %(used_year)s
    WHERE NOT EXISTS (SELECT FROM paid)
    ON CONFLICT DO NOTHING
    RETURNING booking_id
)
SELECT EXISTS (SELECT FROM inserted), paid.payment_id, paid.used_at, paid.venue_id
FROM (VALUES (1)) AS one LEFT JOIN paid ON true
"""
LINE_FOR_UPDATE = (
    "SELECT state, last_event_at FROM ledger_lines WHERE booking_id = %(booking_id)s FOR UPDATE"
)
UPDATE_LINE = """
UPDATE ledger_lines SET venue_id = %(venue_id)s, offerer_id = %(offerer_id)s,
    offerer_siren = %(offerer_siren)s, venue_siret = %(venue_siret)s, stock_id = %(stock_id)s,
    total_cents = %(total_cents)s, starts_at = %(starts_at)s, scale_key = %(scale_key)s,
    state = %(state)s, last_event_at = %(last_event_at)s, used_at = %(used_at)s,
    used_year = %(used_year)s, updated_at = now()
WHERE booking_id = %(booking_id)s
"""


@dataclass(frozen=True)
class Paid:
    """A paid booking's payment line, as an event about it reads it."""

    payment_id: uuid.UUID
    used_at: datetime
    venue_id: uuid.UUID | None


async def confirmed(
    conn: Connection, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was made `at`: its line counts as booked (a later use makes it USED; an
    older event than this one, or this one after the use, changes nothing)."""
    return await _record(conn, facts, starts_at, LedgerState.CONFIRMED, at)


async def used(
    conn: Connection, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was used `at`: its line is reimbursable."""
    return await _record(conn, facts, starts_at, LedgerState.USED, at)


async def unused(
    conn: Connection, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking's use was undone `at`: its line is a tombstone."""
    return await _record(conn, facts, starts_at, LedgerState.UNUSED, at)


async def cancelled(
    conn: Connection, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was cancelled `at`: its line is a tombstone."""
    return await _record(conn, facts, starts_at, LedgerState.CANCELLED, at)


async def move_showtime(session: AsyncSession, stock_id: str, starts_at: datetime) -> int:
    """The lines of a moved showtime take its new start (paid ones are no longer in the
    ledger); returns how many."""
    await hold_batches_off(session)
    conn = await session.connection()
    moved = await conn.execute(
        update(LedgerLine)
        .where(
            LedgerLine.stock_id == uuid.UUID(stock_id),
            LedgerLine.starts_at != starts_at,
        )
        .values(starts_at=starts_at, updated_at=func.now())
    )
    return moved.rowcount


def _facts(facts: events_pb2.BookingFacts, starts_at: datetime) -> dict[str, object]:
    return {
        "venue_id": uuid.UUID(facts.venue_id),
        "offerer_id": uuid.UUID(facts.offerer_id),
        "offerer_siren": facts.offerer_siren,
        "venue_siret": facts.venue_siret,
        "stock_id": uuid.UUID(facts.stock_id),
        "total_cents": facts.total_cents,
        "starts_at": starts_at,
        "scale_key": rates.scale_key(facts.venue_siret, facts.venue_id),
    }


def _state(new_state: LedgerState, occurred_at: datetime) -> dict[str, object]:
    used = new_state == LedgerState.USED
    return {
        "state": new_state.value,
        "last_event_at": occurred_at,
        "used_at": occurred_at if used else None,
        "used_year": rates.revenue_year(occurred_at) if used else None,
    }


async def _record(
    conn: Connection,
    facts: events_pb2.BookingFacts,
    starts_at: datetime,
    new_state: LedgerState,
    occurred_at: datetime,
) -> ledger.Outcome:
    """Applies a booking's change (its new state at `occurred_at`) to its line."""
    await hold_batches_off_on(conn)
    booking_id = uuid.UUID(facts.booking_id)
    values = {
        "booking_id": booking_id,
        **_facts(facts, starts_at),
        **_state(new_state, occurred_at),
    }
    row = await (await conn.execute(INSERT_UNLESS_PAID, values)).fetchone()
    assert row is not None  # one row, whatever the booking
    inserted, payment_id, paid_used_at, paid_venue_id = row
    if payment_id is not None:
        paid = Paid(payment_id, paid_used_at, paid_venue_id)
        return _counted(_paid_line_event(paid, booking_id, new_state, occurred_at))
    if inserted:
        return _counted(ledger.Outcome.APPLY)
    line = await (await conn.execute(LINE_FOR_UPDATE, values)).fetchone()
    assert line is not None  # it has a line: the insert found it
    state, last_event_at = line
    outcome = ledger.decide(
        ledger.Line(LedgerState(state), last_event_at, paid=False), new_state, occurred_at
    )
    if outcome is ledger.Outcome.APPLY:
        await conn.execute(UPDATE_LINE, values)
    return _counted(outcome)


def _paid_line_event(
    paid: Paid, booking_id: uuid.UUID, new_state: LedgerState, occurred_at: datetime
) -> ledger.Outcome:
    # A paid line's last event was its use: what it took before leaving the ledger.
    outcome = ledger.decide(
        ledger.Line(LedgerState.USED, paid.used_at, paid=True), new_state, occurred_at
    )
    if outcome is ledger.Outcome.PAID_CANNOT_UNDO:
        metrics.PAID_BOOKINGS_UNDONE.labels(new_state).inc()
        log.warning(
            "a paid booking was %s: it stays paid, to settle by hand",
            new_state.lower(),
            extra={
                "booking_id": str(booking_id),
                "payment_id": str(paid.payment_id),
                "venue_id": str(paid.venue_id),
            },
        )
    return outcome


def _counted(outcome: ledger.Outcome) -> ledger.Outcome:
    metrics.LEDGER_EVENTS.labels(outcome.value).inc()
    return outcome
