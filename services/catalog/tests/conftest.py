"""Fixtures for the catalog: a migrated database and the gRPC server on a free port."""

from collections.abc import AsyncIterator

import pytest

from catalog.__main__ import MIGRATIONS
from pclib.db import make_engine
from tests.support.catalog_helpers import Stubs, running_catalog


@pytest.fixture
def catalog_db_url(migrated_database) -> str:
    return migrated_database("catalog", MIGRATIONS)


@pytest.fixture
async def catalog_engine(catalog_db_url):
    engine = make_engine(catalog_db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def catalog(catalog_engine, verifier) -> AsyncIterator[Stubs]:
    async with running_catalog(catalog_engine, verifier) as (_, stubs):
        yield stubs
