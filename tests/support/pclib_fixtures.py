"""Pytest fixtures and helpers for tests against real PostgreSQL and RabbitMQ.

Servers come from TEST_DATABASE_URL / TEST_AMQP_URL when set, else from testcontainers when a
Docker engine answers, else the test fails saying what to start. Each test gets its own database.
Tests wait for a condition with a deadline (`eventually`), never for a fixed time.
"""

import asyncio
import contextlib
import inspect
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, TypeVar, overload

import aio_pika
import psycopg
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from prometheus_client import REGISTRY
from psycopg import sql
from sqlalchemy.engine import make_url
from yarl import URL

from pclib.auth import TokenIssuer, TokenVerifier
from pclib.db import database_name, drop_database, ensure_database, libpq_dsn
from pclib.inbox import Consumer
from pclib.keys import ensure_key_pair
from pclib.migrations import upgrade
from pclib.topology import declare_consumer_queue, declare_exchange
from tests.support.tcp_proxy import TcpProxy

HOW_TO_START = (
    "{what} is needed: set {var} (e.g. {example}), or run a Docker engine so that "
    "testcontainers can start one. On this project's machines: {start}."
)

T = TypeVar("T")


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


def _key_pair(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp(name)
    private, public = folder / "private.pem", folder / "public.pem"
    ensure_key_pair(private, public)
    return private, public


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A JWT key pair for the test session: (private key file, public key file)."""
    return _key_pair(tmp_path_factory, "jwt")


@pytest.fixture(scope="session")
def ticket_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The signed tickets' key pair for the test session: (private key file, public key file)."""
    return _key_pair(tmp_path_factory, "tickets")


@pytest.fixture(scope="session")
def issuer(jwt_keys: tuple[Path, Path]) -> TokenIssuer:
    return TokenIssuer.from_file(str(jwt_keys[0]))


@pytest.fixture(scope="session")
def verifier(jwt_keys: tuple[Path, Path]) -> TokenVerifier:
    return TokenVerifier.from_file(str(jwt_keys[1]))


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _create_database(url: str, template: str | None) -> None:
    if template is None:
        ensure_database(url)
        return
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(database_name(url)), sql.Identifier(template)
    )
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(create)


@pytest.fixture
def make_database(pg_server_url: str) -> Iterator[Callable[..., str]]:
    """Makes databases for this test (dropped after it), empty or copied from a template;
    returns their URLs."""
    created: list[str] = []

    def make(prefix: str = "test", template: str | None = None) -> str:
        url = _database_url(pg_server_url, f"{prefix}_{uuid.uuid4().hex[:12]}")
        _create_database(url, template)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@contextlib.contextmanager
