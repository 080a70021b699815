"""Fixtures for the event plumbing tests: a database with the outbox and inbox tables, and an AMQP
channel that deletes what the test declared."""

from collections.abc import AsyncIterator, Callable

import aio_pika
import pytest
from event_helpers import metadata
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from tcp_proxy import TcpProxy
from yarl import URL

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
    proxy = TcpProxy(url.host, url.port)
    proxy.url = str(url.with_host("127.0.0.1").with_port(proxy.port))
    yield proxy
    await proxy.stop()
