"""Fixtures of the import service: the real catalog (gRPC, in this process), the fake Allociné
over real HTTP on a free port, and the import service's own server and database."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from importer.__main__ import MIGRATIONS as IMPORTER_MIGRATIONS
from importer.fake_allocine import FakeAllocine
from importer.settings import ImporterSettings
from passculture.importer.v1 import ticketing_service_pb2_grpc as ticketing_grpc
from pclib.db import make_engine
from tests.support.catalog_helpers import auth, make_pro, make_venue
from tests.support.import_helpers import RunningImporter, put_link, running_importer
from tests.support.ticketing_fakes import FakeBoost, FakeCds
from tests.support.ticketing_helpers import EVENING

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "test-allocine-key"
TICKETING_KEY = Fernet.generate_key().decode()


@pytest.fixture
def importer_db_url(migrated_database) -> str:
    return migrated_database("importer", IMPORTER_MIGRATIONS)


@pytest.fixture
async def importer_engine(importer_db_url):
    engine = make_engine(importer_db_url, pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture
def fake_allocine() -> Iterator[FakeAllocine]:
    with FakeAllocine(None, API_KEY, hang_seconds=5.0) as fake:
        yield fake


@pytest.fixture
def fake_cds() -> Iterator[FakeCds]:
    with FakeCds("moncinema", "cine-1", "cds-token") as fake:
        fake.hang_seconds = 1.0
        yield fake


@pytest.fixture
def fake_boost() -> Iterator[FakeBoost]:
    with FakeBoost("cine-2", "vendor", "boost-password") as fake:
        fake.hang_seconds = 1.0
        yield fake


@pytest.fixture
def importer_settings(
    importer_db_url, catalog_server, jwt_keys, fake_allocine, amqp_url, fake_cds, fake_boost
):
    return ImporterSettings(
        database_url=importer_db_url,
        amqp_url=amqp_url,
        catalog_addr=catalog_server[0],
        jwt_private_key_file=str(jwt_keys[0]),
        jwt_public_key_file=str(jwt_keys[1]),
        allocine_api_url=fake_allocine.url,
        allocine_api_key=API_KEY,
        allocine_timeout_seconds=0.5,
        allocine_fetch_budget_seconds=5.0,
        allocine_retries=2,
        allocine_retry_backoff_seconds=0.02,
        catalog_chunk_stocks=3,  # several chunks even for small feeds
        sync_concurrency=3,
        ticketing_secret_key=SecretStr(TICKETING_KEY),
        cds_api_url=fake_cds.url,
        boost_api_url=fake_boost.url,
        ticketing_timeout_seconds=0.5,
    )


@pytest.fixture
async def importer(importer_engine, verifier, importer_settings) -> AsyncIterator[RunningImporter]:
    async with running_importer(importer_engine, verifier, importer_settings) as running:
        yield running


@pytest.fixture
async def stub(importer):
    """The import service's TicketingService."""
    async with grpc.aio.insecure_channel(importer.address) as channel:
        yield ticketing_grpc.TicketingServiceStub(channel)


@pytest.fixture
def service(issuer):
    """The metadata of the booking service calling."""
    return auth(issuer, "booking", "service")


@pytest.fixture
async def cds_venue(catalog, issuer, importer, fake_cds):
    """A venue linked to the fake CDS, whose show 1 tomorrow evening has 3 seats."""
    pro = await make_pro(catalog, issuer)
    venue = await make_venue(catalog, pro)
    fake_cds.add_show(1, 52, "Le Voyage", EVENING, seats=3)
    await put_link(importer, pro.metadata, venue.id)
    return venue
