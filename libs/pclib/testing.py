"""Pytest fixtures for tests against real PostgreSQL and RabbitMQ.

Servers come from TEST_DATABASE_URL / TEST_AMQP_URL when set, else from testcontainers when a
Docker engine answers, else the test fails saying what to start. Each test gets its own database.
"""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import make_url

from pclib.db import drop_database, ensure_database

HOW_TO_START = (
    "{what} is needed: set {var} (e.g. {example}), or run a Docker engine so that "
    "testcontainers can start one. On this project's machines: {start}."
)


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A SQLAlchemy URL of a PostgreSQL server's maintenance database."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if _docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    pytest.fail(
        HOW_TO_START.format(
            what="PostgreSQL",
            var="TEST_DATABASE_URL",
            example="postgresql+psycopg://postgres@localhost:5432/postgres",
            start="pg_ctlcluster --skip-systemctl-redirect 15 main start",
        )
    )


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    if url := os.environ.get("TEST_AMQP_URL"):
        yield url
        return
    if _docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:4") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    pytest.fail(
        HOW_TO_START.format(
            what="RabbitMQ",
            var="TEST_AMQP_URL",
            example="amqp://guest:guest@localhost:5672/",
            start="rabbitmq-server -detached",
        )
    )


@pytest.fixture
def make_database(pg_server_url: str) -> Iterator[Callable[[str], str]]:
    """Makes empty databases for this test (dropped after it); returns their URLs."""
    created: list[str] = []

    def make(prefix: str = "test") -> str:
        url = (
            make_url(pg_server_url)
            .set(database=f"{prefix}_{uuid.uuid4().hex[:12]}")
            .render_as_string(hide_password=False)
        )
        ensure_database(url)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix, for queues and exchanges that must not collide between tests."""
    return uuid.uuid4().hex[:10]
