"""The daily run (`python -m importer sync-all`): every enabled venue, a bounded number at a
time, under a PostgreSQL advisory lock so that two runners never work at once. Idempotent: a
second run re-imports feeds the catalog already has, which changes nothing."""

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from importer import store
from importer.domain.status import SyncStatus, SyncTrigger
from importer.sync import Syncer

log = logging.getLogger(__name__)

# Advisory lock keys are per database: one fixed key for this job.
SYNC_ALL_LOCK = 7_301_201


@dataclass
class DailyReport:
    succeeded: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    # Venues with a sync already under way (e.g. asked by the pro): left to that one.
    busy: list[uuid.UUID] = field(default_factory=list)


async def sync_all(
    engine: AsyncEngine,
    syncer: Syncer,
    *,
    concurrency: int,
    timezones: tuple[str, ...] = (),
    full: bool = False,
) -> DailyReport | None:
    """Syncs every enabled venue (of these timezones, if given); None when another runner
    holds the lock."""
    async with engine.connect() as conn:
        if not await _try_lock(conn):
            log.info("sync-all is already running elsewhere: skipped")
            return None
        try:
            return await _sync_venues(syncer, concurrency, timezones, full)
        finally:
            await _unlock(conn)


async def _sync_venues(
    syncer: Syncer, concurrency: int, timezones: tuple[str, ...], full: bool
) -> DailyReport:
    await syncer.fail_stale()
    async with syncer.sessions() as session:
        venue_ids = await store.enabled_venue_ids(session, timezones)
    report = DailyReport()
    slots = asyncio.Semaphore(concurrency)

    async def one(venue_id: uuid.UUID) -> None:
        try:
            async with slots:
                done = await syncer.run_now(venue_id, SyncTrigger.SCHEDULED, full=full)
        except Exception:  # e.g. the database went away: the other venues still try
            log.exception("sync could not run", extra={"venue_id": str(venue_id)})
            report.failed.append(venue_id)
            return
        if done is None:
            report.busy.append(venue_id)
        elif done.status == SyncStatus.SUCCEEDED:
            report.succeeded.append(venue_id)
        else:
            report.failed.append(venue_id)

    await asyncio.gather(*(one(venue_id) for venue_id in venue_ids))
    log.info(
        "sync-all done",
        extra={
            "venues": len(venue_ids),
            "succeeded": len(report.succeeded),
            "failed": len(report.failed),
            "busy": len(report.busy),
        },
    )
    return report


async def _try_lock(conn: AsyncConnection) -> bool:
    locked = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SYNC_ALL_LOCK})
    await conn.commit()
    return bool(locked)


async def _unlock(conn: AsyncConnection) -> None:
    if conn.in_transaction():
        await conn.rollback()
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SYNC_ALL_LOCK})
    await conn.commit()
