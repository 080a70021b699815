"""Helpers of the ledger tests: events handled as the worker would, or published to RabbitMQ."""

import uuid

import aio_pika
from google.protobuf.message import Message
from sqlalchemy import select

from payments import models
from payments.consumers import booking_events, catalog_events
from pclib.db import make_session_factory
from pclib.inbox import EventMeta

HANDLERS = {**booking_events.HANDLERS, **catalog_events.HANDLERS}


async def handle(engine, routing_key: str, event: Message) -> None:
    """Runs the handler as the consumer would, in one transaction."""
    _, handler = HANDLERS[routing_key]
    async with make_session_factory(engine).begin() as session:
        await handler(session, event, EventMeta(str(uuid.uuid4()), routing_key, None))


async def publish(exchange, routing_key: str, event: Message, message_id: str = "") -> str:
    message_id = message_id or str(uuid.uuid4())
    await exchange.publish(
        aio_pika.Message(
            event.SerializeToString(),
            message_id=message_id,
            headers={"message_type": event.DESCRIPTOR.full_name},
        ),
        routing_key,
    )
    return message_id


async def ledger_lines(engine) -> dict[uuid.UUID, models.LedgerLine]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(models.LedgerLine))
        return {row.booking_id: row for row in rows}
