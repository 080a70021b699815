"""A booking's ledger line and its transitions, as the booking and catalog events change it:
confirmed (booked), used (reimbursable until paid), unused or cancelled (tombstones, so that a
late, older event does not bring the line back), and moved (its showtime's new start). Which
event a line takes is domain/ledger.py's rule. Every transition runs in the event's inbox
transaction, holding batches off (batch/lock.py).

A batch moves the lines it pays out of the ledger into payment_lines: an event about a booking
is first looked up there (a paid line never changes, and must not come back as a new line)."""

import logging
import uuid
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from passculture.booking.v1 import events_pb2
from payments import metrics
from payments.batch.lock import hold_batches_off
from payments.domain import ledger, rates
from payments.domain.status import LedgerState
from payments.models import LedgerLine, Payment, PaymentLine

log = logging.getLogger(__name__)


async def confirmed(
    session: AsyncSession, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was made `at`: its line counts as booked (a later use makes it USED; an
    older event than this one, or this one after the use, changes nothing)."""
    return await _record(session, facts, starts_at, LedgerState.CONFIRMED, at)


async def used(
    session: AsyncSession, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was used `at`: its line is reimbursable."""
    return await _record(session, facts, starts_at, LedgerState.USED, at)


async def unused(
    session: AsyncSession, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking's use was undone `at`: its line is a tombstone."""
    return await _record(session, facts, starts_at, LedgerState.UNUSED, at)


async def cancelled(
    session: AsyncSession, facts: events_pb2.BookingFacts, starts_at: datetime, at: datetime
) -> ledger.Outcome:
    """The booking was cancelled `at`: its line is a tombstone."""
    return await _record(session, facts, starts_at, LedgerState.CANCELLED, at)


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
        "state": new_state,
        "last_event_at": occurred_at,
        "used_at": occurred_at if used else None,
        "used_year": rates.revenue_year(occurred_at) if used else None,
    }


async def _record(
    session: AsyncSession,
    facts: events_pb2.BookingFacts,
    starts_at: datetime,
    new_state: LedgerState,
    occurred_at: datetime,
) -> ledger.Outcome:
    """Applies a booking's change (its new state at `occurred_at`) to its line."""
    await hold_batches_off(session)
    booking_id = uuid.UUID(facts.booking_id)
    paid = await _payment_of(session, booking_id)
    if paid is not None:
        return _counted(_paid_line_event(paid, booking_id, new_state, occurred_at))
    values = {**_facts(facts, starts_at), **_state(new_state, occurred_at)}
    inserted = await session.scalar(
        insert(LedgerLine)
        .values(booking_id=booking_id, **values)
        .on_conflict_do_nothing()
        .returning(LedgerLine.booking_id)
    )
    if inserted is not None:
        return _counted(ledger.Outcome.APPLY)
    line = (
        await session.execute(
            select(LedgerLine).where(LedgerLine.booking_id == booking_id).with_for_update()
        )
    ).scalar_one()
    outcome = ledger.decide(
        ledger.Line(line.state, line.last_event_at, paid=False), new_state, occurred_at
    )
    if outcome is ledger.Outcome.APPLY:
        for name, value in values.items():
            setattr(line, name, value)
        line.updated_at = func.now()
    return _counted(outcome)


async def _payment_of(session: AsyncSession, booking_id: uuid.UUID) -> Row | None:
    """The booking's payment line (payment_id, used_at, venue_id) if it was paid."""
    paid = await session.execute(
        select(PaymentLine.payment_id, PaymentLine.used_at, Payment.venue_id)
        .outerjoin(Payment, Payment.id == PaymentLine.payment_id)
        .where(PaymentLine.booking_id == booking_id)
    )
    return paid.first()


def _paid_line_event(
    paid: Row, booking_id: uuid.UUID, new_state: LedgerState, occurred_at: datetime
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
