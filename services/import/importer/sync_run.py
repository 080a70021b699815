"""A sync run's transitions, each with its guard:

- claim: a new PENDING sync of a venue (asked by a pro), unless the venue has one under way;
- start: PENDING → RUNNING, or a new sync RUNNING at once (the daily run);
- heartbeat: a sign of life of a sync under way;
- finish: SUCCEEDED, or FAILED when the outcome has an error (an interruption included), with
  the `sync.finished` event (transactional outbox);
- fail_stale: the syncs under way without a sign of life for too long end FAILED (their
  process died): they would block every later sync of their venue.

Starting and finishing are one SQL statement each, in autocommit: the daily run starts and ends
a sync for every venue, so these two statements are its fixed cost. Starting returns at once
what the sync needs: the venue's settings and its last successful sync (whose feed fingerprint
tells whether the feed changed).
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from importer.domain.status import ACTIVE_STATUSES, SyncStatus, SyncTrigger, ended
from importer.events import FINISHED_EVENT, sync_finished
from importer.models import ACTIVE_SYNC, Sync
from pclib import tracing

MAX_REJECTIONS_KEPT = 50
INTERRUPTED = "interrupted: the import service stopped"


@dataclass
class SyncOutcome:
    """How a sync ended: FAILED when `error` is set."""

    offers_created: int = 0
    offers_updated: int = 0
    stocks_created: int = 0
    stocks_updated: int = 0
    showtimes_imported: int = 0
    showtimes_skipped: int = 0
    movies_rejected: int = 0
    rejected_movies: list[dict[str, str]] = field(default_factory=list)
    error: str = ""
    feed_fingerprint: bytes | None = None
    feed_unchanged: bool = False
    # Showtimes of the rejected movies (metrics only).
    showtimes_rejected: int = 0

    @property
    def status(self) -> SyncStatus:
        return ended(self.error)

    def interrupt(self) -> None:
        """The service stopped under the sync (its counts so far are kept)."""
        self.error = INTERRUPTED


# --- claim, and the syncs that stopped moving -------------------------------------------------


async def fail_stale(
    session: AsyncSession, stale_after: float, venue_id: uuid.UUID | None = None
) -> None:
    """Ends as FAILED the syncs (of the venue, or of all) under way without progress for
    `stale_after` seconds."""
    where = [
        Sync.status.in_(ACTIVE_STATUSES),
        Sync.heartbeat_at < func.now() - timedelta(seconds=stale_after),
    ]
    if venue_id is not None:
        where.append(Sync.venue_id == venue_id)
    await session.execute(
        update(Sync)
        .where(*where)
        .values(
            status=SyncStatus.FAILED,
            finished_at=func.now(),
            error=f"interrupted: no progress for {stale_after:.0f} s",
        )
    )


async def claim(
    session: AsyncSession, venue_id: uuid.UUID, trigger: SyncTrigger, stale_after: float
) -> tuple[Sync, bool]:
    """A new PENDING sync of the venue, or the one already under way: (sync, created)."""
    await fail_stale(session, stale_after, venue_id)
    statement = (
        insert(Sync)
        .values(id=uuid.uuid4(), venue_id=venue_id, status=SyncStatus.PENDING, trigger=trigger)
        .on_conflict_do_nothing(index_elements=[Sync.venue_id], index_where=text(ACTIVE_SYNC))
        .returning(Sync)
    )
    created = (await session.execute(statement)).scalar_one_or_none()
    if created is not None:
        return created, True
    active = await session.scalar(
        select(Sync).where(Sync.venue_id == venue_id, Sync.status.in_(ACTIVE_STATUSES))
    )
    if active is None:  # it ended between the two statements: try once more
        return await claim(session, venue_id, trigger, stale_after)
    return active, False


async def heartbeat(session: AsyncSession, sync_id: uuid.UUID) -> None:
    await session.execute(update(Sync).where(Sync.id == sync_id).values(heartbeat_at=func.now()))


# --- start ----------------------------------------------------------------------------------

_STARTED = """
SELECT s.id, s.venue_id, s.trigger, s.created_at, s.started_at,
       v.theater_id, v.price_cents, v.quantity, v.is_duo,
       COALESCE(t.timezone, v.timezone) AS timezone,
       t.system, t.cinema_id, t.account_id, t.secret_sealed,
       last.feed_fingerprint AS last_feed_fingerprint,
       last.showtimes_imported AS last_showtimes_imported,
       last.showtimes_skipped AS last_showtimes_skipped,
       last.movies_rejected AS last_movies_rejected,
       last.rejected_movies AS last_rejected_movies
FROM started s
LEFT JOIN allocine_venues v ON v.venue_id = s.venue_id
LEFT JOIN ticketing_links t ON t.venue_id = s.venue_id
LEFT JOIN LATERAL (
    SELECT p.feed_fingerprint, p.showtimes_imported, p.showtimes_skipped, p.movies_rejected,
           p.rejected_movies
    FROM syncs p
    WHERE p.venue_id = s.venue_id AND p.status = :succeeded
    ORDER BY p.created_at DESC
    LIMIT 1
) last ON true
"""

# A new sync RUNNING at once, unless the venue has one under way. The index is inferred from
# its predicate, which must be written out: no parameters there.
_INSERT_RUNNING = f"""
WITH started AS (
    INSERT INTO syncs (id, venue_id, status, trigger, started_at)
    VALUES (:sync_id, :venue_id, :running, :trigger, now())
    ON CONFLICT (venue_id) WHERE {ACTIVE_SYNC} DO NOTHING
    RETURNING id, venue_id, trigger, created_at, started_at
)"""  # noqa: S608 (ACTIVE_SYNC holds the enum's values)
START_NOW = text(_INSERT_RUNNING + _STARTED)

# A PENDING sync (asked by a pro) becomes RUNNING.
_PENDING_TO_RUNNING = """
WITH started AS (
    UPDATE syncs SET status = :running, started_at = now(), heartbeat_at = now()
    WHERE id = :sync_id AND status = :pending
    RETURNING id, venue_id, trigger, created_at, started_at
)"""
START_PENDING = text(_PENDING_TO_RUNNING + _STARTED)
_STATUSES = {
    "pending": SyncStatus.PENDING,
    "running": SyncStatus.RUNNING,
    "succeeded": SyncStatus.SUCCEEDED,
}


@dataclass(frozen=True)
class Started:
    """A RUNNING sync, the settings of its venue, and the venue's last successful sync."""

    row: Row

    @property
    def id(self) -> uuid.UUID:
        sync_id: uuid.UUID = self.row.id
        return sync_id

    @property
    def venue_id(self) -> uuid.UUID:
        venue_id: uuid.UUID = self.row.venue_id
        return venue_id

    @property
    def last_feed_fingerprint(self) -> bytes | None:
        fingerprint: bytes | None = self.row.last_feed_fingerprint
        return fingerprint


