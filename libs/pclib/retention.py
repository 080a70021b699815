"""Retention of the bookkeeping tables that grow with traffic: the inbox (ids of the messages
already handled), idempotency keys, and the sign-in sessions and wrong-password counters of the
services that own accounts. Each service's relay process trims them every hour.

Deletes go by batches of rows found oldest first by a plain scan (these tables are filled in
time order, so the expired rows sit at the start of the heap): no index is needed, and no
transaction holds many locks.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from pclib.topology import sleep_unless_stopped

log = logging.getLogger(__name__)

ROWS_DELETED = Counter(
    "retention_rows_deleted_total", "Expired bookkeeping rows deleted, by table.", ["table"]
)
BATCH_ROWS = 10_000
EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Retention:
    table: str
    time_column: str
    kept: timedelta


# Far longer than any redelivery, replays from a dead-letter queue included: a message id
# forgotten after that would be handled again.
INBOX = Retention("inbox", "received_at", timedelta(days=30))
# Clients retry a create within minutes; a day is the usual promise (as Stripe's).
IDEMPOTENCY_KEYS = Retention("idempotency_keys", "created_at", timedelta(days=1))
# A session a day after its newest refresh token expired (its tokens go with it, ON DELETE
# CASCADE): a retired token is kept as long as its family, to detect its reuse.
REFRESH_TOKEN_FAMILIES = Retention("refresh_token_families", "expires_at", timedelta(days=1))
# Wrong-password counters, which count for an hour after their last attempt (SignInSettings).
LOGIN_FAILURES = Retention("login_failures", "last_attempt_at", timedelta(days=1))
# The tables of a service that owns accounts (pclib.refresh_tokens, pclib.login_throttle).
SIGN_IN = [REFRESH_TOKEN_FAMILIES, LOGIN_FAILURES]


async def purge(engine: AsyncEngine, retention: Retention, batch_rows: int = BATCH_ROWS) -> int:
    """Deletes the rows older than the retention, one batch per transaction; returns how many."""
    # Names from this module's constants, never from input. `ctid = ANY(ARRAY(…))` deletes by
    # tuple id (a TID scan) the rows the limited scan found.
    statement = text(
        f"DELETE FROM {retention.table} WHERE ctid = ANY(ARRAY("  # noqa: S608
        f"SELECT ctid FROM {retention.table}"
        f" WHERE {retention.time_column} < now() - :kept LIMIT :batch_rows))"
    )
    total = 0
    while True:
        async with engine.begin() as conn:
            result = await conn.execute(
                statement, {"kept": retention.kept, "batch_rows": batch_rows}
            )
        total += result.rowcount
        ROWS_DELETED.labels(retention.table).inc(result.rowcount)
        if result.rowcount < batch_rows:
            return total


async def run(
    engine: AsyncEngine,
    retentions: list[Retention],
    stop: asyncio.Event,
    every_seconds: float = EVERY_SECONDS,
) -> None:
    """Purges each table now, then every `every_seconds`, until `stop` is set. A failure is
    logged and retried at the next round: it must never stop the process it runs in."""
    while not stop.is_set():
        for retention in retentions:
            try:
                deleted = await purge(engine, retention)
            except Exception:
                log.exception("purging %s failed", retention.table)
            else:
                if deleted:
                    log.info("purged", extra={"table": retention.table, "rows": deleted})
        await sleep_unless_stopped(stop, every_seconds)
