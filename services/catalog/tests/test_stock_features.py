"""A showtime's features (VF, VO, 3D): what the pro and the import set, the catalog keeps in one
order and answers everywhere a stock is read."""

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import text

from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import provider_service_pb2 as provider_pb
from passculture.catalog.v1 import resources_pb2
from passculture.catalog.v1 import search_service_pb2 as search_pb
from pclib.timestamps import timestamp
from tests.support.catalog_helpers import (
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
)

VF, VO, THREE_D = resources_pb2.FEATURE_VF, resources_pb2.FEATURE_VO, resources_pb2.FEATURE_3D


@pytest.fixture
async def cinema(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    return pro, venue, await make_offer(catalog, pro, venue.id)


async def test_a_pros_3d_stock_is_kept_in_the_enums_order_and_read_back(catalog, cinema):
    pro, _, offer = cinema
    created = await make_stock(catalog, pro, offer.id, features=[THREE_D, VO, THREE_D])
    assert list(created.features) == [VO, THREE_D]
    listed = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=offer.id), metadata=pro.metadata
    )
    assert [list(stock.features) for stock in listed.stocks] == [[VO, THREE_D]]
    page = await catalog.search.GetPublicOffer(search_pb.GetPublicOfferRequest(offer_id=offer.id))
    assert [list(stock.features) for stock in page.stocks] == [[VO, THREE_D]]


async def test_an_unspecified_feature_is_refused(catalog, cinema):
    pro, _, offer = cinema
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await make_stock(
            catalog, pro, offer.id, features=[THREE_D, resources_pb2.FEATURE_UNSPECIFIED]
        )
    assert (failure.value.code(), reason_of(failure.value)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_FEATURE",
    )


def imported(features: list[resources_pb2.Feature], starts_at) -> provider_pb.ProviderOffer:
    stock = provider_pb.ProviderStock(
        provider_reference="42:2027-01-15T21:00:VF+3D",
        starts_at=timestamp(starts_at),
        price_cents=700,
        features=features,
    )
    return provider_pb.ProviderOffer(provider_reference="42", title="Avatar", stocks=[stock])


async def test_an_imported_3d_stock_is_stored_and_the_same_import_changes_nothing(
    catalog, catalog_engine, cinema, issuer
):
    _, venue, _ = cinema
    service = auth(issuer, "importer", "service")
    in_3_days = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    offers = [imported([THREE_D, VF], in_3_days)]
    request = provider_pb.UpsertProviderOffersRequest(
        venue_id=venue.id, source=resources_pb2.OFFER_SOURCE_ALLOCINE, offers=offers
    )
    first = await catalog.providers.UpsertProviderOffers(request, metadata=service)
    again = await catalog.providers.UpsertProviderOffers(request, metadata=service)
    assert (first.stocks_created, again.stocks_created, again.stocks_updated) == (1, 0, 0)
    async with catalog_engine.connect() as conn:
        stored = await conn.exec_driver_sql(
            "SELECT features FROM stocks WHERE provider_reference = '42:2027-01-15T21:00:VF+3D'"
        )
        assert stored.scalar_one() == ["VF", "3D"]


async def edit_features(catalog, pro, stock_id: str, features) -> resources_pb2.Stock:
    request = offers_pb.UpdateStockRequest(stock_id=stock_id)
    if features is not None:
        request.features.SetInParent()
        request.features.values.extend(features)
    return (await catalog.offers.UpdateStock(request, metadata=pro.metadata)).stock


async def test_a_pro_sets_the_features_whole_and_an_edit_without_them_keeps_them(catalog, cinema):
    pro, _, offer = cinema
    stock = await make_stock(catalog, pro, offer.id, features=[VF])
    assert list((await edit_features(catalog, pro, stock.id, [THREE_D, VF])).features) == [
        VF,
        THREE_D,
    ]
    assert list((await edit_features(catalog, pro, stock.id, None)).features) == [VF, THREE_D]
    assert list((await edit_features(catalog, pro, stock.id, [])).features) == []


async def test_features_the_pro_set_survive_an_import_the_others_follow_it(
    catalog, catalog_engine, cinema, issuer
):
    pro, venue, _ = cinema
    service = auth(issuer, "importer", "service")
    starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)

    def programme(features):
        stocks = [
            provider_pb.ProviderStock(
                provider_reference=reference, starts_at=timestamp(starts_at), features=features
            )
            for reference in ("edited", "left")
        ]
        for stock in stocks:
            stock.price_cents = 700
        offer = provider_pb.ProviderOffer(provider_reference="43", title="Avatar", stocks=stocks)
        return provider_pb.UpsertProviderOffersRequest(
            venue_id=venue.id, source=resources_pb2.OFFER_SOURCE_ALLOCINE, offers=[offer]
        )

    await catalog.providers.UpsertProviderOffers(programme([VF]), metadata=service)
    async with catalog_engine.connect() as conn:
        edited_id = await conn.scalar(
            text("SELECT id FROM stocks WHERE provider_reference = 'edited'")
        )
    await edit_features(catalog, pro, str(edited_id), [VO, THREE_D])
    again = await catalog.providers.UpsertProviderOffers(programme([VF, THREE_D]), metadata=service)
    assert again.stocks_updated == 1
    async with catalog_engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT provider_reference, features, edited_fields FROM stocks"
                " WHERE provider_reference IN ('edited', 'left')"
            )
        )
        assert sorted(map(tuple, rows)) == [
            ("edited", ["VO", "3D"], ["features"]),
            ("left", ["VF", "3D"], []),
        ]
