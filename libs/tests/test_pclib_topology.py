"""Retiring a consumer's queue: unbound at once, deleted (with its dead-letter queue and exchange)
only once nothing is left in it nor consuming it."""

import aio_pika
import pytest
from aio_pika.exceptions import ChannelNotFoundEntity

from pclib.topology import RetiredQueue, declare_consumer_queue, declare_exchange, retire_queue


@pytest.fixture
async def retiring(broker, unique_name):
    """A producer exchange and a consumer queue bound to its `thing.*` events, to retire."""
    exchange = await declare_exchange(broker.channel, f"topology-test-{unique_name}")
    broker.exchanges.append(exchange.name)
    queue = f"topology-test-{unique_name}.consumer"
    broker.consumer_queue(queue)
    bindings = {exchange.name: ["thing.*"]}
    await declare_consumer_queue(broker.channel, queue, bindings, delivery_limit=1)
    return exchange, RetiredQueue(queue, bindings)


@pytest.fixture
async def connection(amqp_url):
    connection = await aio_pika.connect(amqp_url)
    yield connection
    await connection.close()


async def counts(connection, name: str) -> tuple[int, int] | None:
    """(messages, consumers) of a queue, or None when it does not exist."""
    channel = await connection.channel()
    try:
        declared = (await channel.declare_queue(name, passive=True)).declaration_result
    except ChannelNotFoundEntity:
        return None
    await channel.close()
    return declared.message_count, declared.consumer_count


async def exchange_exists(connection, name: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_exchange(name, passive=True)
    except ChannelNotFoundEntity:
        return False
    await channel.close()
    return True


async def publish(exchange, body: bytes = b"x") -> None:
    await exchange.publish(aio_pika.Message(body), "thing.created")


async def test_a_retired_queue_is_unbound_then_deleted_once_drained(connection, retiring):
    exchange, retired = retiring
    await publish(exchange)
    assert await retire_queue(connection, retired) is False  # one message left: kept
    await publish(exchange)  # no longer routed to the retired queue
    assert await counts(connection, retired.name) == (1, 0)

    channel = await connection.channel()
    left = await (await channel.declare_queue(retired.name, passive=True)).get()
    await left.ack()  # the previous release's worker drains it
    assert await retire_queue(connection, retired) is True
    assert await counts(connection, retired.name) is None
    assert await counts(connection, f"{retired.name}.dlq") is None
    assert not await exchange_exists(connection, f"{retired.name}.dlx")
    assert await retire_queue(connection, retired) is True  # gone: nothing to do


async def test_a_retired_queue_with_a_consumer_is_kept(connection, retiring):
    _, retired = retiring
    channel = await connection.channel()
    queue = await channel.declare_queue(retired.name, passive=True)

    async def ack(message):
        await message.ack()

    tag = await queue.consume(ack)
    assert await retire_queue(connection, retired) is False
    await queue.cancel(tag)
    assert await retire_queue(connection, retired) is True


async def test_dead_letters_of_a_retired_queue_are_kept_for_an_operator(connection, retiring):
    exchange, retired = retiring
    await publish(exchange)
    channel = await connection.channel()
    message = await (await channel.declare_queue(retired.name, passive=True)).get()
    await message.reject()  # dead-lettered
    assert await retire_queue(connection, retired) is True
    assert await counts(connection, retired.name) is None
    assert await counts(connection, f"{retired.name}.dlq") == (1, 0)
    assert await exchange_exists(connection, f"{retired.name}.dlx")
