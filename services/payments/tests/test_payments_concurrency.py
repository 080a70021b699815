"""Two batches asked at once with the same cutoff make one batch, and pay each booking once.

Both calls are held inside their transactions (by an event handler's shared hold on the ledger)
until each waits for the batch lock; the negative control replaces the lock with a barrier that
lets both go on together, and shows that they then collide."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select, text

from payments import models
from payments.batch import run
from payments.batch.lock import BATCH_LOCK, hold_batches_off
from tests.support.payments_helpers import (
    create_batch,
    new_venue,
    store_bank_account,
    store_used_lines,
)
from tests.support.pclib_fixtures import eventually

WAITING_FOR_BATCH_LOCK = text(
    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
    " WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted"
    " AND l.classid = 0 AND l.objid = :key"
)


async def waiting_for_the_lock(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(WAITING_FOR_BATCH_LOCK, {"key": BATCH_LOCK})


async def both_waiting(engine) -> bool:
    return await waiting_for_the_lock(engine) == 2


async def count(engine, table) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(table))


@pytest.fixture
async def due(payments_engine):
    venue = new_venue()
    await store_bank_account(payments_engine, venue)
    ago = datetime.now(UTC) - timedelta(days=2)
    return await store_used_lines(payments_engine, venue, [ago] * 5)


async def test_two_batches_at_once_with_one_cutoff_make_one(payments, payments_engine, admin, due):
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    async with payments_engine.connect() as handler:
        await handler.begin()
        await hold_batches_off(handler)
        calls = [asyncio.create_task(create_batch(payments, admin, cutoff)) for _ in range(2)]
        await eventually(lambda: both_waiting(payments_engine), within=10)
        await handler.rollback()
    replies = await asyncio.gather(*calls)

    assert sorted(reply.created for reply in replies) == [False, True]
    assert replies[0].batch == replies[1].batch
    assert replies[0].batch.booking_count == len(due)
    assert await count(payments_engine, models.Payment.__table__) == 1
    assert await count(payments_engine, models.PaymentLine.__table__) == len(due)
    assert await count(payments_engine, models.outbox) == 1


async def test_without_the_lock_the_two_batches_collide(
    payments, payments_engine, admin, due, monkeypatch
):
    barrier = asyncio.Barrier(2)

    async def no_lock(conn) -> None:
        await barrier.wait()

    monkeypatch.setattr(run, "lock_for_batch", no_lock)
    cutoff = datetime.now(UTC) - timedelta(hours=1)
    replies = await asyncio.gather(
        *(create_batch(payments, admin, cutoff) for _ in range(2)), return_exceptions=True
    )

    failures = [r for r in replies if isinstance(r, grpc.aio.AioRpcError)]
    assert [f.code() for f in failures] == [grpc.StatusCode.INTERNAL]
    assert await count(payments_engine, models.PaymentLine.__table__) == len(due)
    assert uuid.UUID(next(r for r in replies if r not in failures).batch.id)
