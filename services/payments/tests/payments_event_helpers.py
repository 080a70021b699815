"""Helpers of the ledger tests: events handled as the worker would, or published to RabbitMQ."""

import uuid

import aio_pika
import psycopg
from google.protobuf.message import Message
from sqlalchemy import select, text

from payments import models
from payments.consumers import booking_events, catalog_events
from pclib.db import libpq_dsn, make_session_factory
from pclib.inbox import EventMeta

PAY_LINE = """
WITH paid AS (DELETE FROM ledger_lines WHERE booking_id = :booking_id RETURNING *)
INSERT INTO payment_lines (payment_id, booking_id, total_cents, rate_bps, reimbursed_cents, used_at)
SELECT :payment_id, booking_id, total_cents, 10000, total_cents, used_at FROM paid
"""


async def handle(engine, routing_key: str, event: Message) -> None:
    """Runs the handler as its consumer would, in one transaction: the booking events' on a
    psycopg connection, the catalog's in an ORM session."""
    meta = EventMeta(str(uuid.uuid4()), routing_key, None)
    if routing_key in booking_events.HANDLERS:
        _, handler = booking_events.HANDLERS[routing_key]
        dsn = libpq_dsn(engine.url.render_as_string(hide_password=False))
        async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
            await handler(conn, event, meta)
        return
    _, handle_in_session = catalog_events.HANDLERS[routing_key]
    async with make_session_factory(engine).begin() as session:
        await handle_in_session(session, event, meta)


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


async def paid_bookings(engine) -> dict[uuid.UUID, uuid.UUID]:
    """Each paid booking's payment id."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(models.PaymentLine.booking_id, models.PaymentLine.payment_id)
        )
        return {booking_id: payment_id for booking_id, payment_id in rows}


async def mark_paid(engine, booking_id: uuid.UUID, payment_id: uuid.UUID) -> None:
    """The booking's line paid, as a batch leaves it: out of the ledger, into payment_lines."""
    async with engine.begin() as conn:
        await conn.execute(text(PAY_LINE), {"booking_id": booking_id, "payment_id": payment_id})
