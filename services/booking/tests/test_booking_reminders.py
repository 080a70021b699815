"""The day-before reminder (`python -m booking remind-tomorrow`): one per CONFIRMED booking of
the venue's next local day, recorded once ever (booking_reminders), emailed by the worker."""

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from booking import jobs, models
from passculture.booking.v1 import events_pb2
from tests.support.booking_helpers import outbox_events, store_booking, store_venue
from tests.support.pclib_fixtures import consumed, eventually
from tests.support.smtp_sink import message_id, smtp_server, text

ROOT = Path(__file__).resolve().parents[3]
# Friday 12 March 2027, 10:00 in Paris (UTC+1): 13:00 in Réunion (UTC+4).
NOW = datetime(2027, 3, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
async def reunion(booking_engine):
    return await store_venue(
        booking_engine, name="Ciné Soleil", timezone="Indian/Reunion", booking_email="r@s.test"
    )


@pytest.fixture
async def paris(booking_engine):
    return await store_venue(booking_engine, name="Le Champo", timezone="Europe/Paris")


async def reminded(engine) -> set:
    return {event.booking.booking_id for event in await reminder_events(engine)}


async def reminder_events(engine) -> list[events_pb2.BookingReminderDue]:
    return await outbox_events(engine, events_pb2.BookingReminderDue)


async def store_at(engine, venue, starts_at: datetime, **fields):
    stored = await store_booking(
        engine, venue, starts_at=starts_at, booked_at=NOW - timedelta(days=5), **fields
    )
    return str(stored.booking.id)


async def test_the_next_local_day_is_the_venues(booking_engine, reunion, paris):
    due = {
        # Saturday 13 March, 20:30 in Réunion.
        await store_at(booking_engine, reunion, datetime(2027, 3, 13, 16, 30, tzinfo=UTC)),
        # Saturday 13 March, 1:00 in Réunion (still Friday 12 March in UTC).
        await store_at(booking_engine, reunion, datetime(2027, 3, 12, 21, 0, tzinfo=UTC)),
        # Saturday 13 March, 23:30 in Paris (Sunday already in Réunion).
        await store_at(booking_engine, paris, datetime(2027, 3, 13, 22, 30, tzinfo=UTC)),
    }
    not_due = [
        # Sunday 14 March, 0:30 in Réunion (Saturday 21:30 in Paris).
        await store_at(booking_engine, reunion, datetime(2027, 3, 13, 20, 30, tzinfo=UTC)),
        # Today in Paris, tonight.
        await store_at(booking_engine, paris, datetime(2027, 3, 12, 19, 0, tzinfo=UTC)),
        # The day after tomorrow in Paris.
        await store_at(booking_engine, paris, datetime(2027, 3, 14, 9, 0, tzinfo=UTC)),
        # Tomorrow, but cancelled or used already.
        await store_at(
            booking_engine, paris, datetime(2027, 3, 13, 19, 0, tzinfo=UTC), status="CANCELLED"
        ),
        await store_at(
            booking_engine, paris, datetime(2027, 3, 13, 19, 0, tzinfo=UTC), status="USED"
        ),
    ]

    assert await jobs.remind_tomorrow(booking_engine, now=NOW) == 3
    assert await reminded(booking_engine) == due
    assert not set(not_due) & await reminded(booking_engine)


async def test_reminders_are_recorded_once_even_by_runs_at_the_same_time(booking_engine, paris):
    tomorrow = datetime(2027, 3, 13, 19, 0, tzinfo=UTC)
    ids = {await store_at(booking_engine, paris, tomorrow) for _ in range(5)}

    # Two at once (the advisory lock lets one work), then a third run: five reminders in all.
    runs = await asyncio.gather(
        jobs.remind_tomorrow(booking_engine, now=NOW),
        jobs.remind_tomorrow(booking_engine, now=NOW),
    )
    assert sorted(runs) == [0, 5]
    assert await jobs.remind_tomorrow(booking_engine, now=NOW + timedelta(hours=1)) == 0
    assert len(await reminder_events(booking_engine)) == 5
    # Without the lock too (its batches): the reminders table alone refuses a second one.
    async with booking_engine.connect() as conn:
        assert await jobs.record_reminders(conn, NOW, batch_size=2) == 0
    assert len(await reminder_events(booking_engine)) == 5

    # Negative control: the recorded reminders are what holds them back.
    async with booking_engine.begin() as conn:
        await conn.execute(delete(models.BookingReminder))
    async with booking_engine.connect() as conn:
        assert await jobs.record_reminders(conn, NOW, batch_size=2) == 5
    assert await reminded(booking_engine) == ids
    assert len(await reminder_events(booking_engine)) == 10


async def test_run_twice_the_young_person_gets_one_email(
    booking_engine, mail_pipeline, reunion, smtp_port
):
    stored = await store_booking(
        booking_engine,
        reunion,
        starts_at=datetime(2027, 3, 13, 16, 30, tzinfo=UTC),
        booked_at=NOW - timedelta(days=5),
        young={"email": "lea@example.com", "first_name": "Léa"},
        offer_title="Le Voyage dans la Lune",
    )
    async with smtp_server(smtp_port) as mailbox:
        assert await jobs.remind_tomorrow(booking_engine, now=NOW) == 1
        await eventually(lambda: len(mailbox.received) == 1)
        assert await jobs.remind_tomorrow(booking_engine, now=NOW) == 0
        # The outbox is empty again: the second run published nothing to send.
        await eventually(lambda: outbox_size(booking_engine))

    ((recipients, message),) = mailbox.received
    assert recipients == ["lea@example.com"]
    assert (
        message["Subject"] == "C'est demain : Le Voyage dans la Lune, samedi 13 mars 2027 à 20h30"
    )
    assert message_id(message) == f"<reminder.{stored.booking.id}@passculture.app>"
    body = text(message)
    assert "Bonjour Léa," in body
    assert "commence le samedi 13 mars 2027 à 20h30" in body
    assert f"Contremarque : {stored.booking.countermark}" in body
    assert any(part.get_content_type() == "image/png" for part in message.walk())


async def outbox_size(engine) -> bool:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(models.outbox)) == 0


