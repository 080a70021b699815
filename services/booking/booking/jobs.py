"""Scheduled jobs. Each takes a PostgreSQL advisory lock, so that two runners (two CronJob pods,
or the CronJob and an admin's on-demand run) never work at once; each is idempotent."""

import logging
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from booking import events, lifecycle
from booking.domain import rules
from booking.domain.status import BookingStatus, ValidationAuthor
from booking.models import Booking, Venue

log = logging.getLogger(__name__)

# Advisory lock keys are per database: one fixed key per job of this service.
AUTO_USE_LOCK = 7_301_001
BATCH_SIZE = 500


async def auto_use(engine: AsyncEngine, *, batch_size: int = BATCH_SIZE) -> int:
    """Marks USED (author AUTO) every CONFIRMED booking whose showtime started more than 48h
    ago, each with its `booking.used` event; returns how many. Returns 0 without doing anything
    when another runner holds the lock."""
    # A session-level advisory lock belongs to a connection: take it, work and release it on one.
    async with engine.connect() as conn:
        if not await _try_lock(conn, AUTO_USE_LOCK):
            log.info("auto-use is already running elsewhere: skipped")
            return 0
        try:
            return await use_due_bookings(conn, batch_size)
        finally:
            await _unlock(conn, AUTO_USE_LOCK)


async def _try_lock(conn: AsyncConnection, key: int) -> bool:
    locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
    await conn.commit()
    return bool(locked)


async def _unlock(conn: AsyncConnection, key: int) -> None:
    if conn.in_transaction():
        await conn.rollback()
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    await conn.commit()


async def use_due_bookings(conn: AsyncConnection, batch_size: int) -> int:
    """The work of auto_use, in batches of one transaction each, without the advisory lock: the
    row locks alone already keep two runners from using a booking twice."""
    sessions = async_sessionmaker[AsyncSession](bind=conn, expire_on_commit=False)
    now = datetime.now(UTC)
    total = 0
    while True:
        async with sessions.begin() as session:
            used = await _use_batch(session, rules.auto_use_before(now), now, batch_size)
        total += used
        if used < batch_size:
            log.info("auto-use done", extra={"bookings_used": total})
            return total


async def _use_batch(session: AsyncSession, before: datetime, now: datetime, size: int) -> int:
    rows = (
        await session.execute(
            select(Booking, Venue)
            .join(Venue, Venue.id == Booking.venue_id)
            .where(Booking.status == BookingStatus.CONFIRMED, Booking.starts_at < before)
            .order_by(Booking.starts_at, Booking.id)
            .limit(size)
            # A booking being used or cancelled at the counter right now is left to the next run.
            .with_for_update(of=Booking, skip_locked=True)
        )
    ).all()
    for booking, venue in rows:
        await events.record(session, lifecycle.use(booking, venue, now, ValidationAuthor.AUTO))
    return len(rows)
