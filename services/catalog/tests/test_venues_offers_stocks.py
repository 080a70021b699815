"""The pro's side of the catalog through its gRPC API: venues, offers, stocks, and isolation."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from passculture.catalog.v1 import events_pb2, resources_pb2
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import venue_service_pb2 as venues_pb
from pclib.timestamps import timestamp
from tests.support.catalog_helpers import (
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
    siret_of,
)


async def expect_error(call, code: grpc.StatusCode, reason: str):
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    assert (failure.value.code(), reason_of(failure.value)) == (code, reason)


async def outbox_events(engine) -> list[tuple[str, bytes]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT routing_key, payload FROM outbox ORDER BY created_at")
        )
        return [tuple(row) for row in rows]


async def test_venue_timezone_is_derived_from_the_postal_code(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    paris = await make_venue(catalog, pro)
    reunion = await make_venue(
        catalog, pro, postal_code="97400", siret=siret_of(pro.siren, 2), at=(-20.88, 55.45)
    )
    chosen = await make_venue(
        catalog, pro, siret=siret_of(pro.siren, 3), timezone="America/Cayenne"
    )
    assert (paris.timezone, reunion.timezone, chosen.timezone) == (
        "Europe/Paris",
        "Indian/Reunion",
        "America/Cayenne",
    )


async def test_venue_siret_rules(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    other_siren = (await make_pro(catalog, issuer)).siren
    invalid = make_venue(catalog, pro, siret="44306184100048")
    await expect_error(invalid, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_SIRET")
    foreign = make_venue(catalog, pro, siret=siret_of(other_siren))
    await expect_error(foreign, grpc.StatusCode.INVALID_ARGUMENT, "SIRET_NOT_IN_OFFERER")
    await make_venue(catalog, pro, siret=siret_of(pro.siren, 7))
    twice = make_venue(catalog, pro, siret=siret_of(pro.siren, 7))
    await expect_error(twice, grpc.StatusCode.ALREADY_EXISTS, "SIRET_TAKEN")
    without = await make_venue(catalog, pro, siret="")
    assert without.siret == ""


async def test_venue_events_go_through_the_outbox(catalog, issuer, catalog_engine):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    await catalog.venues.UpdateVenue(
        venues_pb.UpdateVenueRequest(venue_id=venue.id, name="Le Rex"), metadata=pro.metadata
    )
    events = await outbox_events(catalog_engine)
    assert [key for key, _ in events] == ["venue.upserted", "venue.upserted"]
    last = events_pb2.VenueUpserted.FromString(events[-1][1])
    assert (last.venue.name, last.offerer.siren) == ("Le Rex", pro.siren)


async def test_a_pro_never_reaches_another_offerers_things(catalog, issuer):
    owner, intruder = await make_pro(catalog, issuer), await make_pro(catalog, issuer)
    venue = await make_venue(catalog, owner)
    offer = await make_offer(catalog, owner, venue.id)
    stock = await make_stock(catalog, owner, offer.id)
    meta = intruder.metadata
    not_found = grpc.StatusCode.NOT_FOUND
    await expect_error(
        catalog.venues.GetVenue(venues_pb.GetVenueRequest(venue_id=venue.id), metadata=meta),
        not_found,
        "VENUE_NOT_FOUND",
    )
    await expect_error(make_offer(catalog, intruder, venue.id), not_found, "VENUE_NOT_FOUND")
    await expect_error(
        catalog.offers.GetOffer(offers_pb.GetOfferRequest(offer_id=offer.id), metadata=meta),
        not_found,
        "OFFER_NOT_FOUND",
    )
    await expect_error(make_stock(catalog, intruder, offer.id), not_found, "OFFER_NOT_FOUND")
    await expect_error(
        catalog.offers.UpdateStock(
            offers_pb.UpdateStockRequest(stock_id=stock.id, price_cents=1), metadata=meta
        ),
        not_found,
        "STOCK_NOT_FOUND",
    )
    await expect_error(
        catalog.offers.DeleteStock(offers_pb.DeleteStockRequest(stock_id=stock.id), metadata=meta),
        not_found,
        "STOCK_NOT_FOUND",
    )
    listed = await catalog.venues.ListVenues(venues_pb.ListVenuesRequest(), metadata=meta)
    assert list(listed.venues) == []
    offers = await catalog.offers.ListOffers(offers_pb.ListOffersRequest(), metadata=meta)
    assert list(offers.offers) == []


async def test_malformed_ids_are_not_found(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    await expect_error(
        catalog.offers.GetOffer(offers_pb.GetOfferRequest(offer_id="nope"), metadata=pro.metadata),
        grpc.StatusCode.NOT_FOUND,
        "OFFER_NOT_FOUND",
    )


async def test_offer_and_stock_lifecycle(catalog, issuer, catalog_engine):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    offer = await make_offer(catalog, pro, venue.id, is_duo=True, duration_minutes=102)
    assert (offer.is_active, offer.source) == (True, resources_pb2.OFFER_SOURCE_MANUAL)
    stock = await make_stock(
        catalog, pro, offer.id, quantity=100, features=[resources_pb2.FEATURE_VO]
    )
    assert stock.booking_limit_at == stock.starts_at
    assert list(stock.features) == [resources_pb2.FEATURE_VO]

    updated = await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=stock.id, price_cents=650, clear_quantity=True),
        metadata=pro.metadata,
    )
    assert (updated.stock.price_cents, updated.stock.HasField("quantity")) == (650, False)

    moved_to = datetime.now(UTC) + timedelta(days=10)
    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=stock.id, starts_at=timestamp(moved_to)),
        metadata=pro.metadata,
    )
    await catalog.offers.DeleteStock(
        offers_pb.DeleteStockRequest(stock_id=stock.id), metadata=pro.metadata
    )
    listed = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=offer.id), metadata=pro.metadata
    )
    assert list(listed.stocks) == []

    events = [key for key, _ in await outbox_events(catalog_engine)]
    assert events[-4:] == ["stock.updated", "stock.updated", "stock.updated", "stock.deleted"]
    moved = events_pb2.StockUpdated.FromString((await outbox_events(catalog_engine))[-2][1])
    assert moved.previous_starts_at == stock.starts_at


async def test_stock_rules_are_enforced(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await expect_error(make_stock(catalog, pro, offer.id, in_days=-1), invalid, "STARTS_AT_IN_PAST")
    await expect_error(
        make_stock(catalog, pro, offer.id, price_cents=30_001), invalid, "INVALID_PRICE"
    )
    await expect_error(
        make_stock(catalog, pro, offer.id, quantity=1_000_001), invalid, "INVALID_QUANTITY"
    )


async def test_pagination_of_venues(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    for number in range(5):
        await make_venue(catalog, pro, siret=siret_of(pro.siren, number + 1))
    seen, token = [], ""
    while True:
        page = await catalog.venues.ListVenues(
            venues_pb.ListVenuesRequest(page_size=2, page_token=token), metadata=pro.metadata
        )
        seen += [venue.id for venue in page.venues]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 5
    await expect_error(
        catalog.venues.ListVenues(
            venues_pb.ListVenuesRequest(page_token="garbage!"), metadata=pro.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )


async def test_an_admin_sees_every_offerers_venue(catalog, issuer):
    from tests.support.catalog_helpers import auth

    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    admin = auth(issuer, str(uuid.uuid4()), "admin")
    got = await catalog.venues.GetVenue(
        venues_pb.GetVenueRequest(venue_id=venue.id), metadata=admin
    )
    assert got.venue.id == venue.id


async def test_values_postgresql_refuses_are_invalid_arguments(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    await expect_error(
        catalog.offers.CreateOffer(
            offers_pb.CreateOfferRequest(venue_id=venue.id, title="A\x00B"), metadata=pro.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_VALUE",
    )


async def test_a_malformed_list_filter_gives_an_empty_page(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    await make_venue(catalog, pro)
    offers = await catalog.offers.ListOffers(
        offers_pb.ListOffersRequest(venue_id="not-an-id"), metadata=pro.metadata
    )
    venues = await catalog.venues.ListVenues(
        venues_pb.ListVenuesRequest(offerer_id="not-an-id"), metadata=pro.metadata
    )
    assert (list(offers.offers), list(venues.venues)) == ([], [])
