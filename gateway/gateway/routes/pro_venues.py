"""A pro's venues (catalog VenueService); others' venues answer 404."""

from fastapi import APIRouter

from gateway import catalog_views
from gateway.dependencies import ProCatalog
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.venues import VenueIn, VenueOut, VenuePatch
from passculture.catalog.v1 import venue_service_pb2 as pb

router = APIRouter(prefix="/v1/pro/venues", tags=["pro venues"])


@router.post("", status_code=201)
async def create_venue(body: VenueIn, catalog: ProCatalog) -> VenueOut:
    reply = await catalog.venues.CreateVenue(catalog_views.create_venue_request(body))
    return catalog_views.venue_out(reply.venue)


@router.get("")
async def list_venues(catalog: ProCatalog, paging: Paging, offerer_id: str = "") -> Page[VenueOut]:
    reply = await catalog.venues.ListVenues(
        pb.ListVenuesRequest(
            offerer_id=offerer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(catalog_views.venue_out, reply.venues), reply.next_page_token)


@router.get("/{venue_id}")
async def get_venue(venue_id: str, catalog: ProCatalog) -> VenueOut:
    reply = await catalog.venues.GetVenue(pb.GetVenueRequest(venue_id=venue_id))
    return catalog_views.venue_out(reply.venue)


@router.patch("/{venue_id}")
async def update_venue(venue_id: str, body: VenuePatch, catalog: ProCatalog) -> VenueOut:
    reply = await catalog.venues.UpdateVenue(catalog_views.update_venue_request(venue_id, body))
    return catalog_views.venue_out(reply.venue)
