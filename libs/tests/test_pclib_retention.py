"""Retention: expired inbox rows and idempotency keys go, recent ones stay."""

import asyncio

from event_helpers import inbox, metric
from sqlalchemy import func, insert, select, text

from pclib import retention


async def add_inbox_rows(engine, ages_in_days: list[int]) -> None:
    async with engine.begin() as conn:
        for number, days in enumerate(ages_in_days):
            await conn.execute(
                insert(inbox).values(
                    message_id=f"m{number}-{days}",
                    routing_key="thing.created",
                    received_at=func.now() - text(f"interval '{days} days'"),
                )
            )


async def kept_ids(engine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.scalars(select(inbox.c.message_id))).all())


async def test_purge_deletes_only_what_is_older_than_kept_in_batches(engine):
    await add_inbox_rows(engine, [40, 31, 35, 29, 1, 0, 45])
    before = metric("retention_rows_deleted_total", table="inbox")

    deleted = await retention.purge(engine, retention.INBOX, batch_rows=2)

    assert deleted == 4
    assert await kept_ids(engine) == {"m3-29", "m4-1", "m5-0"}
    assert metric("retention_rows_deleted_total", table="inbox") == before + 4
    assert await retention.purge(engine, retention.INBOX) == 0


async def test_run_purges_at_once_and_stops_when_asked(engine):
    await add_inbox_rows(engine, [60, 2])
    stop = asyncio.Event()
    running = asyncio.create_task(retention.run(engine, [retention.INBOX], stop, every_seconds=60))

    async def purged() -> bool:
        return await kept_ids(engine) == {"m1-2"}

    for _ in range(100):
        if await purged():
            break
        await asyncio.sleep(0.05)
    assert await purged()
    stop.set()
    await asyncio.wait_for(running, timeout=2)


async def test_a_failing_purge_does_not_stop_the_loop(engine):
    missing = retention.Retention("no_such_table", "created_at", retention.INBOX.kept)
    await add_inbox_rows(engine, [60])
    stop = asyncio.Event()
    running = asyncio.create_task(
        retention.run(engine, [missing, retention.INBOX], stop, every_seconds=60)
    )
    for _ in range(100):
        if not await kept_ids(engine):
            break
        await asyncio.sleep(0.05)
    assert not await kept_ids(engine)
    stop.set()
    await asyncio.wait_for(running, timeout=2)
