"""booking.cancelled gives the seats back, once, through a real consumer on RabbitMQ."""

import asyncio
import uuid

import aio_pika
import pytest
from prometheus_client import REGISTRY

from catalog.__main__ import booking_events_consumer
from catalog.settings import CatalogSettings
from passculture.booking.v1 import events_pb2 as booking_events
from passculture.catalog.v1 import offer_service_pb2 as offers_pb
from passculture.catalog.v1 import reservation_service_pb2 as reservations_pb
from pclib.topology import declare_exchange
from tests.support.catalog_helpers import auth, make_offer, make_pro, make_stock, make_venue
from tests.support.pclib_fixtures import eventually


@pytest.fixture
async def consumer_settings(catalog_db_url, amqp_url, broker, unique_name):
    settings = CatalogSettings(
        database_url=catalog_db_url,
        amqp_url=amqp_url,
        booking_exchange=f"booking-{unique_name}",
        queue_prefix=f"catalog-{unique_name}",
    )
    broker.consumer_queue(f"{settings.queue_prefix}.booking-events")
    broker.exchanges.append(settings.booking_exchange)
    return settings


async def publish_cancelled(broker, exchange_name: str, booking_id: str, message_id: str):
    exchange = await declare_exchange(broker.channel, exchange_name)
    event = booking_events.BookingCancelled(
        booking=booking_events.BookingFacts(booking_id=booking_id), reason="BENEFICIARY"
    )
    await exchange.publish(
        aio_pika.Message(event.SerializeToString(), message_id=message_id),
        routing_key="booking.cancelled",
    )


async def booked(catalog, pro, offer_id) -> int:
    stocks = await catalog.offers.ListStocks(
        offers_pb.ListStocksRequest(offer_id=offer_id), metadata=pro.metadata
    )
    return stocks.stocks[0].booked_quantity


async def test_a_cancelled_booking_frees_its_seats_once(
    catalog, issuer, catalog_engine, consumer_settings, broker
):
    pro = await make_pro(catalog, issuer)
    offer = await make_offer(catalog, pro, (await make_venue(catalog, pro)).id, is_duo=True)
    stock = await make_stock(catalog, pro, offer.id, quantity=10)
    service = auth(issuer, "booking", "service")
    booking_id = str(uuid.uuid4())
    await catalog.reservations.ReserveStock(
        reservations_pb.ReserveStockRequest(
            stock_id=stock.id, quantity=2, reservation_id=booking_id
        ),
        metadata=service,
    )
    assert await booked(catalog, pro, offer.id) == 2

    consumer = booking_events_consumer(catalog_engine, consumer_settings)
    await consumer.declare(broker.channel)  # as `migrate` does before anything is published
    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))
    try:
        message_id = str(uuid.uuid4())
        await publish_cancelled(broker, consumer_settings.booking_exchange, booking_id, message_id)
        await eventually(lambda: _booked_is(catalog, pro, offer.id, 0))
        # A redelivery of the same event, and another cancellation event of the same booking.
        await publish_cancelled(broker, consumer_settings.booking_exchange, booking_id, message_id)
        await publish_cancelled(
            broker, consumer_settings.booking_exchange, booking_id, str(uuid.uuid4())
        )
        await eventually(lambda: outcomes(consumer.queue) == {"handled": 2, "duplicate": 1})
        assert await booked(catalog, pro, offer.id) == 0
    finally:
        stop.set()
        await asyncio.wait_for(consuming, 10)
    got = await catalog.reservations.GetReservation(
        reservations_pb.GetReservationRequest(reservation_id=booking_id), metadata=service
    )
    assert got.reservation.status == reservations_pb.RESERVATION_STATUS_RELEASED


def outcomes(queue: str) -> dict[str, float]:
    counts = {
        result: REGISTRY.get_sample_value(
            "events_consumed_total",
            {"queue": queue, "routing_key": "booking.cancelled", "result": result},
        )
        for result in ("handled", "duplicate", "failed", "rejected")
    }
    return {result: count for result, count in counts.items() if count}


async def _booked_is(catalog, pro, offer_id, expected: int) -> bool:
    return await booked(catalog, pro, offer_id) == expected