async def start_now(
    conn: AsyncConnection, venue_id: uuid.UUID, trigger: SyncTrigger
) -> Started | None:
    """None when the venue has a sync under way."""
    params = {"sync_id": uuid.uuid4(), "venue_id": venue_id, "trigger": trigger, **_STATUSES}
    row = (await conn.execute(START_NOW, params)).first()
    return None if row is None else Started(row)


async def start_pending(conn: AsyncConnection, sync_id: uuid.UUID) -> Started | None:
    """None when the sync is no longer PENDING."""
    row = (await conn.execute(START_PENDING, {"sync_id": sync_id, **_STATUSES})).first()
    return None if row is None else Started(row)


# --- finish ---------------------------------------------------------------------------------

# No guard on the status: a sync taken as stale that was alive after all records its real end.
FINISH = text("""
WITH finished AS (
    UPDATE syncs
    SET status = :status, started_at = coalesce(started_at, :finished_at),
        finished_at = :finished_at, offers_created = :offers_created,
        offers_updated = :offers_updated, stocks_created = :stocks_created,
        stocks_updated = :stocks_updated, showtimes_imported = :showtimes_imported,
        showtimes_skipped = :showtimes_skipped, movies_rejected = :movies_rejected,
        rejected_movies = CAST(:rejected_movies AS jsonb), error = :error,
        feed_fingerprint = :feed_fingerprint, feed_unchanged = :feed_unchanged
    WHERE id = :sync_id
    RETURNING id
)
INSERT INTO outbox (id, routing_key, message_type, payload, created_at, trace_context)
SELECT :event_id, :routing_key, :message_type, :payload, clock_timestamp(),
       CAST(:trace_context AS jsonb)
FROM finished
""")

HEAD = text("SELECT id, venue_id, trigger, created_at, started_at FROM syncs WHERE id = :sync_id")


@dataclass(frozen=True)
class SyncRecord:
    """A finished sync, as recorded and published (attribute names of the syncs table)."""

    id: uuid.UUID
    venue_id: uuid.UUID
    trigger: SyncTrigger
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime
    status: SyncStatus
    offers_created: int
    offers_updated: int
    stocks_created: int
    stocks_updated: int
    showtimes_imported: int
    showtimes_skipped: int
    movies_rejected: int
    rejected_movies: list[dict[str, str]]
    error: str
    feed_unchanged: bool


async def head(conn: AsyncConnection, sync_id: uuid.UUID) -> Row | None:
    """What `finish` needs of a sync that did not start."""
    return (await conn.execute(HEAD, {"sync_id": sync_id})).first()


async def finish(conn: AsyncConnection, head: Row, outcome: SyncOutcome) -> SyncRecord:
    """Records the outcome with its `sync.finished` event; `head` has the sync's id, venue_id,
    trigger, created_at and started_at."""
    finished_at = datetime.now(UTC)
    record = SyncRecord(
        id=head.id,
        venue_id=head.venue_id,
        trigger=SyncTrigger(head.trigger),
        created_at=head.created_at,
        started_at=head.started_at or finished_at,
        finished_at=finished_at,
        status=outcome.status,
        offers_created=outcome.offers_created,
        offers_updated=outcome.offers_updated,
        stocks_created=outcome.stocks_created,
        stocks_updated=outcome.stocks_updated,
        showtimes_imported=outcome.showtimes_imported,
        showtimes_skipped=outcome.showtimes_skipped,
        movies_rejected=outcome.movies_rejected,
        rejected_movies=outcome.rejected_movies[:MAX_REJECTIONS_KEPT],
        error=outcome.error,
        feed_unchanged=outcome.feed_unchanged,
    )
    event = sync_finished(record)
    params = {
        **{name: getattr(record, name) for name in _OUTCOME_COLUMNS},
        "rejected_movies": json.dumps(record.rejected_movies),
        "feed_fingerprint": outcome.feed_fingerprint,
        "sync_id": record.id,
        "event_id": uuid.uuid4(),
        "routing_key": FINISHED_EVENT,
        "message_type": event.DESCRIPTOR.full_name,
        "payload": event.SerializeToString(),
        "trace_context": _json_or_null(tracing.outbox_context()),
    }
    await conn.execute(FINISH, params)
    return record


def _json_or_null(value: dict[str, str] | None) -> str | None:
    return None if value is None else json.dumps(value)


_OUTCOME_COLUMNS = (
    "status",
    "finished_at",
    "offers_created",
    "offers_updated",
    "stocks_created",
    "stocks_updated",
    "showtimes_imported",
    "showtimes_skipped",
    "movies_rejected",
    "error",
    "feed_unchanged",
)
