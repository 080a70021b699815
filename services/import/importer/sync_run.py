"""A sync's record from start to end, one SQL statement per step, each in autocommit: the
daily run starts and ends a sync for every venue, so these two statements are its fixed cost.

Starting returns at once what the sync needs: the venue's settings and its last successful
sync (whose feed fingerprint tells whether the feed changed). Ending writes the outcome and
the `sync.finished` event (transactional outbox) in one statement.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from importer.api.convert import sync_pb
from importer.store import MAX_REJECTIONS_KEPT, SyncOutcome
from passculture.importer.v1 import events_pb2

FINISHED_EVENT = "sync.finished"

_STARTED = """
SELECT s.id, s.venue_id, s.trigger, s.created_at, s.started_at,
       v.theater_id, v.price_cents, v.quantity, v.is_duo, v.timezone,
       last.feed_fingerprint AS last_feed_fingerprint,
       last.showtimes_imported AS last_showtimes_imported,
       last.showtimes_skipped AS last_showtimes_skipped,
       last.movies_rejected AS last_movies_rejected,
       last.rejected_movies AS last_rejected_movies
FROM started s
JOIN allocine_venues v ON v.venue_id = s.venue_id
LEFT JOIN LATERAL (
    SELECT p.feed_fingerprint, p.showtimes_imported, p.showtimes_skipped, p.movies_rejected,
           p.rejected_movies
    FROM syncs p
    WHERE p.venue_id = s.venue_id AND p.status = 'SUCCEEDED'
    ORDER BY p.created_at DESC
    LIMIT 1
) last ON true
"""

# A new sync RUNNING at once, unless the venue has one under way.
_INSERT_RUNNING = """
WITH started AS (
    INSERT INTO syncs (id, venue_id, status, trigger, started_at)
    VALUES (:sync_id, :venue_id, 'RUNNING', :trigger, now())
    ON CONFLICT (venue_id) WHERE status IN ('PENDING', 'RUNNING') DO NOTHING
    RETURNING id, venue_id, trigger, created_at, started_at
)"""
START_NOW = text(_INSERT_RUNNING + _STARTED)

# A PENDING sync (asked by a pro) becomes RUNNING.
_PENDING_TO_RUNNING = """
WITH started AS (
    UPDATE syncs SET status = 'RUNNING', started_at = now(), heartbeat_at = now()
    WHERE id = :sync_id AND status = 'PENDING'
    RETURNING id, venue_id, trigger, created_at, started_at
)"""
START_PENDING = text(_PENDING_TO_RUNNING + _STARTED)

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
INSERT INTO outbox (id, routing_key, message_type, payload, created_at)
SELECT :event_id, :routing_key, :message_type, :payload, clock_timestamp() FROM finished
""")

HEAD = text("SELECT id, venue_id, trigger, created_at, started_at FROM syncs WHERE id = :sync_id")


@dataclass(frozen=True)
class Started:
    """A RUNNING sync, the settings of its venue, and the venue's last successful sync."""

    row: Row

    @property
    def id(self) -> uuid.UUID:
        return self.row.id

    @property
    def venue_id(self) -> uuid.UUID:
        return self.row.venue_id

    @property
    def last_feed_fingerprint(self) -> bytes | None:
        return self.row.last_feed_fingerprint


@dataclass(frozen=True)
class SyncRecord:
    """A finished sync, as recorded and published (attribute names of the syncs table)."""

    id: uuid.UUID
    venue_id: uuid.UUID
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime
    status: str
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


async def start_now(conn: AsyncConnection, venue_id: uuid.UUID, trigger: str) -> Started | None:
    """None when the venue has a sync under way."""
    params = {"sync_id": uuid.uuid4(), "venue_id": venue_id, "trigger": trigger}
    row = (await conn.execute(START_NOW, params)).first()
    return None if row is None else Started(row)


async def start_pending(conn: AsyncConnection, sync_id: uuid.UUID) -> Started | None:
    """None when the sync is no longer PENDING."""
    row = (await conn.execute(START_PENDING, {"sync_id": sync_id})).first()
    return None if row is None else Started(row)


async def head(conn: AsyncConnection, sync_id: uuid.UUID) -> Row | None:
    return (await conn.execute(HEAD, {"sync_id": sync_id})).first()


async def finish(conn: AsyncConnection, head: Row, outcome: SyncOutcome) -> SyncRecord:
    """Records the outcome with its `sync.finished` event; `head` has the sync's id, venue_id,
    trigger, created_at and started_at."""
    finished_at = datetime.now(UTC)
    record = SyncRecord(
        id=head.id,
        venue_id=head.venue_id,
        trigger=head.trigger,
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
    event = events_pb2.SyncFinished(sync=sync_pb(record))
    params = {
        **{name: getattr(record, name) for name in _OUTCOME_COLUMNS},
        "rejected_movies": json.dumps(record.rejected_movies),
        "feed_fingerprint": outcome.feed_fingerprint,
        "sync_id": record.id,
        "event_id": uuid.uuid4(),
        "routing_key": FINISHED_EVENT,
        "message_type": event.DESCRIPTOR.full_name,
        "payload": event.SerializeToString(),
    }
    await conn.execute(FINISH, params)
    return record


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