async def test_the_command_records_tomorrows_reminders_once(booking_engine, booking_db_url, paris):
    """`python -m booking remind-tomorrow`, as the CronJob runs it, at the real time: run twice,
    one reminder."""
    tomorrow = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)
    stored = await store_booking(booking_engine, paris, starts_at=tomorrow.replace(hour=20))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / folder) for folder in ("gen", "libs", "services/booking")
        ),
        "DATABASE_URL": booking_db_url,
    }
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "booking", "remind-tomorrow", env=env, cwd=ROOT
        )
        assert await asyncio.wait_for(process.wait(), 60) == 0

    assert await reminded(booking_engine) == {str(stored.booking.id)}
    assert len(await reminder_events(booking_engine)) == 1


async def test_a_booking_moved_or_cancelled_since_its_reminder_was_recorded_gets_none(
    booking_engine, mail_pipeline, paris, smtp_port
):
    tomorrow = datetime(2027, 3, 13, 19, 0, tzinfo=UTC)
    moved = await store_booking(booking_engine, paris, starts_at=tomorrow)
    cancelled = await store_booking(booking_engine, paris, starts_at=tomorrow)
    handled = consumed(mail_pipeline.queue, "booking.reminder_due", "handled")
    # No SMTP server yet: a reminder handled before the changes below fails and comes back.
    assert await jobs.remind_tomorrow(booking_engine, now=NOW) == 2
    async with booking_engine.begin() as conn:
        await conn.execute(
            update(models.Booking)
            .where(models.Booking.id == moved.booking.id)
            .values(starts_at=tomorrow + timedelta(days=7))
        )
        await conn.execute(
            update(models.Booking)
            .where(models.Booking.id == cancelled.booking.id)
            .values(status="CANCELLED", cancelled_at=NOW, cancellation_reason="BENEFICIARY")
        )
    async with smtp_server(smtp_port) as mailbox:
        await eventually(
            lambda: consumed(mail_pipeline.queue, "booking.reminder_due", "handled") == handled + 2,
            within=20,
        )
    assert mailbox.received == []
