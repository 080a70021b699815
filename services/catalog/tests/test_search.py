"""Nearby search and the public offer page, through the catalog's gRPC API."""

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from sqlalchemy import text

from catalog.api.search import FAR_FUTURE, SEARCH_SQL
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import search_service_pb2 as pb
from pclib.db import libpq_dsn
from pclib.timestamps import timestamp
from tests.support.catalog_helpers import (
    PARIS,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    numbered,
    reason_of,
    siret_of,
)

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


async def all_pages(catalog, page_size: int, at=PARIS) -> list:
    found, token = [], ""
    while True:
        request = pb.SearchOffersRequest(
            latitude=at[0], longitude=at[1], page_size=page_size, page_token=token
        )
        page = await catalog.search.SearchOffers(request)
        found += page.offers
        if not (token := page.next_page_token):
            return found


async def test_pages_stay_nearest_first_when_venues_hold_many_offers(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    # Two venues at the very same place (a tie on distance), then two farther away.
    places = [PARIS, PARIS, (PARIS[0] + 0.02, PARIS[1]), (PARIS[0] + 0.05, PARIS[1])]
    offer_ids = set()
    for number, at in enumerate(places, start=1):
        venue = await make_venue(catalog, pro, at=at, siret=siret_of(pro.siren, number))
        for _ in range(4):
            offer = await make_offer(catalog, pro, venue.id)
            await make_stock(catalog, pro, offer.id)
            offer_ids.add(offer.id)
    everything = await all_pages(catalog, 50)
    keys = [(offer.distance_km, offer.venue.id, offer.id) for offer in everything]
    assert keys == sorted(keys), "nearest first, then by venue id, then by offer id"
    assert {offer.distance_km for offer in everything[:8]} == {0.0}, "the tied venues first"
    assert {offer.id for offer in everything} == offer_ids
    for page_size in (1, 3, 5):
        assert await all_pages(catalog, page_size) == everything


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
        # Within the bounds, but PostgreSQL's arithmetic underflows on it (schemathesis found it).
        ({"latitude": -90, "longitude": -180, "radius_km": 5e-324}, "INVALID_VALUE"),
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
        explain = await conn.exec_driver_sql("EXPLAIN " + SEARCH_SQL, params)
        plan = "\n".join(row[0] for row in explain)
    assert "ix_venues_earth" in plan


# 1 000 venues around Paris (within 20 km), 3 bookable offers each: PostgreSQL guesses the
# number of venues in a box from the table's size, and a thousand is a small city's worth.
SEED_SQL = """
WITH offerer AS (
    INSERT INTO offerers (id, siren, name, status)
    VALUES (gen_random_uuid(), '732829320', 'Cinémas', 'VALIDATED') RETURNING id
), venue AS (
    INSERT INTO venues (id, offerer_id, name, address, postal_code, city, latitude, longitude,
                        booking_email, timezone)
    SELECT gen_random_uuid(), offerer.id, 'Cinéma ' || n, 'rue', '75001', 'Paris',
           48.8566 + (random() - 0.5) * 0.3, 2.3522 + (random() - 0.5) * 0.4,
           'resa@cinema.test', 'Europe/Paris'
    FROM offerer, generate_series(1, 1000) n
    RETURNING id
), offer AS (
    INSERT INTO offers (id, venue_id, title, description, poster_url, is_duo, is_active, source)
    SELECT gen_random_uuid(), venue.id, 'Film ' || n, '', '', false, true, 'MANUAL'
    FROM venue, generate_series(1, 3) n
    RETURNING id
), category AS (
    INSERT INTO price_categories (id, offer_id, label, price_cents)
    SELECT gen_random_uuid(), offer.id, 'Tarif unique', 800 FROM offer
    RETURNING id, offer_id
)
INSERT INTO stocks (id, offer_id, starts_at, price_category_id, price_cents, quantity,
                    booked_quantity, booking_limit_at, features, is_active, edited_fields)
SELECT gen_random_uuid(), category.offer_id, now() + interval '2 days', category.id, 800, 100,
       0, now() + interval '1 day', '{}', true, '{}'
FROM category
"""
SEEDED_OFFERS = 3000


@pytest.mark.parametrize("plan", ["force_custom_plan", "force_generic_plan"])
async def test_a_search_reads_offers_only_until_its_page_is_full(catalog_db_url, plan):
    """Not a sort of every offer in the radius: venues come nearest first and their offers are
    read one venue after another, with the values planned in or with the generic plan that a
    prepared statement switches to after five executions."""
    prepared, names = numbered(SEARCH_SQL)
    params = {
        "lat": PARIS[0],
        "lon": PARIS[1],
        "radius_m": 50_000,
        "after": datetime.now(UTC),
        "before": FAR_FUTURE,
        "title_pattern": "%",
        "offset": 0,
        "limit": 11,
    }
    values = [params[name] for name in names]
    async with await psycopg.AsyncConnection.connect(
        libpq_dsn(catalog_db_url), autocommit=True
    ) as conn:
        await conn.execute(SEED_SQL)
        await conn.execute("ANALYZE")
        await conn.execute(f"SET plan_cache_mode = {plan}")
        await conn.execute(f"PREPARE search AS {prepared}")
        cursor = await psycopg.AsyncClientCursor(conn).execute(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE search({', '.join(['%s'] * len(values))})",
            values,
        )
        plan_tree = (await cursor.fetchone())[0][0]["Plan"]
    assert plan_tree["Actual Rows"] == 11
    read = offers_read(plan_tree)
    assert 11 <= read <= 100, f"{read} of the {SEEDED_OFFERS} offers read for 11 rows"


def offers_read(node: dict) -> int:
    read = (
        node["Actual Rows"] * node["Actual Loops"] if node.get("Relation Name") == "offers" else 0
    )
    return read + sum(offers_read(child) for child in node.get("Plans", []))