def migrated_session_database(server_url: str, prefix: str, migrations_dir: Path) -> Iterator[str]:
    """A migrated database for a whole test session (tests that share one), dropped at the end."""
    url = _database_url(server_url, f"{prefix}_{uuid.uuid4().hex[:12]}")
    upgrade(migrations_dir, url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def _migrated_templates(pg_server_url: str) -> Iterator[dict[str, str]]:
    templates: dict[str, str] = {}
    yield templates
    for url in templates.values():
        drop_database(url)


@pytest.fixture
def migrated_database(
    make_database: Callable[..., str], _migrated_templates: dict[str, str], pg_server_url: str
) -> Callable[[str, Path], str]:
    """A fresh database with every migration of a service applied. Migrations run once per
    session into a template; each test gets a copy (CREATE DATABASE … TEMPLATE), far faster."""

    def make(prefix: str, migrations_dir: Path) -> str:
        key = str(migrations_dir)
        if key not in _migrated_templates:
            url = _database_url(pg_server_url, f"template_{prefix}_{uuid.uuid4().hex[:8]}")
            upgrade(migrations_dir, url)
            _migrated_templates[key] = url
        return make_database(prefix, template=database_name(_migrated_templates[key]))

    return make


@pytest.fixture
def unique_name() -> str:
    """A short unique suffix, for queues and exchanges that must not collide between tests."""
    return uuid.uuid4().hex[:10]


class Broker:
    """A channel for the test, and the names of what to delete after it."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel) -> None:
        self.channel = channel
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def consumer_queue(self, queue: str) -> None:
        """Deletes what declare_consumer_queue(queue) makes."""
        self.queues += [queue, f"{queue}.dlq"]
        self.exchanges.append(f"{queue}.dlx")


async def observe(broker: Broker, exchange: str) -> AbstractQueue:
    """Declares a producer's exchange and a queue bound to all its events, both deleted later."""
    declared = await declare_exchange(broker.channel, exchange)
    queue = await broker.channel.declare_queue(f"{exchange}.observer", durable=True)
    await queue.bind(declared, "#")
    broker.queues.append(queue.name)
    broker.exchanges.append(exchange)
    return queue


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(amqp_url)
    broker = Broker(await connection.channel())
    yield broker
    channel = await connection.channel()
    for queue in broker.queues:
        await channel.queue_delete(queue)
    for exchange in broker.exchanges:
        await channel.exchange_delete(exchange)
    await connection.close()


@pytest.fixture
async def proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy to the broker, not listening yet; `proxy.url` is the AMQP URL through it."""
    url = URL(amqp_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5672)
    proxy.url = str(url.with_host("127.0.0.1").with_port(proxy.port))
    yield proxy
    await proxy.stop()


def database_proxy(database_url: str) -> TcpProxy:
    """A proxy to a database's server, not listening yet; `proxy.url` is the database's
    SQLAlchemy URL through it. Stopping it is a restart as clients see one: every connection
    dropped, new ones refused until it starts again."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return proxy


@overload
async def eventually(check: Callable[[], Awaitable[T]], within: float = 10.0) -> T: ...
@overload
async def eventually(check: Callable[[], T], within: float = 10.0) -> T: ...
async def eventually(check: Callable[[], Awaitable[T] | T], within: float = 10.0) -> T:
    """The check's first truthy answer (a check may be async), polled until `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        answer = check()
        result = await answer if inspect.isawaitable(answer) else answer
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.02)


async def receive(
    queue: AbstractQueue, count: int, within: float = 10.0
) -> list[AbstractIncomingMessage]:
    """At least `count` messages from the queue (acked), failing after `within` seconds."""
    received: list[AbstractIncomingMessage] = []

    async def got_enough() -> bool:
        while len(received) < count:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                return False
            received.append(message)
        return True

    await eventually(got_enough, within)
    return received


async def drain(queue: AbstractQueue) -> list[AbstractIncomingMessage]:
    """Whatever is left in the queue now."""
    left = []
    while message := await queue.get(no_ack=True, fail=False):
        left.append(message)
    return left


@contextlib.asynccontextmanager
async def running_consumers(
    broker: Broker, consumers: Sequence[Consumer[Any]]
) -> AsyncIterator[None]:
    """Runs the consumers for the duration of the block. Their queues are declared (and bound)
    first, so that nothing published from then on is lost; `broker` (a Broker fixture)
    deletes queues and exchanges after the test."""
    for consumer in consumers:
        await declare_consumer_queue(
            broker.channel, consumer.queue, consumer.bindings, consumer.delivery_limit
        )
        broker.consumer_queue(consumer.queue)
        broker.exchanges += [name for name in consumer.bindings if name not in broker.exchanges]
        consumer.max_backoff = 0.5
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop)) for consumer in consumers]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 15)


def consumed(queue: str, routing_key: str, result: str) -> float:
    """How many events the consumer of `queue` settled with this result (handled, duplicate,
    failed, rejected), from its Prometheus counter."""
    labels = {"queue": queue, "routing_key": routing_key, "result": result}
    return REGISTRY.get_sample_value("events_consumed_total", labels) or 0.0


class _PushRecorder(HTTPServer):
    """Keeps the (method, path, body) of each push."""

    pushes: list[tuple[str, str, str]]


class _Recorder(BaseHTTPRequestHandler):
    server: _PushRecorder

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.pushes.append((self.command, self.path, body.decode()))
        self.send_response(200)
        self.end_headers()

    do_POST = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def fake_pushgateway() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """A local HTTP server that takes pushes as a Pushgateway does: its URL, and the
    (method, path, body) of each push received."""
    server = _PushRecorder(("127.0.0.1", 0), _Recorder)
    server.pushes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.pushes
    finally:
        server.shutdown()
        server.server_close()
