"""Fixtures for the event plumbing tests: a database with the outbox and inbox tables, and an AMQP
channel that deletes what the test declared."""

from collections.abc import AsyncIterator, Callable

import pytest
from event_helpers import metadata
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine

from pclib.db import make_engine


@pytest.fixture
async def engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    url = make_database("pclib")
    sync_engine = create_engine(url)
    metadata.create_all(sync_engine)
    sync_engine.dispose()
    engine = make_engine(url, pool_size=4)
    yield engine
    await engine.dispose()
