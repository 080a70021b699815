"""The import service's answers as JSON models."""

from collections.abc import Mapping

from gateway.proto_fields import optional_instant, optional_int
from gateway.schemas.allocine import (
    AllocineSettingsOut,
    RejectedMovieOut,
    SyncOut,
    SyncStatus,
    SyncTrigger,
)
from passculture.importer.v1 import resources_pb2

SYNC_STATUS_NAMES: Mapping[resources_pb2.SyncStatus, SyncStatus] = {
    resources_pb2.SYNC_STATUS_PENDING: "PENDING",
    resources_pb2.SYNC_STATUS_RUNNING: "RUNNING",
    resources_pb2.SYNC_STATUS_SUCCEEDED: "SUCCEEDED",
    resources_pb2.SYNC_STATUS_FAILED: "FAILED",
}
SYNC_TRIGGER_NAMES: Mapping[resources_pb2.SyncTrigger, SyncTrigger] = {
    resources_pb2.SYNC_TRIGGER_ON_DEMAND: "ON_DEMAND",
    resources_pb2.SYNC_TRIGGER_SCHEDULED: "SCHEDULED",
}


def settings_out(settings: resources_pb2.AllocineSettings) -> AllocineSettingsOut:
    return AllocineSettingsOut(
        venue_id=settings.venue_id,
        theater_id=settings.theater_id,
        theater_relay_id=settings.theater_relay_id,
        price_cents=settings.price_cents,
        quantity=optional_int(settings, "quantity"),
        is_duo=settings.is_duo,
        enabled=settings.enabled,
        updated_at=optional_instant(settings, "updated_at"),
    )


def sync_out(sync: resources_pb2.Sync) -> SyncOut:
    return SyncOut(
        id=sync.id,
        venue_id=sync.venue_id,
        status=SYNC_STATUS_NAMES[sync.status],
        trigger=SYNC_TRIGGER_NAMES[sync.trigger],
        created_at=optional_instant(sync, "created_at"),
        started_at=optional_instant(sync, "started_at"),
        finished_at=optional_instant(sync, "finished_at"),
        offers_created=sync.offers_created,
        offers_updated=sync.offers_updated,
        stocks_created=sync.stocks_created,
        stocks_updated=sync.stocks_updated,
        showtimes_imported=sync.showtimes_imported,
        showtimes_skipped=sync.showtimes_skipped,
        movies_rejected=sync.movies_rejected,
        error=sync.error or None,
        feed_unchanged=sync.feed_unchanged,
        rejected_movies=[
            RejectedMovieOut(movie=item.movie, reason=item.reason) for item in sync.rejected_movies
        ],
    )
