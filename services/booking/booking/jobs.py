"""Scheduled jobs. Each takes a PostgreSQL advisory lock, so that two runners (two CronJob pods,
or the CronJob and an admin's on-demand run) never work at once; each is idempotent."""

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, cast, exists, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from booking import events, lifecycle
from booking.domain import rules
from booking.domain.status import BookingStatus, ValidationAuthor
from booking.models import Booking, BookingReminder, Venue

log = logging.getLogger(__name__)

# Advisory lock keys are per database: one fixed key per job of this service.
AUTO_USE_LOCK = 7_301_001
REMIND_LOCK = 7_301_002
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


async def remind_tomorrow(
    engine: AsyncEngine, *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Records a day-before reminder (its `booking.reminder_due` event, which the emails
    consumer sends) for every CONFIRMED booking whose showtime is on the next local day of its
    venue, once per booking ever (booking_reminders); returns how many were recorded now."""
    async with engine.connect() as conn:
        if not await _try_lock(conn, REMIND_LOCK):
            log.info("remind-tomorrow is already running elsewhere: skipped")
            return 0
        try:
            return await record_reminders(conn, now or datetime.now(UTC), batch_size)
        finally:
            await _unlock(conn, REMIND_LOCK)


async def record_reminders(conn: AsyncConnection, now: datetime, batch_size: int) -> int:
    """The work of remind_tomorrow, in batches of one transaction each. A booking's reminder row
    and its event commit together, and a second row for it is refused: one reminder each."""
    sessions = async_sessionmaker[AsyncSession](bind=conn, expire_on_commit=False)
    total = 0
    while True:
        async with sessions.begin() as session:
            recorded = await _remind_batch(session, now, batch_size)
        total += recorded
        if recorded < batch_size:
            log.info("remind-tomorrow done", extra={"reminders_recorded": total})
            return total


def _local_date(
    moment: ColumnElement[datetime] | InstrumentedAttribute[datetime],
) -> ColumnElement[date]:
    """The date of an instant in the venue's timezone (SQL)."""
    return cast(func.timezone(Venue.timezone, moment), Date)


async def _remind_batch(session: AsyncSession, now: datetime, size: int) -> int:
    rows = (
        await session.execute(
            select(Booking, Venue)
            .join(Venue, Venue.id == Booking.venue_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED,
                # Bounds for the index; the next local day lies within them in any timezone.
                Booking.starts_at > now,
                Booking.starts_at < now + timedelta(days=3),
                _local_date(Booking.starts_at)
                == _local_date(literal(now, Booking.starts_at.type)) + 1,
                ~exists().where(BookingReminder.booking_id == Booking.id),
            )
            .order_by(Booking.starts_at, Booking.id)
            .limit(size)
        )
    ).all()
    if not rows:
        return 0
    recorded = set(
        await session.scalars(
            insert(BookingReminder)
            .values([{"booking_id": booking.id} for booking, _ in rows])
            .on_conflict_do_nothing()
            .returning(BookingReminder.booking_id)
        )
    )
    for booking, venue in rows:
        if booking.id in recorded:
            await events.record(session, events.reminder_due(booking, venue))
    return len(rows)


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
