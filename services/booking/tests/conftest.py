"""Fixtures for the booking service: its database, and real gRPC servers of the catalog and
of booking (in this process, on free ports), wired to each other as in production."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from booking import worker
from booking.__main__ import MIGRATIONS as BOOKING_MIGRATIONS
from booking.settings import BookingSettings
from pclib.db import make_engine, make_pool
from pclib.mail import Mailer
from pclib.outbox import OutboxRelay
from tests.support.booking_helpers import BookingStubs, isolated, running_booking, store_venue
from tests.support.catalog_helpers import make_pro
from tests.support.pclib_fixtures import running_consumers
from tests.support.smtp_sink import free_port


@pytest.fixture
def booking_db_url(migrated_database) -> str:
    return migrated_database("booking", BOOKING_MIGRATIONS)


@pytest.fixture
async def booking_engine(booking_db_url):
    engine = make_engine(booking_db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def booking_pool(booking_db_url):
    """The saga's psycopg pool on the test's database."""
    async with make_pool(booking_db_url, 5) as pool:
        yield pool


@pytest.fixture
def booking_settings(
    booking_db_url, catalog_server, jwt_keys, ticket_keys, amqp_url
) -> BookingSettings:
    return BookingSettings(
        database_url=booking_db_url,
        amqp_url=amqp_url,
        catalog_addr=catalog_server[0],
        jwt_private_key_file=str(jwt_keys[0]),
        jwt_public_key_file=str(jwt_keys[1]),
        ticket_private_key_file=str(ticket_keys[0]),
        ticket_public_key_file=str(ticket_keys[1]),
        reconcile_after_seconds=1.0,
        reconcile_interval_seconds=0.2,
    )


@pytest.fixture
async def booking(booking_engine, verifier, booking_settings) -> AsyncIterator[BookingStubs]:
    async with running_booking(booking_engine, verifier, booking_settings) as (_, stubs):
        yield stubs


# The counter's pros and venues: two offerers, a venue each.


@pytest.fixture
async def pro(catalog, issuer):
    return await make_pro(catalog, issuer)


@pytest.fixture
async def other_pro(catalog, issuer):
    return await make_pro(catalog, issuer)


@pytest.fixture
async def venue(booking_engine, pro):
    return await store_venue(booking_engine, offerer_id=pro.offerer_id)


@pytest.fixture
async def other_venue(booking_engine, other_pro):
    return await store_venue(booking_engine, offerer_id=other_pro.offerer_id, name="Le Rival")


# The emails: the outbox relay and the worker's emails consumer, to an SMTP server on smtp_port
# (tests.support.smtp_sink.smtp_server, started by the test when it wants it up).


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mail_settings(booking_settings, unique_name, smtp_port) -> BookingSettings:
    return isolated(booking_settings, unique_name).model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_timeout_seconds": 2.0}
    )


def emails_consumer(engine, pool, settings: BookingSettings, mail: Mailer):
    consumers = worker.consumers(engine, pool, settings, mail)
    (consumer,) = [c for c in consumers if "emails" in c.queue]
    return consumer


@pytest.fixture
async def mail_pipeline(booking_engine, booking_pool, broker, mail_settings):
    """The outbox relay and the emails consumer, running for the test; yields the consumer."""
    mail = worker.mailer(mail_settings)
    consumer = emails_consumer(booking_engine, booking_pool, mail_settings, mail)
    relay = OutboxRelay(
        booking_engine, mail_settings.amqp_url, mail_settings.events_exchange, poll_interval=0.05
    )
    stop = asyncio.Event()
    try:
        async with running_consumers(broker, [consumer]):
            relaying = asyncio.create_task(relay.run(stop))
            yield consumer
            stop.set()
            await asyncio.wait_for(relaying, 10)
    finally:
        await mail.close()
