"""The booking worker: event consumers (catalog and payments events, emails and notifications),
the notifications' deliveries and the saga's reconciler."""

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from booking import notifications
from booking.consumers import catalog_events, emails, payment_events
from booking.external_tickets import OrphanTickets
from booking.saga import BookingSaga
from booking.settings import BookingSettings
from booking.upstreams import Upstreams
from pclib.db import make_session_factory
from pclib.inbox import Consumer, EffectConsumer, EventConsumer
from pclib.mail import Mailer
from pclib.topology import RetiredQueue


def mailer(settings: BookingSettings) -> Mailer:
    return Mailer(settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds)


def consumers(
    engine: AsyncEngine,
    pool: AsyncConnectionPool,
    settings: BookingSettings,
    mail: Mailer | None = None,
) -> list[Consumer[Any]]:
    """One durable quorum queue per consumer, each bound to the events it handles."""
    email_handlers = emails.handlers(mail or mailer(settings), settings.smtp_sender)
    return [
        EventConsumer(
            engine,
            settings.amqp_url,
            f"{settings.queue_prefix}.catalog-events",
            {settings.catalog_exchange: list(catalog_events.HANDLERS)},
            catalog_events.HANDLERS,
        ),
        EventConsumer(
            engine,
            settings.amqp_url,
            f"{settings.queue_prefix}.payment-events",
            {settings.payments_exchange: list(payment_events.HANDLERS)},
            payment_events.HANDLERS,
        ),
        EffectConsumer(
            pool,
            settings.amqp_url,
            f"{settings.queue_prefix}.emails",
            {settings.events_exchange: list(email_handlers)},
            email_handlers,
        ),
    ]


def retired_queues(settings: BookingSettings) -> list[RetiredQueue]:
    """Queues of earlier releases, unbound and then deleted by `migrate` once drained.

    `notifications`: its deliveries are recorded by the emails consumer, which every worker does
    since the release before this one: one message less per booking."""
    return [
        RetiredQueue(
            f"{settings.queue_prefix}.notifications",
            {settings.events_exchange: ["booking.created", "booking.cancelled"]},
        )
    ]


async def run_worker(
    engine: AsyncEngine,
    pool: AsyncConnectionPool,
    clients: Upstreams,
    settings: BookingSettings,
    stop: asyncio.Event,
) -> None:
    saga = BookingSaga(pool, clients.catalog, clients.ticketing)
    mail = mailer(settings)
    try:
        await asyncio.gather(
            *(consumer.run(stop) for consumer in consumers(engine, pool, settings, mail)),
            notifications.run_deliveries(make_session_factory(engine), settings, stop),
            saga.run_reconciler(
                stop,
                interval=settings.reconcile_interval_seconds,
                older_than=settings.reconcile_after_seconds,
                ticketing_older_than=settings.reconcile_ticketing_after_seconds,
            ),
            OrphanTickets(pool, clients.ticketing).run(stop, settings.reconcile_interval_seconds),
        )
    finally:
        await mail.close()
