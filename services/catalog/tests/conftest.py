"""Fixtures for the catalog: a migrated database and the gRPC server on a free port."""

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from catalog.__main__ import MIGRATIONS
from catalog.app import build_server
from catalog.testing import Stubs
from pclib import migrations
from pclib.auth import TokenIssuer, TokenVerifier
from pclib.db import make_engine, make_session_factory
from pclib.keys import ensure_key_pair


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("jwt")
    private, public = folder / "private.pem", folder / "public.pem"
    ensure_key_pair(private, public)
    return private, public


@pytest.fixture(scope="session")
def issuer(jwt_keys) -> TokenIssuer:
    return TokenIssuer.from_file(str(jwt_keys[0]))


@pytest.fixture
def catalog_db_url(make_database) -> str:
    url = make_database("catalog")
    migrations.upgrade(MIGRATIONS, url)
    return url


@pytest.fixture
async def catalog_engine(catalog_db_url):
    engine = make_engine(catalog_db_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def catalog(catalog_engine, jwt_keys) -> AsyncIterator[Stubs]:
    server = build_server(
        make_session_factory(catalog_engine), TokenVerifier.from_file(str(jwt_keys[1]))
    )
    port = await server.start(0, host="127.0.0.1")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield Stubs.on(channel)
    await server.stop(0)
