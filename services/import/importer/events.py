"""The import service's event, `sync.finished`, and the Sync message it carries (ListSyncs
answers the same message)."""

import uuid
from datetime import datetime
from typing import Protocol

from importer.domain.status import SyncStatus, SyncTrigger
from passculture.importer.v1 import events_pb2
from passculture.importer.v1 import resources_pb2 as pb
from pclib.timestamps import optional_timestamp

FINISHED_EVENT = "sync.finished"

STATUS = {
    SyncStatus.PENDING: pb.SYNC_STATUS_PENDING,
    SyncStatus.RUNNING: pb.SYNC_STATUS_RUNNING,
    SyncStatus.SUCCEEDED: pb.SYNC_STATUS_SUCCEEDED,
    SyncStatus.FAILED: pb.SYNC_STATUS_FAILED,
}
TRIGGER = {
    SyncTrigger.ON_DEMAND: pb.SYNC_TRIGGER_ON_DEMAND,
    SyncTrigger.SCHEDULED: pb.SYNC_TRIGGER_SCHEDULED,
}


class SyncView(Protocol):
    """A sync as a row of the syncs table (models.Sync) or as just recorded (SyncRecord)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def venue_id(self) -> uuid.UUID: ...
    @property
    def status(self) -> SyncStatus: ...
    @property
    def trigger(self) -> SyncTrigger: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def offers_created(self) -> int: ...
    @property
    def offers_updated(self) -> int: ...
    @property
    def stocks_created(self) -> int: ...
    @property
    def stocks_updated(self) -> int: ...
    @property
    def showtimes_imported(self) -> int: ...
    @property
    def showtimes_skipped(self) -> int: ...
    @property
    def movies_rejected(self) -> int: ...
    @property
    def rejected_movies(self) -> list[dict[str, str]]: ...
    @property
    def error(self) -> str: ...
    @property
    def feed_unchanged(self) -> bool: ...


def sync_pb(sync: SyncView) -> pb.Sync:
    return pb.Sync(
        id=str(sync.id),
        venue_id=str(sync.venue_id),
        status=STATUS[sync.status],
        trigger=TRIGGER[sync.trigger],
        created_at=optional_timestamp(sync.created_at),
        started_at=optional_timestamp(sync.started_at),
        finished_at=optional_timestamp(sync.finished_at),
        offers_created=sync.offers_created,
        offers_updated=sync.offers_updated,
        stocks_created=sync.stocks_created,
        stocks_updated=sync.stocks_updated,
        showtimes_imported=sync.showtimes_imported,
        showtimes_skipped=sync.showtimes_skipped,
        movies_rejected=sync.movies_rejected,
        error=sync.error,
        feed_unchanged=sync.feed_unchanged,
        rejected_movies=[
            pb.RejectedMovie(movie=item["movie"], reason=item["reason"])
            for item in sync.rejected_movies
        ],
    )


def sync_finished(sync: SyncView) -> events_pb2.SyncFinished:
    return events_pb2.SyncFinished(sync=sync_pb(sync))
