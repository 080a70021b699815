"""Fixtures of the payments service: the real catalog (gRPC, in this process), the payments
service's own database and server."""

import uuid
from collections.abc import AsyncIterator

import pytest

from payments.__main__ import MIGRATIONS as PAYMENTS_MIGRATIONS
from payments.settings import PaymentsSettings
from pclib.db import make_engine
from tests.support.catalog_helpers import auth
from tests.support.payments_helpers import PaymentsStubs, running_payments


@pytest.fixture
def payments_db_url(migrated_database) -> str:
    return migrated_database("payments", PAYMENTS_MIGRATIONS)


@pytest.fixture
async def payments_engine(payments_db_url):
    engine = make_engine(payments_db_url, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture
def payments_settings(payments_db_url, catalog_server, jwt_keys, amqp_url) -> PaymentsSettings:
    return PaymentsSettings(
        database_url=payments_db_url,
        amqp_url=amqp_url,
        catalog_addr=catalog_server[0],
        jwt_public_key_file=str(jwt_keys[1]),
    )


@pytest.fixture
async def payments(payments_engine, verifier, payments_settings) -> AsyncIterator[PaymentsStubs]:
    async with running_payments(payments_engine, verifier, payments_settings) as (_, stubs):
        yield stubs


@pytest.fixture
def admin(issuer) -> tuple:
    return auth(issuer, str(uuid.uuid4()), "admin")
