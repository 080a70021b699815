import uuid

import grpc
import pytest

from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import resources_pb2
from passculture.catalog.v1 import stock_service_pb2 as pb
from tests.support.catalog_helpers import (
    auth,
    make_offer,
    make_pro,
    make_stock,
    make_venue,
    reason_of,
)


async def test_a_service_reads_a_stock_with_its_offer_venue_and_offerer(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    offer = await make_offer(catalog, pro, venue.id, is_duo=True)
    stock = await make_stock(catalog, pro, offer.id, quantity=1)
    service = auth(issuer, "booking", "service")
    got = await catalog.stocks.GetStock(pb.GetStockRequest(stock_id=stock.id), metadata=service)
    assert (got.stock, got.offer.id, got.venue.id) == (stock, offer.id, venue.id)
    assert (got.offerer.siren, got.offerer.status) == (
        pro.siren,
        resources_pb2.OFFERER_STATUS_VALIDATED,
    )
    assert got.is_bookable

    await catalog.offers.UpdateStock(
        offers_pb.UpdateStockRequest(stock_id=stock.id, is_active=False), metadata=pro.metadata
    )
    got = await catalog.stocks.GetStock(pb.GetStockRequest(stock_id=stock.id), metadata=service)
    assert not got.is_bookable


async def test_only_services_read_stocks(catalog, issuer):
    pro = await make_pro(catalog, issuer)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.stocks.GetStock(
            pb.GetStockRequest(stock_id=str(uuid.uuid4())), metadata=pro.metadata
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await catalog.stocks.GetStock(
            pb.GetStockRequest(stock_id=str(uuid.uuid4())),
            metadata=auth(issuer, "booking", "service"),
        )
    assert reason_of(failure.value) == "STOCK_NOT_FOUND"
