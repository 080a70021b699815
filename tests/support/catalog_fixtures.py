"""Pytest fixtures of a real catalog for the other services' tests: a migrated database and the
gRPC server in the test's process, on a free port. A pytest plugin of the root conftest; the
catalog's and the gateway's own tests override them with their own."""

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from catalog.__main__ import MIGRATIONS
from pclib.auth import TokenVerifier
from pclib.db import make_engine
from tests.support.catalog_helpers import Stubs, running_catalog


@pytest.fixture
async def catalog_engine(migrated_database: Callable[..., str]) -> AsyncIterator[AsyncEngine]:
    url = migrated_database("catalog", MIGRATIONS)
    # Room for concurrency tests' storms of calls.
    engine = make_engine(url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def catalog_server(
    catalog_engine: AsyncEngine, verifier: TokenVerifier
) -> AsyncIterator[tuple[str, Stubs]]:
    """(address, stubs) of the running catalog."""
    async with running_catalog(catalog_engine, verifier) as server:
        yield server


@pytest.fixture
def catalog(catalog_server: tuple[str, Stubs]) -> Stubs:
    return catalog_server[1]
