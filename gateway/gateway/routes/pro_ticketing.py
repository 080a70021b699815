"""A pro's link of a venue to its ticketing system (import service ImporterService); others'
venues 404. The secret goes in, never out."""

from collections.abc import Mapping

from fastapi import APIRouter, Response

from gateway.dependencies import ProImporter
from gateway.proto_fields import optional_instant
from gateway.schemas.ticketing import TicketingLinkIn, TicketingLinkOut, TicketingSystem
from passculture.importer.v1 import importer_service_pb2 as pb
from passculture.importer.v1 import resources_pb2

router = APIRouter(prefix="/v1/pro/venues/{venue_id}/ticketing", tags=["pro ticketing system"])

SYSTEMS: Mapping[TicketingSystem, resources_pb2.TicketingSystem] = {
    "CDS": resources_pb2.TICKETING_SYSTEM_CDS,
    "BOOST": resources_pb2.TICKETING_SYSTEM_BOOST,
}
SYSTEM_NAMES = {value: name for name, value in SYSTEMS.items()}


def link_out(link: resources_pb2.TicketingLink) -> TicketingLinkOut:
    return TicketingLinkOut(
        venue_id=link.venue_id,
        system=SYSTEM_NAMES[link.system],
        cinema_id=link.cinema_id,
        account_id=link.account_id,
        updated_at=optional_instant(link, "updated_at"),
    )


@router.put("")
async def put_link(venue_id: str, body: TicketingLinkIn, upstream: ProImporter) -> TicketingLinkOut:
    """Links the venue to its ticketing system (or replaces the link): its showtimes are then
    imported from it and its bookings placed in it. 409 VENUE_IMPORTS_FROM_ALLOCINE while its
    Allociné import is enabled, VENUE_WITHOUT_SIRET, TICKETING_CINEMA_TAKEN when another venue
    is linked to this cinema."""
    request = pb.PutTicketingLinkRequest(
        venue_id=venue_id,
        system=SYSTEMS[body.system],
        cinema_id=body.cinema_id,
        account_id=body.account_id,
        secret=body.secret,
    )
    return link_out((await upstream.importer.PutTicketingLink(request)).link)


@router.get("")
async def get_link(venue_id: str, upstream: ProImporter) -> TicketingLinkOut:
    """404 TICKETING_LINK_NOT_FOUND when the venue has none."""
    request = pb.GetTicketingLinkRequest(venue_id=venue_id)
    return link_out((await upstream.importer.GetTicketingLink(request)).link)


@router.delete("", status_code=204)
async def delete_link(venue_id: str, upstream: ProImporter) -> Response:
    """Unlinks the venue (its secret is deleted). 404 TICKETING_LINK_NOT_FOUND."""
    await upstream.importer.DeleteTicketingLink(pb.DeleteTicketingLinkRequest(venue_id=venue_id))
    return Response(status_code=204)
