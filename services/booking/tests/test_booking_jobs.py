"""Automatic validation: CONFIRMED bookings become USED (author AUTO) 48h after their showtime."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import select, text

from booking import jobs, models
from passculture.booking.v1 import events_pb2
from passculture.booking.v1 import job_service_pb2 as pb
from pclib.grpc_client import error_info
from tests.support.booking_helpers import outbox_events, store_booking, store_venue
from tests.support.catalog_helpers import auth

H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
async def venue(booking_engine):
    return await store_venue(booking_engine)


def started_ago(delta: timedelta) -> datetime:
    return datetime.now(UTC) - delta


async def due_booking(engine, venue, **fields):
    """A CONFIRMED booking whose showtime started a bit more than 48h ago."""
    return await store_booking(engine, venue, starts_at=started_ago(48 * H + 5 * MINUTE), **fields)


async def rows(engine) -> dict[uuid.UUID, models.Booking]:
    async with engine.connect() as conn:
        found = await conn.execute(select(models.Booking))
        return {row.id: row for row in found}


async def test_bookings_48h_after_their_showtime_become_used(booking_engine, venue):
    due = await due_booking(booking_engine, venue)
    not_yet = await store_booking(booking_engine, venue, starts_at=started_ago(48 * H - 5 * MINUTE))
    untouched = {
        status: await store_booking(
            booking_engine, venue, status=status, starts_at=started_ago(10 * 24 * H)
        )
        for status in ("PENDING", "USED", "REIMBURSED", "CANCELLED", "FAILED")
    }

    assert await jobs.auto_use(booking_engine) == 1

    after = await rows(booking_engine)
    used = after[due.booking.id]
    assert (used.status, used.validated_by) == ("USED", "AUTO")
    assert abs(datetime.now(UTC) - used.used_at) < timedelta(seconds=10)
    assert after[not_yet.booking.id].status == "CONFIRMED"
    for status, stored in untouched.items():
        assert after[stored.booking.id].status == status
    assert after[untouched["USED"].booking.id].validated_by == "OFFERER"
    (event,) = await outbox_events(booking_engine, events_pb2.BookingUsed)
    assert event.validated_by == "AUTO"
    assert event.booking.booking_id == str(due.booking.id)
    assert event.used_at.ToDatetime(tzinfo=UTC) == used.used_at


async def test_running_again_changes_nothing_and_the_lock_is_released(booking_engine, venue):
    await due_booking(booking_engine, venue)
    assert await jobs.auto_use(booking_engine) == 1
    assert await jobs.auto_use(booking_engine) == 0
    assert len(await outbox_events(booking_engine, events_pb2.BookingUsed)) == 1

    # The lock went with the runs: a later run does its work.
    later = await due_booking(booking_engine, venue)
    assert await jobs.auto_use(booking_engine) == 1
    assert (await rows(booking_engine))[later.booking.id].status == "USED"


async def test_a_run_skips_while_another_holds_the_lock(booking_engine, venue):
    due = await due_booking(booking_engine, venue)
    async with booking_engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": jobs.AUTO_USE_LOCK})
        assert await jobs.auto_use(booking_engine) == 0
        assert (await rows(booking_engine))[due.booking.id].status == "CONFIRMED"
        await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": jobs.AUTO_USE_LOCK})
    assert await jobs.auto_use(booking_engine) == 1


async def assert_each_used_once(engine, stored) -> None:
    after = await rows(engine)
    assert {after[s.booking.id].status for s in stored} == {"USED"}
    events = await outbox_events(engine, events_pb2.BookingUsed)
    assert sorted(e.booking.booking_id for e in events) == sorted(str(s.booking.id) for s in stored)


async def test_two_concurrent_runs_use_each_booking_once(booking_engine, venue):
    stored = [await due_booking(booking_engine, venue) for _ in range(40)]

    counts = await asyncio.gather(*(jobs.auto_use(booking_engine, batch_size=7) for _ in range(2)))

    assert sum(counts) == 40
    await assert_each_used_once(booking_engine, stored)


async def test_without_the_lock_the_row_locks_still_use_each_booking_once(booking_engine, venue):
    # The second line of defence: two runners that both got past the advisory lock.
    stored = [await due_booking(booking_engine, venue) for _ in range(40)]

    async def run_unlocked() -> int:
        async with booking_engine.connect() as conn:
            return await jobs.use_due_bookings(conn, batch_size=3)

    counts = await asyncio.gather(run_unlocked(), run_unlocked(), run_unlocked())

    assert sum(counts) == 40
    await assert_each_used_once(booking_engine, stored)


async def test_an_admin_runs_it_on_demand(booking, booking_engine, issuer, venue):
    await due_booking(booking_engine, venue)
    admin = auth(issuer, str(uuid.uuid4()), "admin")

    reply = await booking.jobs.RunAutoUse(pb.RunAutoUseRequest(), metadata=admin)

    assert reply.bookings_used == 1
    for role in ("pro", "beneficiary"):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await booking.jobs.RunAutoUse(
                pb.RunAutoUseRequest(), metadata=auth(issuer, str(uuid.uuid4()), role)
            )
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error_info(raised.value).reason == "FORBIDDEN"
