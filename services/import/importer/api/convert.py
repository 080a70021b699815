"""Conversions between the import service's rows and its protobuf messages."""

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from importer.domain.theater_ids import relay_id
from importer.models import AllocineVenue, Sync
from passculture.importer.v1 import resources_pb2 as pb

STATUS = {
    "PENDING": pb.SYNC_STATUS_PENDING,
    "RUNNING": pb.SYNC_STATUS_RUNNING,
    "SUCCEEDED": pb.SYNC_STATUS_SUCCEEDED,
    "FAILED": pb.SYNC_STATUS_FAILED,
}
TRIGGER = {"ON_DEMAND": pb.SYNC_TRIGGER_ON_DEMAND, "SCHEDULED": pb.SYNC_TRIGGER_SCHEDULED}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def settings_pb(venue: AllocineVenue) -> pb.AllocineSettings:
    return pb.AllocineSettings(
        venue_id=str(venue.venue_id),
        theater_id=venue.theater_id,
        theater_relay_id=relay_id(venue.theater_id),
        price_cents=venue.price_cents,
        quantity=venue.quantity,
        is_duo=venue.is_duo,
        enabled=venue.enabled,
        updated_at=timestamp(venue.updated_at),
    )


def sync_pb(sync: Sync) -> pb.Sync:
    return pb.Sync(
        id=str(sync.id),
        venue_id=str(sync.venue_id),
        status=STATUS[sync.status],
        trigger=TRIGGER[sync.trigger],
        created_at=timestamp(sync.created_at),
        started_at=timestamp(sync.started_at),
        finished_at=timestamp(sync.finished_at),
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
