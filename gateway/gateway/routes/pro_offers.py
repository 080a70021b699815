"""A pro's offers (films) and stocks (showtimes) (catalog OfferService); others' answer 404."""

from fastapi import APIRouter, Response

from gateway import catalog_views
from gateway.dependencies import ProCatalog
from gateway.openapi import PROBLEM_RESPONSE
from gateway.routes.pagination import Paging, page
from gateway.schemas.common import Page
from gateway.schemas.offers import (
    OfferIn,
    OfferOut,
    OfferPatch,
    PriceCategoryIn,
    PriceCategoryOut,
    PriceCategoryPatch,
    StockIn,
    StockOut,
    StockPatch,
)
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


def _problems(codes_by_status: dict[int, str]) -> dict[int | str, dict[str, object]]:
    """Problem responses documented with their codes, e.g. `_problems({409: "A, B"})`."""
    return {
        status: {**PROBLEM_RESPONSE, "description": codes}
        for status, codes in codes_by_status.items()
    }


# The tariff's codes of a stock's creation or edit (among the stock's own).
STOCK_TARIFF_PROBLEMS = _problems(
    {
        404: "OFFER_NOT_FOUND, STOCK_NOT_FOUND, PRICE_CATEGORY_NOT_FOUND (of another offer too)",
        409: "TOO_MANY_PRICE_CATEGORIES (a bare price would create a 51st category), …",
        422: "VALIDATION_ERROR, PRICE_REQUIRED (neither price_category_id nor price_cents),"
        " INVALID_PRICE (out of 0-30000, or not the category's price), …",
    }
)


@router.post("/offers/{offer_id}/stocks", status_code=201, responses=STOCK_TARIFF_PROBLEMS)
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


@router.patch("/stocks/{stock_id}", responses=STOCK_TARIFF_PROBLEMS)
async def update_stock(stock_id: str, body: StockPatch, catalog: ProCatalog) -> StockOut:
    reply = await catalog.offers.UpdateStock(catalog_views.update_stock_request(stock_id, body))
    return catalog_views.stock_out(reply.stock)


@router.delete("/stocks/{stock_id}", status_code=204)
async def delete_stock(stock_id: str, catalog: ProCatalog) -> Response:
    await catalog.offers.DeleteStock(pb.DeleteStockRequest(stock_id=stock_id))
    return Response(status_code=204)


@router.post(
    "/offers/{offer_id}/price-categories",
    status_code=201,
    responses=_problems(
        {
            404: "OFFER_NOT_FOUND",
            409: "PRICE_CATEGORY_LABEL_TAKEN, TOO_MANY_PRICE_CATEGORIES (50 per offer)",
            422: "VALIDATION_ERROR, INVALID_PRICE_CATEGORY_LABEL (1-50 characters), INVALID_PRICE",
        }
    ),
)
async def create_price_category(
    offer_id: str, body: PriceCategoryIn, catalog: ProCatalog
) -> PriceCategoryOut:
    """A tariff of the offer ("Tarif normal", "Tarif réduit"…); its stocks name it."""
    reply = await catalog.offers.CreatePriceCategory(
        pb.CreatePriceCategoryRequest(
            offer_id=offer_id, label=body.label, price_cents=body.price_cents
        )
    )
    return catalog_views.price_category_out(reply.price_category)


@router.get("/offers/{offer_id}/price-categories", responses=_problems({404: "OFFER_NOT_FOUND"}))
async def list_price_categories(
    offer_id: str, catalog: ProCatalog, paging: Paging
) -> Page[PriceCategoryOut]:
    """The offer's tariffs, cheapest first."""
    reply = await catalog.offers.ListPriceCategories(
        pb.ListPriceCategoriesRequest(
            offer_id=offer_id, page_size=paging.page_size, page_token=paging.page_token
        )
    )
    return page(
        map(catalog_views.price_category_out, reply.price_categories), reply.next_page_token
    )


@router.patch(
    "/price-categories/{price_category_id}",
    responses=_problems(
        {
            404: "PRICE_CATEGORY_NOT_FOUND",
            409: "PRICE_CATEGORY_LABEL_TAKEN",
            422: "VALIDATION_ERROR, INVALID_PRICE_CATEGORY_LABEL, INVALID_PRICE",
        }
    ),
)
async def update_price_category(
    price_category_id: str, body: PriceCategoryPatch, catalog: ProCatalog
) -> PriceCategoryOut:
    """A new price applies to new bookings only: the category's stocks take it (and keep it
    through imports), bookings keep the price they were made at."""
    reply = await catalog.offers.UpdatePriceCategory(
        pb.UpdatePriceCategoryRequest(
            price_category_id=price_category_id, **body.model_dump(exclude_unset=True)
        )
    )
    return catalog_views.price_category_out(reply.price_category)


@router.delete(
    "/price-categories/{price_category_id}",
    status_code=204,
    responses=_problems(
        {
            404: "PRICE_CATEGORY_NOT_FOUND",
            409: "PRICE_CATEGORY_IN_USE (a stock of the category has bookings)",
        }
    ),
)
async def delete_price_category(price_category_id: str, catalog: ProCatalog) -> Response:
    """Deletes the tariff and its stocks (none of which may have bookings)."""
    await catalog.offers.DeletePriceCategory(
        pb.DeletePriceCategoryRequest(price_category_id=price_category_id)
    )
    return Response(status_code=204)
