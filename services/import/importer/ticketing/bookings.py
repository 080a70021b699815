"""A booking's tickets in its venue's ticketing system, each transition guarded by the row's
status (locked): recorded BOOKING before the system is called, BOOKED with its tickets, FAILED
when the system refused, CANCELLED for good (a late BookTickets is refused)."""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from importer.domain.ticketing_rules import ExternalBookingStatus as Status
from importer.models import ExternalBooking
from importer.ticketing import Ticket
from passculture.importer.v1.reasons import Reason
from pclib.errors import FailedPrecondition, Unavailable


@dataclass(frozen=True)
class Attempt:
    booking_id: uuid.UUID
    venue_id: uuid.UUID
    stock_reference: str
    quantity: int


def unknown_outcome() -> Unavailable:
    return Unavailable(
        Reason.TICKETING_UNAVAILABLE,
        "the ticketing system did not answer: its tickets may exist, cancel them",
    )


async def begin(session: AsyncSession, attempt: Attempt) -> list[Ticket] | None:
    """Records the attempt (BOOKING); the tickets when the booking has them already (None:
    call the system)."""
    inserted = await session.scalar(
        insert(ExternalBooking)
        .values(
            booking_id=attempt.booking_id,
            venue_id=attempt.venue_id,
            stock_reference=attempt.stock_reference,
            quantity=attempt.quantity,
            status=Status.BOOKING,
        )
        .on_conflict_do_nothing(index_elements=[ExternalBooking.booking_id])
        .returning(ExternalBooking.booking_id)
    )
    if inserted is not None:
        return None
    row = await _locked(session, attempt.booking_id)
    if row.status == Status.BOOKED:
        return tickets_of(row)
    if row.status == Status.CANCELLED:
        raise FailedPrecondition(Reason.TICKETS_CANCELLED, "this booking's tickets were cancelled")
    if row.status == Status.BOOKING:
        raise unknown_outcome()
    row.status = Status.BOOKING  # FAILED before: the system said no, try again
    return None


async def booked(session: AsyncSession, booking_id: uuid.UUID, tickets: list[Ticket]) -> None:
    await _set(
        session,
        booking_id,
        Status.BOOKED,
        tickets=[{"barcode": t.barcode, "seat": t.seat or ""} for t in tickets],
    )


async def failed(session: AsyncSession, booking_id: uuid.UUID) -> None:
    await _set(session, booking_id, Status.FAILED)


async def to_cancel(session: AsyncSession, booking_id: uuid.UUID) -> ExternalBooking | None:
    """The booking's row, locked, when tickets must be cancelled in the system; None when there
    is nothing to cancel there (the booking is then CANCELLED for good)."""
    await session.execute(
        insert(ExternalBooking)
        .values(
            booking_id=booking_id,
            venue_id=uuid.UUID(int=0),
            stock_reference="",
            quantity=0,
            status=Status.CANCELLED,
        )
        .on_conflict_do_nothing(index_elements=[ExternalBooking.booking_id])
    )
    row = await _locked(session, booking_id)
    if row.status == Status.BOOKING:
        raise unknown_outcome()
    if row.status == Status.BOOKED:
        return row
    row.status = Status.CANCELLED
    return None


async def cancelled(session: AsyncSession, booking_id: uuid.UUID) -> None:
    await _set(session, booking_id, Status.CANCELLED)


def tickets_of(row: ExternalBooking) -> list[Ticket]:
    return [Ticket(t["barcode"], t["seat"] or None) for t in row.tickets]


async def _locked(session: AsyncSession, booking_id: uuid.UUID) -> ExternalBooking:
    return (
        await session.scalars(
            select(ExternalBooking)
            .where(ExternalBooking.booking_id == booking_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def _set(
    session: AsyncSession, booking_id: uuid.UUID, status: Status, **values: object
) -> None:
    await session.execute(
        update(ExternalBooking)
        .where(ExternalBooking.booking_id == booking_id)
        .values(status=status, updated_at=func.now(), **values)
    )
