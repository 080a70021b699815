"""The bench database: created fresh, migrated with the catalog's own command, dropped after."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg

from bench.activity import BENCH_APPLICATION
from bench.paths import REPO_ROOT, python_path
from pclib.db import drop_database, libpq_dsn

# The server part of a SQLAlchemy URL (the Makefile exports PG_URL).
DEFAULT_PG_URL = "postgresql+psycopg://postgres@localhost:5432"


def new_database_url() -> str:
    server = os.environ.get("PG_URL", DEFAULT_PG_URL).rstrip("/")
    return f"{server}/bench_catalog_{uuid.uuid4().hex[:8]}"


def migrate(database_url: str, service: str = "catalog", env: dict[str, str] | None = None) -> None:
    """`python -m <service> migrate`: creates the database, applies the migrations and declares
    the service's queues (with `env`'s settings)."""
    env = {**os.environ, **(env or {}), "DATABASE_URL": database_url, "PYTHONPATH": python_path()}
    done = subprocess.run(  # noqa: S603 (our own commands)
        [sys.executable, "-m", service, "migrate"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{service} migrate failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def bench_database() -> Iterator[str]:
    """A freshly migrated database's SQLAlchemy URL; dropped on exit whatever happens."""
    url = new_database_url()
    try:
        migrate(url)
        yield url
    finally:
        drop_database(url)


def connect(database_url: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(database_url), **kwargs)


def server_settings(database_url: str) -> dict[str, str]:
    """PostgreSQL's version and the settings that move these figures."""
    names = ("shared_buffers", "synchronous_commit", "fsync", "max_connections", "jit")
    with connect(database_url) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}
        settings["version"] = conn.execute("SHOW server_version").fetchone()[0]
    return settings


class ConnectionPool:
    """A fixed set of async autocommit connections handed out one caller at a time."""

    def __init__(self, connections: list[psycopg.AsyncConnection]) -> None:
        self._connections = connections
        self._idle: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()
        for conn in connections:
            self._idle.put_nowait(conn)

    @classmethod
    async def open(cls, database_url: str, size: int) -> "ConnectionPool":
        dsn = libpq_dsn(database_url)
        connections = [
            await psycopg.AsyncConnection.connect(
                dsn, autocommit=True, application_name=BENCH_APPLICATION
            )
            for _ in range(size)
        ]
        return cls(connections)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        conn = await self._idle.get()
        try:
            yield conn
        finally:
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._connections:
            await conn.close()


@asynccontextmanager
async def connection_pool(database_url: str, size: int) -> AsyncIterator[ConnectionPool]:
    pool = await ConnectionPool.open(database_url, size)
    try:
        yield pool
    finally:
        await pool.close()
