"""One PostgreSQL advisory lock (per database) between batches and ledger changes.

A batch holds it exclusively for its whole transaction: two batches never run at once (the
second then finds the first's cutoff), and no ledger line changes under a batch. Event handlers
that change ledger lines hold it shared: they run side by side, and wait for a batch under way.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

BATCH_LOCK = 7_304_001


async def lock_for_batch(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BATCH_LOCK})


async def hold_batches_off(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": BATCH_LOCK})
