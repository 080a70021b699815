"""Conversions between the import service's rows and its protobuf messages (the Sync message:
importer.events, which the `sync.finished` event carries too)."""

from importer.domain.theater_ids import relay_id
from importer.events import timestamp
from importer.models import AllocineVenue
from passculture.importer.v1 import resources_pb2 as pb


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
