"""The revoked tickets of a venue: what an offline counter must refuse, polled every minute.

A booking's `updated_at` is its last change's transaction start (`now()`). A poll answers the
bookings changed since `since` and a `next_since` that misses nothing, even with transactions
committing out of order: not the poll's own time (a transaction that started earlier may commit
after the poll, its rows stamped before that time), but the start of the oldest transaction
still running in the database when the poll began (pg_stat_activity), read before the query
takes its snapshot: every change stamped earlier was committed by then, so the query sees it.
A long transaction only holds `next_since` back: the next polls answer some bookings again.
The service's role sees its own sessions in pg_stat_activity, and they are the only writers.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain.status import BookingStatus
from booking.models import Booking

# Cancelled, used, or used and paid: refused at the counter.
REVOKED = (BookingStatus.CANCELLED, BookingStatus.USED, BookingStatus.REIMBURSED)
# Valid again after a change (a validation undone, a moved showtime).
RESTORED = (BookingStatus.CONFIRMED,)
OLDEST_RUNNING_TRANSACTION = text(
    "SELECT coalesce(min(xact_start), now()) FROM pg_stat_activity"
    " WHERE datname = current_database() AND backend_type = 'client backend'"
)


@dataclass(frozen=True)
class Revocations:
    revoked: list[uuid.UUID]
    restored: list[uuid.UUID]
    next_since: datetime


async def of_venue(
    session: AsyncSession, venue_id: uuid.UUID, showtimes_from: datetime, since: datetime | None
) -> Revocations:
    """The venue's bookings of showtimes from `showtimes_from` on, revoked (or restored) since
    `since` (None: revoked ever). In a READ COMMITTED transaction: each statement its snapshot."""
    next_since = await session.scalar(OLDEST_RUNNING_TRANSACTION)
    assert next_since is not None
    statuses = REVOKED if since is None else REVOKED + RESTORED
    query = select(Booking.id, Booking.status).where(
        Booking.venue_id == venue_id,
        Booking.starts_at >= showtimes_from,
        Booking.status.in_(statuses),
    )
    if since is not None:
        query = query.where(Booking.updated_at >= since)
    rows = (await session.execute(query.order_by(Booking.id))).all()
    return Revocations(
        revoked=[row.id for row in rows if row.status in REVOKED],
        restored=[row.id for row in rows if row.status in RESTORED],
        next_since=next_since,
    )
