"""What the database's sessions are doing during a run (pg_stat_activity), averaged."""

import asyncio

import psycopg

from pclib.db import libpq_dsn

# The bench's own connections say so, to be left out of the server's figures.
BENCH_APPLICATION = "bench"

ACTIVITY_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'idle in transaction'),
       count(*) FILTER (WHERE wait_event_type = 'Lock')
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND application_name <> %s AND backend_type = 'client backend'
"""


async def server_sessions(database_url: str, samples: int = 20, interval_s: float = 0.05) -> dict:
    """Average number of the server's sessions: open, running a statement, idle inside a
    transaction (holding its locks while the server works or waits), waiting on a lock."""
    totals = [0, 0, 0, 0]
    async with await psycopg.AsyncConnection.connect(
        libpq_dsn(database_url), autocommit=True, application_name=BENCH_APPLICATION
    ) as conn:
        for _ in range(samples):
            cursor = await conn.execute(ACTIVITY_SQL, (BENCH_APPLICATION,))
            row = await cursor.fetchone()
            totals = [total + value for total, value in zip(totals, row, strict=True)]
            await asyncio.sleep(interval_s)
    names = ("open", "active", "idle_in_transaction", "waiting_on_lock")
    return {name: round(total / samples, 1) for name, total in zip(names, totals, strict=True)}
