"""The catalog's events reach RabbitMQ through the outbox, even when the broker was down while
the changes were made."""

import asyncio

import pytest
from sqlalchemy import text

from passculture.catalog.v1 import events_pb2
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from pclib.outbox import OutboxRelay
from tests.support.catalog_helpers import make_offer, make_pro, make_stock, make_venue
from tests.support.pclib_fixtures import drain, eventually, observe, receive


@pytest.fixture
async def observed(broker, unique_name):
    """A catalog exchange for this test, and a queue bound to all of its events."""
    name = f"catalog-{unique_name}"
    return name, await observe(broker, name)


async def outbox_ids(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM outbox ORDER BY created_at, id"))
        return [str(row.id) for row in rows]


async def test_events_made_while_the_broker_is_unreachable_all_arrive(
    catalog, issuer, catalog_engine, observed, proxy
):
    exchange, queue = observed
    relay = OutboxRelay(catalog_engine, proxy.url, exchange, poll_interval=0.05, max_backoff=0.5)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    try:
        # The proxy is down: the broker is unreachable while the pro works.
        pro = await make_pro(catalog, issuer)
        venue = await make_venue(catalog, pro)
        offer = await make_offer(catalog, pro, venue.id)
        stocks = [await make_stock(catalog, pro, offer.id, in_days=d) for d in (1, 2, 3)]
        await catalog.offers.UpdateStock(
            offers_pb.UpdateStockRequest(stock_id=stocks[0].id, price_cents=500),
            metadata=pro.metadata,
        )
        await catalog.offers.DeleteStock(
            offers_pb.DeleteStockRequest(stock_id=stocks[1].id), metadata=pro.metadata
        )
        written = await outbox_ids(catalog_engine)
        assert len(written) == 6
        await asyncio.sleep(0.5)  # the relay has tried, and failed, several times meanwhile
        assert await drain(queue) == []

        await proxy.start()
        received = await receive(queue, 6, within=15)
        await eventually(lambda: _is_empty(catalog_engine))
    finally:
        stop.set()
        await asyncio.wait_for(relaying, 10)

    assert [m.message_id for m in received] == written
    assert [m.routing_key for m in received] == [
        "venue.upserted",
        "stock.updated",
        "stock.updated",
        "stock.updated",
        "stock.updated",
        "stock.deleted",
    ]
    deleted = events_pb2.StockDeleted.FromString(received[-1].body)
    assert (deleted.stock_id, deleted.venue_id) == (stocks[1].id, venue.id)
    assert await drain(queue) == []


async def _is_empty(engine) -> bool:
    return await outbox_ids(engine) == []
