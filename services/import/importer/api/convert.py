"""Conversions between the import service's rows and its protobuf messages (the Sync message:
importer.events, which the `sync.finished` event carries too)."""

from importer.domain.theater_ids import relay_id
from importer.domain.ticketing_rules import TicketingSystem
from importer.models import AllocineVenue, TicketingLink
from passculture.importer.v1 import resources_pb2 as pb
from pclib.timestamps import optional_timestamp


def settings_pb(venue: AllocineVenue) -> pb.AllocineSettings:
    return pb.AllocineSettings(
        venue_id=str(venue.venue_id),
        theater_id=venue.theater_id,
        theater_relay_id=relay_id(venue.theater_id),
        price_cents=venue.price_cents,
        quantity=venue.quantity,
        is_duo=venue.is_duo,
        enabled=venue.enabled,
        updated_at=optional_timestamp(venue.updated_at),
    )


SYSTEM_PB = {
    TicketingSystem.CDS: pb.TICKETING_SYSTEM_CDS,
    TicketingSystem.BOOST: pb.TICKETING_SYSTEM_BOOST,
}


def link_pb(link: TicketingLink) -> pb.TicketingLink:
    return pb.TicketingLink(
        venue_id=str(link.venue_id),
        system=SYSTEM_PB[link.system],
        cinema_id=link.cinema_id,
        account_id=link.account_id,
        updated_at=optional_timestamp(link.updated_at),
    )
