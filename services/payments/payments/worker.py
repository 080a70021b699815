"""The payments worker: the ledger's event consumers (booking events, catalog events)."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from payments.consumers import booking_events, catalog_events
from payments.settings import PaymentsSettings
from pclib.inbox import EventConsumer


def consumers(engine: AsyncEngine, settings: PaymentsSettings) -> list[EventConsumer]:
    """One durable quorum queue per consumer, each bound to the events it handles."""
    return [
        EventConsumer(
            engine,
            settings.amqp_url,
            f"{settings.queue_prefix}.booking-events",
            {settings.booking_exchange: list(booking_events.HANDLERS)},
            booking_events.HANDLERS,
        ),
        EventConsumer(
            engine,
            settings.amqp_url,
            f"{settings.queue_prefix}.catalog-events",
            {settings.catalog_exchange: list(catalog_events.HANDLERS)},
            catalog_events.HANDLERS,
        ),
    ]


async def run_worker(engine: AsyncEngine, settings: PaymentsSettings, stop: asyncio.Event) -> None:
    await asyncio.gather(*(consumer.run(stop) for consumer in consumers(engine, settings)))
