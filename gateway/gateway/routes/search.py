"""What young people see, anonymous allowed: offers near a point, an offer's page."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway import catalog_views
from gateway.dependencies import PublicCatalog
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Instant, Page, QueryText
from gateway.schemas.search import OfferSummaryOut, PublicOfferOut
from passculture.catalog.v1 import search_service_pb2 as pb

router = APIRouter(prefix="/v1/offers", tags=["search"])

DEFAULT_RADIUS_KM = 50.0
MAX_RADIUS_KM = 500.0


@router.get("")
async def search_offers(
    catalog: PublicCatalog,
    paging: Paging,
    latitude: Annotated[float, Query(ge=-90, le=90)],
    longitude: Annotated[float, Query(ge=-180, le=180)],
    radius_km: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM)] = DEFAULT_RADIUS_KM,
    starts_after: Instant | None = None,
    starts_before: Instant | None = None,
    q: Annotated[QueryText, Query(max_length=200, description="part of the title")] = "",
) -> Page[OfferSummaryOut]:
    """Bookable offers within `radius_km`, nearest first."""
    request = pb.SearchOffersRequest(
        latitude=latitude,
        longitude=longitude,
        radius_km=radius_km,
        query=q,
        page_size=paging.page_size,
        page_token=paging.page_token,
        starts_after=starts_after,
        starts_before=starts_before,
    )
    reply = await catalog.search.SearchOffers(request)
    return page(map(catalog_views.offer_summary_out, reply.offers), reply.next_page_token)


@router.get("/{offer_id}")
async def get_public_offer(offer_id: str, catalog: PublicCatalog) -> PublicOfferOut:
    reply = await catalog.search.GetPublicOffer(pb.GetPublicOfferRequest(offer_id=offer_id))
    return catalog_views.public_offer_out(reply)
