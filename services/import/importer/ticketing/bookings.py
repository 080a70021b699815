"""A booking's tickets in its venue's ticketing system, each transition guarded by the row's
status (locked): recorded BOOKING before the system is called, then BOOKED with its tickets,
FAILED when the system refused, UNCERTAIN when it failed or did not answer (tickets may exist
there without their barcode); CANCELLED for good (a late BookTickets is refused)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from importer.domain.ticketing_rules import BOOKING_ABANDONED_AFTER
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


@dataclass(frozen=True)
class Cancellation:
    """What cancelling a booking's tickets takes: their barcodes in the system, or nothing can
    be done there (`uncertain`: tickets may exist without their barcode)."""

    venue_id: uuid.UUID
    barcodes: list[str]
    uncertain: bool


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
    if row.status in (Status.BOOKING, Status.UNCERTAIN):  # never book twice
        raise unknown_outcome()
    row.status = Status.BOOKING  # FAILED before: the system said no, try again
    row.updated_at = func.now()
    return None


async def booked(session: AsyncSession, booking_id: uuid.UUID, tickets: list[Ticket]) -> bool:
    """False when the row is no longer BOOKING (cancelled meanwhile as abandoned)."""
    return await _settle(
        session,
        booking_id,
        Status.BOOKED,
        tickets=[{"barcode": t.barcode, "seat": t.seat or ""} for t in tickets],
    )


async def failed(session: AsyncSession, booking_id: uuid.UUID) -> None:
    await _settle(session, booking_id, Status.FAILED)


async def uncertain(session: AsyncSession, booking_id: uuid.UUID) -> None:
    await _settle(session, booking_id, Status.UNCERTAIN)


async def to_cancel(session: AsyncSession, booking_id: uuid.UUID) -> Cancellation | None:
    """What cancelling takes, the row CANCELLED already when nothing can be done in the system;
    None when there is nothing to cancel there (the booking is then CANCELLED for good). A
    BOOKING row raises UNAVAILABLE (its call is under way: call again), unless abandoned."""
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
    if row.status == Status.BOOKING and not await _abandoned(session, row):
        raise unknown_outcome()
    if row.status == Status.BOOKED:
        return Cancellation(row.venue_id, [t.barcode for t in tickets_of(row)], uncertain=False)
    was_uncertain = row.status in (Status.BOOKING, Status.UNCERTAIN)
    row.status = Status.CANCELLED
    row.updated_at = func.now()
    return Cancellation(row.venue_id, [], uncertain=True) if was_uncertain else None


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


async def _abandoned(session: AsyncSession, row: ExternalBooking) -> bool:
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now - row.updated_at > BOOKING_ABANDONED_AFTER


async def _set(
    session: AsyncSession, booking_id: uuid.UUID, status: Status, **values: object
) -> None:
    await session.execute(
        update(ExternalBooking)
        .where(ExternalBooking.booking_id == booking_id)
        .values(status=status, updated_at=func.now(), **values)
    )


async def _settle(
    session: AsyncSession, booking_id: uuid.UUID, status: Status, **values: object
) -> bool:
    """The system's answer to a BOOKING row; False when the row is no longer BOOKING."""
    settled = await session.scalar(
        update(ExternalBooking)
        .where(ExternalBooking.booking_id == booking_id, ExternalBooking.status == Status.BOOKING)
        .values(status=status, updated_at=func.now(), **values)
        .returning(ExternalBooking.booking_id)
    )
    return settled is not None
