"""Fixtures for the event plumbing tests: a database with the outbox and inbox tables, and an AMQP
channel that deletes what the test declared; a database with the sign-in tables."""

from collections.abc import AsyncIterator, Callable

import pytest
from event_helpers import metadata
from sqlalchemy import MetaData, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from pclib.db import make_engine, make_session_factory
from pclib.login_throttle import login_failures_table
from pclib.refresh_tokens import refresh_token_tables


@pytest.fixture
async def engine(make_database: Callable[[str], str]) -> AsyncIterator[AsyncEngine]:
    url = make_database("pclib")
    sync_engine = create_engine(url)
    metadata.create_all(sync_engine)
    sync_engine.dispose()
    engine = make_engine(url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sign_in_sessions(
    make_database: Callable[[str], str],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a database with the sign-in tables: refresh tokens and login failures."""
    url = make_database("pclib_sign_in")
    tables = MetaData()
    refresh_token_tables(tables)
    login_failures_table(tables)
    sync_engine = create_engine(url)
    tables.create_all(sync_engine)
    sync_engine.dispose()
    engine = make_engine(url, pool_size=4)
    yield make_session_factory(engine)
    await engine.dispose()
