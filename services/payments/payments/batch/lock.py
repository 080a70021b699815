"""One PostgreSQL advisory lock (per database) between batches and ledger changes.

A batch holds it exclusively for its whole transaction: two batches never run at once (the
second then finds the first's cutoff), and no ledger line changes under a batch. Event handlers
that change ledger lines hold it shared: they run side by side, and wait for a batch under way.
"""

from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

BATCH_LOCK = 7_304_001
HOLD_BATCHES_OFF = f"SELECT pg_advisory_xact_lock_shared({BATCH_LOCK})"


async def lock_for_batch(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BATCH_LOCK})


async def hold_batches_off(session: AsyncSession) -> None:
    await session.execute(text(HOLD_BATCHES_OFF))


async def hold_batches_off_on(conn: psycopg.AsyncConnection[Any]) -> None:
    """hold_batches_off, in a psycopg transaction (the booking events' consumer)."""
    await conn.execute(HOLD_BATCHES_OFF)
