"""The payments worker: the ledger's event consumers (booking events, catalog events)."""

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from payments.consumers import booking_events, catalog_events
from payments.settings import PaymentsSettings
from pclib.inbox import Consumer, EventConsumer, StatementConsumer


def consumers(
    engine: AsyncEngine, pool: AsyncConnectionPool, settings: PaymentsSettings
) -> list[Consumer[Any]]:
    """One durable quorum queue per consumer, each bound to the events it handles."""
    return [
        StatementConsumer(
            pool,
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


async def run_worker(
    engine: AsyncEngine, pool: AsyncConnectionPool, settings: PaymentsSettings, stop: asyncio.Event
) -> None:
    await asyncio.gather(*(consumer.run(stop) for consumer in consumers(engine, pool, settings)))
