"""Nearby search and the public offer page, through the catalog's gRPC API."""

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from catalog.api.convert import timestamp
from catalog.api.search import SEARCH_SQL
from catalog.testing import (
    PARIS,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
    siret_of,
)
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import search_service_pb2 as pb

LYON = (45.7640, 4.8357)
VERSAILLES = (48.8049, 2.1204)  # ~17 km from Paris


async def search(catalog, at=PARIS, **fields) -> list:
    request = pb.SearchOffersRequest(latitude=at[0], longitude=at[1], **fields)
    return list((await catalog.search.SearchOffers(request)).offers)


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    offer = await make_offer(catalog, pro, venue.id, title="La Dernière Séance")
    return pro, venue, offer


async def test_an_offer_is_found_near_and_not_far(catalog, cinema):
    pro, venue, offer = cinema
    soon = await make_stock(catalog, pro, offer.id, in_days=1, price_cents=900)
    await make_stock(catalog, pro, offer.id, in_days=2, price_cents=700)
    found = await search(catalog, at=(PARIS[0] + 0.01, PARIS[1]))
    assert [o.id for o in found] == [offer.id]
    assert found[0].venue.id == venue.id
    assert found[0].min_price_cents == 700
    assert found[0].next_starts_at == soon.starts_at
    assert 1.0 < found[0].distance_km < 1.2
    assert await search(catalog, at=LYON) == []
    assert [o.id for o in await search(catalog, at=LYON, radius_km=500)] == [offer.id]


async def test_nearest_first(catalog, issuer, cinema):
    pro, _, paris_offer = cinema
    await make_stock(catalog, pro, paris_offer.id)
    far_venue = await make_venue(catalog, pro, at=VERSAILLES, siret=siret_of(pro.siren, 2))
    far_offer = await make_offer(catalog, pro, far_venue.id)
    await make_stock(catalog, pro, far_offer.id)
    found = await search(catalog, at=VERSAILLES)
    assert [o.id for o in found] == [far_offer.id, paris_offer.id]
    first_page = await catalog.search.SearchOffers(
        pb.SearchOffersRequest(latitude=PARIS[0], longitude=PARIS[1], page_size=1)
    )
    assert [o.id for o in first_page.offers] == [paris_offer.id]
    second_page = await catalog.search.SearchOffers(
        pb.SearchOffersRequest(
            latitude=PARIS[0],
            longitude=PARIS[1],
            page_size=1,
            page_token=first_page.next_page_token,
        )
    )
    assert [o.id for o in second_page.offers] == [far_offer.id]
    assert second_page.next_page_token == ""


async def test_only_bookable_offers_are_found(catalog, issuer, cinema):
    pro, _, offer = cinema
    stock = await make_stock(catalog, pro, offer.id, quantity=0)
    assert await search(catalog) == [], "a sold-out showtime is not bookable"
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=stock.id, quantity=5), metadata=pro.metadata
    )
    assert len(await search(catalog)) == 1
    await catalog.offers.UpdateOffer(
        offers_pb.UpdateOfferRequest(offer_id=offer.id, is_active=False), metadata=pro.metadata
    )
    assert await search(catalog) == [], "an inactive offer is not bookable"

    pending = await make_pro(catalog, issuer, validated=False)
    pending_venue = await make_venue(catalog, pending)
    pending_offer = await make_offer(catalog, pending, pending_venue.id)
    await make_stock(catalog, pending, pending_offer.id)
    assert await search(catalog) == [], "offers of a non-validated offerer are never searchable"


async def test_deleted_showtimes_and_booking_limits(catalog, cinema):
    pro, _, offer = cinema
    stock = await make_stock(catalog, pro, offer.id)
    await catalog.offers.DeleteStock(
        offers_pb.DeleteStockRequest(stock_id=stock.id), metadata=pro.metadata
    )
    assert await search(catalog) == []
    limit_passed = datetime.now(UTC) + timedelta(seconds=1)
    await make_stock(catalog, pro, offer.id, booking_limit_at=timestamp(limit_passed))
    await _wait_until(limit_passed)
    assert await search(catalog) == []


async def _wait_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)


async def test_date_window_and_title_query(catalog, cinema):
    pro, _, offer = cinema
    await make_stock(catalog, pro, offer.id, in_days=5)
    in_days = lambda days: timestamp(datetime.now(UTC) + timedelta(days=days))  # noqa: E731
    assert len(await search(catalog, starts_after=in_days(4), starts_before=in_days(6))) == 1
    assert await search(catalog, starts_after=in_days(6)) == []
    assert await search(catalog, starts_before=in_days(4)) == []
    assert len(await search(catalog, query="dernière")) == 1
    assert await search(catalog, query="100%") == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"latitude": 91, "longitude": 0}, "INVALID_COORDINATES"),
        ({"latitude": 0, "longitude": 0, "radius_km": 501}, "INVALID_RADIUS"),
        ({"latitude": 0, "longitude": 0, "radius_km": -1}, "INVALID_RADIUS"),
    ],
)
async def test_invalid_searches(catalog, fields, reason):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.search.SearchOffers(pb.SearchOffersRequest(**fields))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(failure.value) == reason


async def test_public_offer_page(catalog, cinema):
    pro, venue, offer = cinema
    open_stock = await make_stock(catalog, pro, offer.id, in_days=1, quantity=10)
    full_stock = await make_stock(catalog, pro, offer.id, in_days=2, quantity=0)
    page = await catalog.search.GetPublicOffer(pb.GetPublicOfferRequest(offer_id=offer.id))
    assert (page.title, page.venue.id) == (offer.title, venue.id)
    stocks = {stock.id: stock for stock in page.stocks}
    assert (stocks[open_stock.id].remaining_quantity, stocks[open_stock.id].is_bookable) == (
        10,
        True,
    )
    assert (stocks[full_stock.id].remaining_quantity, stocks[full_stock.id].is_bookable) == (
        0,
        False,
    )


async def test_the_nearby_filter_can_use_the_gist_index(catalog_engine):
    params = {
        "lat": PARIS[0],
        "lon": PARIS[1],
        "radius_m": 50_000,
        "after": datetime.now(UTC),
        "before": datetime(9999, 1, 1, tzinfo=UTC),
        "title_pattern": "%",
        "offset": 0,
        "limit": 51,
    }
    async with catalog_engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))
        explain = text("EXPLAIN " + SEARCH_SQL.text)
        plan = "\n".join(row[0] for row in await conn.execute(explain, params))
    assert "ix_venues_earth" in plan
