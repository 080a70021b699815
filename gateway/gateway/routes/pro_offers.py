"""A pro's offers (films) and stocks (showtimes) (catalog OfferService); others' answer 404."""

from fastapi import APIRouter, Response

from gateway import catalog_views
from gateway.dependencies import ProCatalog
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.offers import OfferIn, OfferOut, OfferPatch, StockIn, StockOut, StockPatch
from passculture.catalog.v1 import offer_service_pb2 as pb

router = APIRouter(prefix="/v1/pro", tags=["pro offers"])


@router.post("/venues/{venue_id}/offers", status_code=201)
async def create_offer(venue_id: str, body: OfferIn, catalog: ProCatalog) -> OfferOut:
    reply = await catalog.offers.CreateOffer(catalog_views.create_offer_request(venue_id, body))
    return catalog_views.offer_out(reply.offer)


@router.get("/offers")
async def list_offers(catalog: ProCatalog, paging: Paging, venue_id: str = "") -> Page[OfferOut]:
    reply = await catalog.offers.ListOffers(
        pb.ListOffersRequest(
            venue_id=venue_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(catalog_views.offer_out, reply.offers), reply.next_page_token)


@router.get("/offers/{offer_id}")
async def get_offer(offer_id: str, catalog: ProCatalog) -> OfferOut:
    reply = await catalog.offers.GetOffer(pb.GetOfferRequest(offer_id=offer_id))
    return catalog_views.offer_out(reply.offer)


@router.patch("/offers/{offer_id}")
async def update_offer(offer_id: str, body: OfferPatch, catalog: ProCatalog) -> OfferOut:
    reply = await catalog.offers.UpdateOffer(catalog_views.update_offer_request(offer_id, body))
    return catalog_views.offer_out(reply.offer)


@router.post("/offers/{offer_id}/stocks", status_code=201)
async def create_stock(offer_id: str, body: StockIn, catalog: ProCatalog) -> StockOut:
    reply = await catalog.offers.CreateStock(catalog_views.create_stock_request(offer_id, body))
    return catalog_views.stock_out(reply.stock)


@router.get("/offers/{offer_id}/stocks")
async def list_stocks(offer_id: str, catalog: ProCatalog, paging: Paging) -> Page[StockOut]:
    reply = await catalog.offers.ListStocks(
        pb.ListStocksRequest(
            offer_id=offer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(map(catalog_views.stock_out, reply.stocks), reply.next_page_token)


@router.patch("/stocks/{stock_id}")
async def update_stock(stock_id: str, body: StockPatch, catalog: ProCatalog) -> StockOut:
    reply = await catalog.offers.UpdateStock(catalog_views.update_stock_request(stock_id, body))
    return catalog_views.stock_out(reply.stock)


@router.delete("/stocks/{stock_id}", status_code=204)
async def delete_stock(stock_id: str, catalog: ProCatalog) -> Response:
    await catalog.offers.DeleteStock(pb.DeleteStockRequest(stock_id=stock_id))
    return Response(status_code=204)
