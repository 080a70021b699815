"""ProviderService.UpsertProviderOffers through gRPC: idempotent imports that respect the pro."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from passculture.catalog.v1 import events_pb2, resources_pb2
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import provider_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2 as reservations_pb
from pclib.timestamps import timestamp
from tests.support.catalog_helpers import auth, make_pro, make_venue, reason_of

IN_3_DAYS = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


def stock(reference: str, starts_at: datetime, price_cents=700, quantity=None, features=("VF",)):
    message = pb.ProviderStock(
        provider_reference=reference,
        starts_at=timestamp(starts_at),
        price_cents=price_cents,
        features=[resources_pb2.Feature.Value(f"FEATURE_{f}") for f in features],
    )
    if quantity is not None:
        message.quantity = quantity
    return message


def film(reference: str, stocks, title="La Dernière Séance", is_duo=True, **fields):
    return pb.ProviderOffer(
        provider_reference=reference,
        title=title,
        description=fields.get("description", "Un film."),
        poster_url=fields.get("poster_url", "https://img.test/1.jpg"),
        duration_minutes=fields.get("duration_minutes", 102),
        is_duo=is_duo,
        stocks=stocks,
    )


def programme(price_cents=700, quantity=None, title="La Dernière Séance"):
    """Two films: 3 showtimes and 1 showtime."""
    return [
        film(
            "310001",
            [
                stock(f"310001:{day}", IN_3_DAYS + timedelta(days=day), price_cents, quantity)
                for day in range(3)
            ],
            title=title,
        ),
        film(
            "310002",
            [stock("310002:0", IN_3_DAYS, price_cents, quantity, ("VO",))],
            title="Les Oiseaux de passage",
        ),
    ]


@pytest.fixture
def service(issuer):
    return auth(issuer, "importer", "service")


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    return pro, await make_venue(catalog, pro)


async def upsert(catalog, service, venue_id, offers):
    request = pb.UpsertProviderOffersRequest(
        venue_id=venue_id, source=resources_pb2.OFFER_SOURCE_ALLOCINE, offers=offers
    )
    reply = await catalog.providers.UpsertProviderOffers(request, metadata=service)
    return (
        reply.offers_created,
        reply.offers_updated,
        reply.stocks_created,
        reply.stocks_updated,
        reply.stocks_skipped,
    )


async def rows(engine, venue_id) -> dict[str, dict]:
    """Offers and stocks of the venue by provider reference, with their row versions: xmin
    changes when a row is updated, xmax when it is locked."""
    query = text("""
        SELECT o.provider_reference AS ref, o.xmin || '/' || o.xmax AS version, o.title,
               o.is_active, o.is_duo, o.source, o.duration_minutes, NULL AS updated_at
        FROM offers o WHERE o.venue_id = :venue
        UNION ALL
        SELECT s.provider_reference, s.xmin || '/' || s.xmax, NULL, s.is_active, NULL, NULL, NULL,
               s.updated_at
        FROM stocks s JOIN offers o ON o.id = s.offer_id WHERE o.venue_id = :venue
    """)
    async with engine.connect() as conn:
        result = await conn.execute(query, {"venue": venue_id})
        return {row.ref: dict(row._mapping) for row in result}


async def stock_row(engine, reference: str):
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT * FROM stocks WHERE provider_reference = :ref"), {"ref": reference}
        )
        return result.one()


async def events(engine) -> list[events_pb2.StockUpdated]:
    async with engine.connect() as conn:
        payloads = await conn.scalars(
            text(
                "SELECT payload FROM outbox WHERE routing_key = 'stock.updated' ORDER BY created_at"
            )
        )
        return [events_pb2.StockUpdated.FromString(payload) for payload in payloads]


async def test_a_first_import_creates_offers_and_stocks(catalog, catalog_engine, cinema, service):
    _, venue = cinema
    assert await upsert(catalog, service, venue.id, programme(quantity=50)) == (2, 0, 4, 0, 0)
    rex = await stock_row(catalog_engine, "310001:1")
    assert rex.starts_at == IN_3_DAYS + timedelta(days=1)
    assert rex.booking_limit_at == rex.starts_at
    assert (rex.price_cents, rex.quantity, rex.features, rex.edited_fields) == (700, 50, ["VF"], [])
    vo = await stock_row(catalog_engine, "310002:0")
    assert (vo.quantity, vo.features) == (50, ["VO"])
    offers = await rows(catalog_engine, venue.id)
    assert offers["310001"]["source"] == "ALLOCINE"
    assert (offers["310001"]["is_duo"], offers["310001"]["is_active"]) == (True, True)
    assert offers["310001"]["duration_minutes"] == 102
    # Creations publish nothing: no booking can exist on a new showtime.
    assert await events(catalog_engine) == []


async def test_the_same_import_again_changes_and_locks_nothing(
    catalog, catalog_engine, cinema, service
):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    before = await rows(catalog_engine, venue.id)
    assert await upsert(catalog, service, venue.id, programme()) == (0, 0, 0, 0, 0)
    # Same xmin and xmax: no row was updated, nor even locked.
    assert await rows(catalog_engine, venue.id) == before
    assert await events(catalog_engine) == []


async def test_a_changed_import_updates_only_what_changed(catalog, catalog_engine, cinema, service):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    before = await rows(catalog_engine, venue.id)
    changed = programme()
    changed[0].title = "La Dernière Séance (version restaurée)"
    changed[0].stocks[1].price_cents = 650
    assert await upsert(catalog, service, venue.id, changed) == (0, 1, 0, 1, 0)
    after = await rows(catalog_engine, venue.id)
    assert [ref for ref in after if after[ref] != before[ref]] == ["310001", "310001:1"]
    assert after["310001"]["title"] == "La Dernière Séance (version restaurée)"
    (event,) = await events(catalog_engine)
    assert (event.stock.price_cents, event.venue_id) == (650, venue.id)
    assert not event.HasField("previous_starts_at")


async def test_pro_edits_deactivations_and_deletions_survive(
    catalog, catalog_engine, cinema, service
):
    pro, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    offers = (
        await catalog.offers.ListOffers(
            offers_pb.ListOffersRequest(venue_id=venue.id), metadata=pro.metadata
        )
    ).offers
    oiseaux = next(offer for offer in offers if offer.title == "Les Oiseaux de passage")
    await catalog.offers.UpdateOffer(
        offers_pb.UpdateOfferRequest(offer_id=oiseaux.id, is_active=False), metadata=pro.metadata
    )
    edited = await stock_row(catalog_engine, "310001:0")
    deleted = await stock_row(catalog_engine, "310001:1")
    limit = edited.starts_at - timedelta(hours=2)
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(
            stock_id=str(edited.id),
            price_cents=500,
            quantity=20,
            booking_limit_at=timestamp(limit),
        ),
        metadata=pro.metadata,
    )
    await catalog.offers.DeleteStock(
        offers_pb.DeleteStockRequest(stock_id=str(deleted.id)), metadata=pro.metadata
    )

    changed = programme(price_cents=900, quantity=80, title="Rex")
    assert await upsert(catalog, service, venue.id, changed) == (0, 1, 0, 2, 1)

    kept = await stock_row(catalog_engine, "310001:0")
    assert (kept.price_cents, kept.quantity, kept.booking_limit_at) == (500, 20, limit)
    gone = await stock_row(catalog_engine, "310001:1")
    assert (gone.deleted_at is not None, gone.price_cents) == (True, 700)
    other = await stock_row(catalog_engine, "310001:2")
    assert (other.price_cents, other.quantity, other.booking_limit_at) == (
        900,
        80,
        other.starts_at,
    )
    after = await rows(catalog_engine, venue.id)
    assert after["310002"]["is_active"] is False
    assert after["310001"]["title"] == "Rex"
    # Once more: the pro's choices still hold and nothing is written.
    assert await upsert(catalog, service, venue.id, changed) == (0, 0, 0, 0, 1)
    assert await rows(catalog_engine, venue.id) == after


async def test_is_duo_is_set_only_on_creation(catalog, catalog_engine, cinema, service):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    single = programme()
    for offer in single:
        offer.is_duo = False
    assert await upsert(catalog, service, venue.id, single) == (0, 0, 0, 0, 0)
    assert (await rows(catalog_engine, venue.id))["310001"]["is_duo"] is True


async def test_quantity_never_goes_below_the_places_booked(
    catalog, catalog_engine, cinema, service
):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme(quantity=10))
    booked = await stock_row(catalog_engine, "310001:0")
    await catalog.reservations.ReserveStock(
        reservations_pb.ReserveStockRequest(
            stock_id=str(booked.id), quantity=2, reservation_id=str(uuid.uuid4())
        ),
        metadata=service,
    )
    await catalog.reservations.ReserveStock(
        reservations_pb.ReserveStockRequest(
            stock_id=str(booked.id), quantity=2, reservation_id=str(uuid.uuid4())
        ),
        metadata=service,
    )
    assert await upsert(catalog, service, venue.id, programme(quantity=3)) == (0, 0, 0, 4, 0)
    assert (await stock_row(catalog_engine, "310001:0")).quantity == 4
    assert (await stock_row(catalog_engine, "310001:1")).quantity == 3
    assert await upsert(catalog, service, venue.id, programme(quantity=None)) == (0, 0, 0, 4, 0)
    assert (await stock_row(catalog_engine, "310001:0")).quantity is None


async def test_past_showtimes_are_neither_created_nor_edited(
    catalog, catalog_engine, cinema, service
):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    async with catalog_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE stocks SET starts_at = now() - interval '1 hour',"
                " booking_limit_at = now() - interval '1 hour'"
                " WHERE provider_reference = '310002:0'"
            )
        )
    yesterday = datetime.now(UTC) - timedelta(days=1)
    offers = programme(price_cents=800)
    offers[0].stocks.append(stock("310001:past", yesterday))
    assert await upsert(catalog, service, venue.id, offers) == (0, 0, 0, 3, 2)
    assert (await stock_row(catalog_engine, "310002:0")).price_cents == 700
    assert "310001:past" not in await rows(catalog_engine, venue.id)


async def test_showtimes_missing_from_the_import_are_kept(catalog, catalog_engine, cinema, service):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    shorter = programme()[:1]
    del shorter[0].stocks[2]
    assert await upsert(catalog, service, venue.id, shorter) == (0, 0, 0, 0, 0)
    assert len(await rows(catalog_engine, venue.id)) == 6


async def test_a_moved_showtime_is_published_with_its_previous_start(
    catalog, catalog_engine, cinema, service
):
    _, venue = cinema
    await upsert(catalog, service, venue.id, programme())
    moved = programme()
    moved[1].stocks[0].starts_at.CopyFrom(timestamp(IN_3_DAYS + timedelta(hours=1)))
    assert await upsert(catalog, service, venue.id, moved) == (0, 0, 0, 1, 0)
    (event,) = await events(catalog_engine)
    assert event.previous_starts_at.ToDatetime(tzinfo=UTC) == IN_3_DAYS
    assert event.stock.starts_at.ToDatetime(tzinfo=UTC) == IN_3_DAYS + timedelta(hours=1)
    assert event.stock.booking_limit_at == event.stock.starts_at


async def expect_error(call, code: grpc.StatusCode, reason: str):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


async def test_only_services_may_import(catalog, cinema):
    pro, venue = cinema
    request = pb.UpsertProviderOffersRequest(
        venue_id=venue.id, source=resources_pb2.OFFER_SOURCE_ALLOCINE, offers=programme()
    )
    await expect_error(
        catalog.providers.UpsertProviderOffers(request, metadata=pro.metadata),
        grpc.StatusCode.PERMISSION_DENIED,
        "FORBIDDEN",
    )
    await expect_error(
        catalog.providers.UpsertProviderOffers(request),
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


@pytest.mark.parametrize(
    ("change", "code", "reason"),
    [
        (lambda r: setattr(r, "venue_id", str(uuid.uuid4())), "NOT_FOUND", "VENUE_NOT_FOUND"),
        (lambda r: setattr(r, "venue_id", "nope"), "NOT_FOUND", "VENUE_NOT_FOUND"),
        (
            lambda r: setattr(r, "source", resources_pb2.OFFER_SOURCE_MANUAL),
            "INVALID_ARGUMENT",
            "INVALID_SOURCE",
        ),
        (
            lambda r: r.offers.append(r.offers[0]),
            "INVALID_ARGUMENT",
            "DUPLICATE_PROVIDER_REFERENCE",
        ),
        (
            lambda r: r.offers[0].stocks.append(r.offers[0].stocks[0]),
            "INVALID_ARGUMENT",
            "DUPLICATE_PROVIDER_REFERENCE",
        ),
        (
            lambda r: setattr(r.offers[0], "provider_reference", " "),
            "INVALID_ARGUMENT",
            "INVALID_PROVIDER_REFERENCE",
        ),
        (
            lambda r: setattr(r.offers[0].stocks[0], "price_cents", 30001),
            "INVALID_ARGUMENT",
            "INVALID_PRICE",
        ),
        (
            lambda r: setattr(r.offers[0].stocks[0], "quantity", -1),
            "INVALID_ARGUMENT",
            "INVALID_QUANTITY",
        ),
        (lambda r: setattr(r.offers[0], "title", ""), "INVALID_ARGUMENT", "INVALID_TITLE"),
        (
            lambda r: setattr(r.offers[0], "duration_minutes", 0),
            "INVALID_ARGUMENT",
            "INVALID_DURATION",
        ),
        (
            lambda r: r.offers[0].stocks[0].ClearField("starts_at"),
            "INVALID_ARGUMENT",
            "INVALID_STARTS_AT",
        ),
        (
            lambda r: r.offers[0].stocks.extend(stock(f"many:{n}", IN_3_DAYS) for n in range(5000)),
            "INVALID_ARGUMENT",
            "BATCH_TOO_LARGE",
        ),
    ],
)
async def test_invalid_imports_are_refused_whole(
    catalog, catalog_engine, cinema, service, change, code, reason
):
    _, venue = cinema
    request = pb.UpsertProviderOffersRequest(
        venue_id=venue.id, source=resources_pb2.OFFER_SOURCE_ALLOCINE, offers=programme()
    )
    change(request)
    await expect_error(
        catalog.providers.UpsertProviderOffers(request, metadata=service),
        getattr(grpc.StatusCode, code),
        reason,
    )
    assert await rows(catalog_engine, venue.id) == {}


async def categories_of(engine, venue_id) -> list[tuple[str, str, int, int]]:
    """(offer reference, label, price, live stocks) of the venue's categories."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text("""
                SELECT o.provider_reference, c.label, c.price_cents, count(s.id) AS stocks
                FROM price_categories c JOIN offers o ON o.id = c.offer_id
                LEFT JOIN stocks s ON s.price_category_id = c.id AND s.deleted_at IS NULL
                WHERE o.venue_id = :venue AND c.deleted_at IS NULL
                GROUP BY 1, 2, 3 ORDER BY 1, 3
            """),
            {"venue": venue_id},
        )
        return [tuple(row) for row in result]


async def test_imported_stocks_get_the_tarif_unique_of_their_price(
    catalog, catalog_engine, cinema, service
):
    pro, venue = cinema
    await upsert(catalog, service, venue.id, programme(price_cents=700))
    assert await categories_of(catalog_engine, venue.id) == [
        ("310001", "Tarif unique", 700, 3),
        ("310002", "Tarif unique", 700, 1),
    ]
    # A new price of the venue's setting: the offers' category of that price.
    changed = programme(price_cents=700)
    changed[0].stocks[1].price_cents = 650
    assert await upsert(catalog, service, venue.id, changed) == (0, 0, 0, 1, 0)
    assert await categories_of(catalog_engine, venue.id) == [
        ("310001", "Tarif 2", 650, 1),
        ("310001", "Tarif unique", 700, 2),
        ("310002", "Tarif unique", 700, 1),
    ]
    (event,) = await events(catalog_engine)
    assert (event.stock.price_cents, event.stock.price_category_label) == (650, "Tarif 2")
    # A pro's new price of a category is the stocks' edited price: the import keeps it.
    listed = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=event.stock.offer_id), metadata=pro.metadata
    )
    unique = next(s for s in listed.stocks if s.price_category_label == "Tarif unique")
    await catalog.offers.UpdatePriceCategory(
        offers_pb.UpdatePriceCategoryRequest(
            price_category_id=unique.price_category_id, price_cents=720
        ),
        metadata=pro.metadata,
    )
    assert await upsert(catalog, service, venue.id, changed) == (0, 0, 0, 0, 0)
    assert ("310001", "Tarif unique", 720, 2) in await categories_of(catalog_engine, venue.id)
