"""Commands of the catalog service.

python -m catalog serve          the gRPC server
python -m catalog relay          the outbox relay (publishes events to RabbitMQ);
                                 trims expired inbox rows and idempotency keys
python -m catalog worker         seats back on booking.cancelled; the invitation emails
python -m catalog migrate        creates the database if missing, applies migrations
python -m catalog create-admin   creates or updates the admin from ADMIN_EMAIL/ADMIN_PASSWORD
"""

import argparse
import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog import consumers, invitation_emails
from catalog.app import build_server
from catalog.domain.accounts import normalised_email
from catalog.models import ProUser
from catalog.settings import CatalogSettings
from pclib import aio, migrations, retention, tracing
from pclib.auth import TokenVerifier
from pclib.db import make_engine, make_pool, make_session_factory
from pclib.grpc_server import serve_until_stopped, start_metrics_server, stop_event_on_signals
from pclib.inbox import EffectConsumer, EventConsumer, declare_queues
from pclib.logs import configure_logging
from pclib.mail import Mailer
from pclib.passwords import hash_password, verify_password
from pclib.refresh_tokens import revoke_account
from pclib.relay import run_relay_process

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("catalog")


async def serve(settings: CatalogSettings) -> None:
    # The engine for most work, the psycopg pool for the booking saga's calls: at most
    # 2 x DB_POOL_SIZE connections in all, as every service.
    engine = make_engine(settings.database_url, settings.db_pool_size, max_overflow=0)
    pool = make_pool(settings.database_url, settings.db_pool_size)
    server = build_server(
        make_session_factory(engine),
        pool,
        TokenVerifier.from_file(settings.jwt_public_key_file),
        settings,
    )
    start_metrics_server(settings.metrics_port)
    try:
        async with pool:
            await serve_until_stopped(
                server, settings.grpc_port, settings.grpc_drain_seconds, stop_event_on_signals()
            )
    finally:
        await engine.dispose()


async def relay(settings: CatalogSettings) -> None:
    await run_relay_process(
        settings,
        settings.events_exchange,
        [retention.INBOX, retention.IDEMPOTENCY_KEYS, *retention.SIGN_IN],
    )


def mailer(settings: CatalogSettings) -> Mailer:
    return Mailer(settings.smtp_host, settings.smtp_port, settings.smtp_timeout_seconds)


def invitation_emails_consumer(
    pool: AsyncConnectionPool, settings: CatalogSettings, mail: Mailer
) -> EffectConsumer:
    email_handlers = invitation_emails.handlers(mail, settings.smtp_sender, settings.invitation_url)
    return EffectConsumer(
        pool,
        settings.amqp_url,
        f"{settings.queue_prefix}.invitation-emails",
        {settings.events_exchange: list(email_handlers)},
        email_handlers,
    )


def booking_events_consumer(engine: AsyncEngine, settings: CatalogSettings) -> EventConsumer:
    return EventConsumer(
        engine,
        settings.amqp_url,
        f"{settings.queue_prefix}.booking-events",
        {settings.booking_exchange: list(consumers.HANDLERS)},
        consumers.HANDLERS,
    )


async def declare_consumer_queues(settings: CatalogSettings) -> None:
    engine = make_engine(settings.database_url, pool_size=1)
    # Never opened: declaring a queue needs only the broker.
    pool = make_pool(settings.database_url, 1)
    try:
        await declare_queues(
            settings.amqp_url,
            [
                booking_events_consumer(engine, settings),
                invitation_emails_consumer(pool, settings, mailer(settings)),
            ],
        )
    finally:
        await engine.dispose()


async def worker(settings: CatalogSettings) -> None:
    # Seats from the booking events, on the engine; invitation emails, on a psycopg pool (the
    # inbox read and written around each send, no transaction held): 2 x DB_POOL_SIZE at most.
    # No overflow: past the pool's size, a burst of events would open and close a connection
    # per event.
    engine = make_engine(settings.database_url, settings.db_pool_size, max_overflow=0)
    pool = make_pool(settings.database_url, settings.db_pool_size)
    mail = mailer(settings)
    start_metrics_server(settings.metrics_port)
    stop = stop_event_on_signals()
    try:
        async with pool:
            await asyncio.gather(
                booking_events_consumer(engine, settings).run(stop),
                invitation_emails_consumer(pool, settings, mail).run(stop),
            )
    finally:
        await mail.close()
        await engine.dispose()


async def create_admin(settings: CatalogSettings) -> None:
    if not (settings.admin_email and settings.admin_password):
        log.info("ADMIN_EMAIL/ADMIN_PASSWORD not set: no admin created")
        return
    email = normalised_email(settings.admin_email)
    password_hash = await hash_password(settings.admin_password)
    engine = make_engine(settings.database_url, pool_size=1)
    async with make_session_factory(engine).begin() as session:
        admin = await session.scalar(select(ProUser).where(ProUser.email == email))
        if admin is None:
            admin = ProUser(email=email, first_name="Admin", last_name="pass Culture")
            session.add(admin)
        elif not await verify_password(admin.password_hash, settings.admin_password):
            # A new password ends every session of the account.
            await revoke_account(session, str(admin.id), datetime.now(UTC))
        admin.password_hash = password_hash
        admin.is_admin = True
    await engine.dispose()
    log.info("admin account ready", extra={"email": email})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m catalog")
    parser.add_argument("command", choices=["serve", "relay", "worker", "migrate", "create-admin"])
    command = parser.parse_args().command
    settings = CatalogSettings()
    configure_logging("catalog", settings.log_level)
    tracing.setup_command("catalog", command)
    if command == "migrate":
        migrations.upgrade(MIGRATIONS, settings.database_url)
        aio.run(declare_consumer_queues(settings))
    elif command == "serve":
        aio.run(serve(settings))
    elif command == "relay":
        aio.run(relay(settings))
    elif command == "worker":
        aio.run(worker(settings))
    else:
        aio.run(create_admin(settings))


if __name__ == "__main__":
    main()
