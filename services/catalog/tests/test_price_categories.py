"""Price categories (tariffs) through the catalog's gRPC API: a pro's categories, stocks that
name them or a bare price, price changes for new bookings only, deletion refused while in use,
and what search, the offer page, GetStock and ReserveStock say of them."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from catalog.reservations import RESERVE
from passculture.catalog.v1 import events_pb2
from passculture.catalog.v1 import offer_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2 as reservations_pb
from passculture.catalog.v1 import search_service_pb2 as search_pb
from passculture.catalog.v1 import stock_service_pb2 as stocks_pb
from pclib.timestamps import timestamp
from tests.support.catalog_helpers import (
    PARIS,
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    refusal,
)
from tests.support.pclib_fixtures import eventually


@pytest.fixture
def service(issuer):
    return auth(issuer, "booking", "service")


@pytest.fixture
async def film(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id)
    return pro, offer


async def create(catalog, pro, offer_id, label, price_cents):
    request = pb.CreatePriceCategoryRequest(offer_id=offer_id, label=label, price_cents=price_cents)
    return (await catalog.offers.CreatePriceCategory(request, metadata=pro.metadata)).price_category


async def categories(catalog, pro, offer_id) -> list[tuple[str, int]]:
    request = pb.ListPriceCategoriesRequest(offer_id=offer_id)
    reply = await catalog.offers.ListPriceCategories(request, metadata=pro.metadata)
    return [(c.label, c.price_cents) for c in reply.price_categories]


async def update(catalog, pro, category_id, **fields):
    request = pb.UpdatePriceCategoryRequest(price_category_id=category_id, **fields)
    return (await catalog.offers.UpdatePriceCategory(request, metadata=pro.metadata)).price_category


def delete(catalog, pro, category_id):
    request = pb.DeletePriceCategoryRequest(price_category_id=category_id)
    return catalog.offers.DeletePriceCategory(request, metadata=pro.metadata)


async def reserve(catalog, service, stock_id):
    request = reservations_pb.ReserveStockRequest(
        stock_id=stock_id, quantity=1, reservation_id=str(uuid.uuid4())
    )
    return await catalog.reservations.ReserveStock(request, metadata=service)


async def outbox(engine, routing_key):
    async with engine.connect() as conn:
        return list(
            await conn.scalars(
                text("SELECT payload FROM outbox WHERE routing_key = :key ORDER BY created_at"),
                {"key": routing_key},
            )
        )


async def test_a_bare_price_finds_or_creates_the_category_of_that_price(catalog, film):
    pro, offer = film
    first = await make_stock(catalog, pro, offer.id, price_cents=800)
    again = await make_stock(catalog, pro, offer.id, price_cents=800, in_days=4)
    other = await make_stock(catalog, pro, offer.id, price_cents=500)
    assert (first.price_category_label, first.price_cents) == ("Tarif unique", 800)
    assert again.price_category_id == first.price_category_id
    assert (other.price_category_label, other.price_cents) == ("Tarif 2", 500)
    assert await categories(catalog, pro, offer.id) == [("Tarif 2", 500), ("Tarif unique", 800)]


async def test_a_stock_names_its_category_and_takes_its_price(catalog, film):
    pro, offer = film
    normal = await create(catalog, pro, offer.id, "Tarif normal", 750)
    reduced = await create(catalog, pro, offer.id, " Tarif réduit ", 500)
    assert reduced.label == "Tarif réduit"
    stock = await make_stock(catalog, pro, offer.id, price_category_id=normal.id, price_cents=750)
    assert (stock.price_category_id, stock.price_category_label, stock.price_cents) == (
        normal.id,
        "Tarif normal",
        750,
    )
    # A bare price of an existing category is that category, whatever its label.
    assert (await make_stock(catalog, pro, offer.id, price_cents=500)).price_category_id == (
        reduced.id
    )
    moved = await catalog.offers.UpdateStock(
        pb.UpdateStockRequest(stock_id=stock.id, price_category_id=reduced.id),
        metadata=pro.metadata,
    )
    assert (moved.stock.price_category_label, moved.stock.price_cents) == ("Tarif réduit", 500)
    repriced = await catalog.offers.UpdateStock(
        pb.UpdateStockRequest(stock_id=stock.id, price_cents=990), metadata=pro.metadata
    )
    assert (repriced.stock.price_category_label, repriced.stock.price_cents) == ("Tarif 3", 990)


async def test_what_a_category_or_a_stock_refuses(catalog, issuer, film):
    pro, offer = film
    normal = await create(catalog, pro, offer.id, "Tarif normal", 750)
    assert (await refusal(create(catalog, pro, offer.id, "Tarif normal", 500)))[:2] == (
        grpc.StatusCode.ALREADY_EXISTS,
        "PRICE_CATEGORY_LABEL_TAKEN",
    )
    assert (await refusal(create(catalog, pro, offer.id, "x" * 51, 500)))[:2] == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PRICE_CATEGORY_LABEL",
    )
    assert (await refusal(create(catalog, pro, offer.id, "Cher", 30_001)))[1] == "INVALID_PRICE"
    mismatch = make_stock(catalog, pro, offer.id, price_category_id=normal.id, price_cents=700)
    assert (await refusal(mismatch))[1] == "INVALID_PRICE"
    no_price = catalog.offers.CreateStock(
        pb.CreateStockRequest(
            offer_id=offer.id, starts_at=timestamp(datetime.now(UTC) + timedelta(days=3))
        ),
        metadata=pro.metadata,
    )
    assert (await refusal(no_price))[:2] == (grpc.StatusCode.INVALID_ARGUMENT, "PRICE_REQUIRED")
    # Another offer's category, and another pro's, are not found.
    other_offer = await make_offer(catalog, pro, offer.venue_id, title="Autre film")
    foreign = make_stock(catalog, pro, other_offer.id, price_category_id=normal.id)
    assert (await refusal(foreign))[:2] == (
        grpc.StatusCode.NOT_FOUND,
        "PRICE_CATEGORY_NOT_FOUND",
    )
    stranger = await make_pro(catalog, issuer)
    assert (await refusal(update(catalog, stranger, normal.id, label="Volé")))[1] == (
        "PRICE_CATEGORY_NOT_FOUND"
    )
    assert (await refusal(delete(catalog, stranger, normal.id)))[1] == "PRICE_CATEGORY_NOT_FOUND"


async def test_an_offer_has_at_most_50_categories(catalog, film):
    pro, offer = film
    for n in range(50):
        await create(catalog, pro, offer.id, f"Tarif {n}", 100 + n)
    assert (await refusal(create(catalog, pro, offer.id, "Un de trop", 1)))[:2] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "TOO_MANY_PRICE_CATEGORIES",
    )
    assert (await refusal(make_stock(catalog, pro, offer.id, price_cents=1)))[1] == (
        "TOO_MANY_PRICE_CATEGORIES"
    )
    # A bare price of an existing category still works.
    assert (await make_stock(catalog, pro, offer.id, price_cents=100)).price_category_label == (
        "Tarif 0"
    )


async def test_concurrent_bare_prices_make_one_category(catalog, film):
    pro, offer = film
    stocks = await asyncio.gather(
        *(make_stock(catalog, pro, offer.id, price_cents=800, in_days=1 + n) for n in range(8))
    )
    assert {stock.price_category_label for stock in stocks} == {"Tarif unique"}
    assert await categories(catalog, pro, offer.id) == [("Tarif unique", 800)]


async def test_a_new_price_is_for_new_bookings_only(catalog, catalog_engine, film, service):
    pro, offer = film
    normal = await create(catalog, pro, offer.id, "Tarif normal", 800)
    stock = await make_stock(catalog, pro, offer.id, price_category_id=normal.id)
    before = await reserve(catalog, service, stock.id)
    assert (before.stock.price_cents, before.stock.price_category_label) == (800, "Tarif normal")

    changed = await update(catalog, pro, normal.id, label="Plein tarif", price_cents=950)
    assert (changed.label, changed.price_cents) == ("Plein tarif", 950)
    after = await reserve(catalog, service, stock.id)
    assert (after.stock.price_cents, after.stock.price_category_label) == (950, "Plein tarif")
    got = await catalog.stocks.GetStock(
        stocks_pb.GetStockRequest(stock_id=stock.id), metadata=service
    )
    assert (got.stock.price_cents, got.stock.price_category_label) == (950, "Plein tarif")
    # The stock's new price is the pro's: an import keeps it; the change is published.
    async with catalog_engine.connect() as conn:
        edited = await conn.scalar(
            text("SELECT edited_fields FROM stocks WHERE id = :id"), {"id": stock.id}
        )
    assert edited == ["price_cents"]
    published = events_pb2.StockUpdated.FromString(
        (await outbox(catalog_engine, "stock.updated"))[-1]
    )
    assert (published.stock.id, published.stock.price_cents) == (stock.id, 950)


async def test_a_category_with_bookings_cannot_be_deleted(catalog, catalog_engine, film, service):
    pro, offer = film
    reduced = await create(catalog, pro, offer.id, "Tarif réduit", 500)
    stock = await make_stock(catalog, pro, offer.id, price_category_id=reduced.id)
    held = await reserve(catalog, service, stock.id)
    assert (await refusal(delete(catalog, pro, reduced.id)))[:3] == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PRICE_CATEGORY_IN_USE",
        {"booked_quantity": "1"},
    )
    # Nothing changed.
    assert await categories(catalog, pro, offer.id) == [("Tarif réduit", 500)]
    # Negative control: once the seats are given back, it goes, with its stocks.
    await catalog.reservations.ReleaseStock(
        reservations_pb.ReleaseStockRequest(reservation_id=held.reservation.reservation_id),
        metadata=service,
    )
    await delete(catalog, pro, reduced.id)
    assert await categories(catalog, pro, offer.id) == []
    listed = await catalog.offers.ListStocks(
        pb.ListStocksRequest(offer_id=offer.id), metadata=pro.metadata
    )
    assert list(listed.stocks) == []
    (deleted,) = await outbox(catalog_engine, "stock.deleted")
    assert events_pb2.StockDeleted.FromString(deleted).stock_id == stock.id
    # Its label is free again.
    assert (await create(catalog, pro, offer.id, "Tarif réduit", 450)).price_cents == 450


async def test_search_and_the_offer_page_show_the_tariffs(catalog, film, service):
    pro, offer = film
    normal = await create(catalog, pro, offer.id, "Tarif normal", 800)
    reduced = await create(catalog, pro, offer.id, "Tarif réduit", 500)
    student = await create(catalog, pro, offer.id, "Étudiant", 300)
    await make_stock(catalog, pro, offer.id, price_category_id=normal.id)
    cheap = await make_stock(catalog, pro, offer.id, price_category_id=reduced.id, quantity=1)
    sold_out = await make_stock(catalog, pro, offer.id, price_category_id=student.id, quantity=1)
    await reserve(catalog, service, sold_out.id)

    request = search_pb.SearchOffersRequest(latitude=PARIS[0], longitude=PARIS[1])
    (found,) = (await catalog.search.SearchOffers(request)).offers
    # The cheapest bookable tariff: the sold-out one is not offered.
    assert found.min_price_cents == 500
    assert [(p.label, p.price_cents) for p in found.prices] == [
        ("Tarif réduit", 500),
        ("Tarif normal", 800),
    ]
    await reserve(catalog, service, cheap.id)
    (found,) = (await catalog.search.SearchOffers(request)).offers
    assert (found.min_price_cents, [p.label for p in found.prices]) == (800, ["Tarif normal"])

    page = await catalog.search.GetPublicOffer(search_pb.GetPublicOfferRequest(offer_id=offer.id))
    assert sorted((s.price_category_label, s.price_cents, s.is_bookable) for s in page.stocks) == [
        ("Tarif normal", 800, True),
        ("Tarif réduit", 500, False),
        ("Étudiant", 300, False),
    ]


async def test_new_stocks_and_new_prices_of_a_category_at_once(catalog, catalog_engine, film):
    """Stocks created while the category's price changes: every call succeeds (a stock waits
    for the new price, or the new price reaches it) and every stock ends at the last price."""
    pro, offer = film
    normal = await create(catalog, pro, offer.id, "Tarif normal", 800)
    calls = [
        make_stock(catalog, pro, offer.id, price_category_id=normal.id, in_days=1 + n)
        for n in range(6)
    ] + [update(catalog, pro, normal.id, price_cents=900 + n) for n in range(6)]
    await asyncio.gather(*calls)
    final = (await update(catalog, pro, normal.id, label="Tarif normal")).price_cents
    async with catalog_engine.connect() as conn:
        prices = await conn.scalars(
            text("SELECT price_cents FROM stocks WHERE price_category_id = :id"),
            {"id": normal.id},
        )
        assert set(prices) == {final}


async def waiting_on_a_lock(engine) -> bool:
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return waiting > 0


async def move_to_a_new_category_while(catalog_engine, stock_id, during, label="Tarif du soir"):
    """Moves the stock to a new category (`label`, 650) in a transaction that holds the
    stock's row while `during` starts; answers what `during` answers."""
    async with catalog_engine.connect() as mover:
        await mover.begin()
        await mover.execute(
            text("""
                WITH new AS (
                    INSERT INTO price_categories (id, offer_id, label, price_cents)
                    SELECT gen_random_uuid(), offer_id, :label, 650
                    FROM stocks WHERE id = :id RETURNING id
                )
                UPDATE stocks SET price_category_id = (SELECT id FROM new), price_cents = 650
                WHERE id = :id
            """),
            {"id": stock_id, "label": label},
        )
        waiting = asyncio.ensure_future(during())
        await eventually(lambda: waiting_on_a_lock(catalog_engine))
        await mover.commit()
    return await waiting


async def test_a_reservation_that_waited_for_a_move_answers_the_new_category(
    catalog, catalog_engine, film, service
):
    """RESERVE joins the category from its snapshot, taken before the move committed: the
    label is then read apart (negative control: the statement alone answers no label)."""
    pro, offer = film
    stock = await make_stock(catalog, pro, offer.id, price_cents=800)
    answer = await move_to_a_new_category_while(
        catalog_engine, stock.id, lambda: reserve(catalog, service, stock.id)
    )
    assert (answer.stock.price_cents, answer.stock.price_category_label) == (650, "Tarif du soir")

    other = await make_stock(catalog, pro, offer.id, price_cents=800, in_days=5)
    params = {"stock_id": other.id, "quantity": 1, "reservation_id": uuid.uuid4()}

    async def statement_alone():
        async with catalog_engine.connect() as conn:
            row = (await conn.exec_driver_sql(RESERVE, params)).one()
            await conn.commit()
            return row

    row = await move_to_a_new_category_while(catalog_engine, other.id, statement_alone, "Nuit")
    assert (row.price_cents, row.label) == (650, None)
