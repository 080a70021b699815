"""A payment batch, in one transaction under the batch lock (see lock.py).

The lines to pay are streamed from a server-side cursor in pricing order, priced in Python
and written back with COPY chunk by chunk; what is kept in memory is bounded by the venues, not
by the lines. Then set-based statements move the paid lines out of the ledger (payment_lines
holds them now), keep the revenues for the next batches, write the payments with their invoice
numbers and the SEPA file. The `booking.reimbursed` events
are cut as the lines stream by (see pricing.BookingChunks).
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import AsyncConnection as PsycopgConnection
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from passculture.payments.v1 import events_pb2
from payments import metrics
from payments.batch.lock import lock_for_batch
from payments.batch.pricing import BatchPricing, BookingChunks, Chunk, LineToPay, PricedLine
from payments.domain import batch_dates
from payments.domain.status import BankAccountStatus, LedgerState
from payments.models import PaymentBatch, outbox
from payments.sepa import pain001
from pclib import tracing

log = logging.getLogger(__name__)

FETCH_ROWS = 10_000
BOOKINGS_PER_EVENT = 1_000
REIMBURSED = "booking.reimbursed"

# The ledger holds the unpaid lines only: the ones a batch pays leave it (PAID_LEAVE_THE_LEDGER).
# Texts, not objects, for what is only passed through to COPY: the session reads its own output.
# The states are written out, not parameters: the planner then reads the lines from the partial
# index of USED lines, in this order.
LINES_TO_PAY = f"""
SELECT l.booking_id::text, l.venue_id::text, l.scale_key, l.used_year, l.total_cents,
       l.used_at::text, coalesce(r.revenue_cents, 0)
FROM ledger_lines l
JOIN bank_accounts b ON b.venue_id = l.venue_id AND b.status = '{BankAccountStatus.ACCEPTED}'
LEFT JOIN scale_revenues r ON r.scale_key = l.scale_key AND r.year = l.used_year
WHERE l.state = '{LedgerState.USED}' AND l.used_at < %(cutoff)s AND l.starts_at <= %(now)s
ORDER BY l.scale_key, l.used_year, l.used_at, l.booking_id
"""  # noqa: S608 (the enums' values)
# The lines just priced: LINES_TO_PAY's conditions again (the batch lock keeps the ledger
# still). A delete only marks the rows: an update of each (payment_id) wrote a new row version
# and index entries, and cost more than the rest of the batch. Kept in the ledger, paid lines
# would make every later batch read the whole history to skip them (an anti-join).
PAID_LEAVE_THE_LEDGER = f"""
DELETE FROM ledger_lines l USING bank_accounts b
WHERE b.venue_id = l.venue_id AND b.status = '{BankAccountStatus.ACCEPTED}'
  AND l.state = '{LedgerState.USED}' AND l.used_at < %(cutoff)s AND l.starts_at <= %(now)s
"""  # noqa: S608 (the enums' values)
COPY_LINES = (
    "COPY payment_lines (payment_id, booking_id, total_cents, rate_bps, reimbursed_cents, used_at)"
    " FROM STDIN"
)
INSERT_PAYMENTS = """
INSERT INTO payments (id, batch_id, venue_id, offerer_id, invoice_reference, amount_cents,
                      booking_count, iban, bic, creditor_name, offerer_siren, created_at)
SELECT t.id, :batch_id, b.venue_id, b.offerer_id, t.reference, t.amount, t.count,
       b.iban, b.bic, b.creditor_name, b.offerer_siren, :created_at
FROM unnest(CAST(:ids AS uuid[]), CAST(:venues AS uuid[]), CAST(:references AS text[]),
            CAST(:amounts AS bigint[]), CAST(:counts AS int[]))
     AS t(id, venue_id, reference, amount, count)
JOIN bank_accounts b ON b.venue_id = t.venue_id
"""
KEEP_REVENUES = """
INSERT INTO scale_revenues (scale_key, year, revenue_cents)
SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:years AS int[]), CAST(:revenues AS bigint[]))
ON CONFLICT (scale_key, year) DO UPDATE SET revenue_cents = EXCLUDED.revenue_cents
"""
RESERVE_INVOICE_NUMBERS = """
INSERT INTO invoice_sequences (year, last_value) VALUES (:year, :count)
ON CONFLICT (year) DO UPDATE SET last_value = invoice_sequences.last_value + EXCLUDED.last_value
RETURNING last_value
"""
PAID_ACCOUNTS = """
SELECT invoice_reference, amount_cents, iban, bic, creditor_name, offerer_siren
FROM payments WHERE batch_id = :batch_id
"""


class LedgerChanged(Exception):
    """Ledger lines changed under the batch (the lock should make it impossible)."""


@dataclass(frozen=True)
class BatchOutcome:
    batch: PaymentBatch
    created: bool


async def create_batch(
    engine: AsyncEngine,
    debtor: pain001.Debtor,
    cutoff: datetime | None = None,
    now: datetime | None = None,
) -> BatchOutcome:
    """The batch of this cutoff (default: today 00:00 in Paris), made now unless it exists."""
    now = now or datetime.now(UTC)
    cutoff = cutoff or batch_dates.default_cutoff(now)
    batch_dates.check_cutoff(cutoff, now)
    async with engine.connect() as conn, conn.begin():
        await lock_for_batch(conn)
        existing = await _batch_of_cutoff(conn, cutoff)
        if existing is not None:
            log.info("batch already made", extra={"batch_id": str(existing.id)})
            metrics.BATCH_LAST_SUCCESS.set_to_current_time()
            return BatchOutcome(existing, created=False)
        started = time.perf_counter()
        batch = await _make(conn, engine, debtor, cutoff, now)
    metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
    metrics.BATCH_BOOKINGS.inc(batch.booking_count)
    metrics.BATCH_LAST_BOOKINGS.set(batch.booking_count)
    metrics.BATCH_LAST_SUCCESS.set_to_current_time()
    log.info(
        "batch made",
        extra={
            "batch_id": str(batch.id),
            "payments": batch.payment_count,
            "bookings": batch.booking_count,
            "total_cents": batch.total_cents,
        },
    )
    return BatchOutcome(batch, created=True)


async def _batch_of_cutoff(conn: AsyncConnection, cutoff: datetime) -> PaymentBatch | None:
    row = (
        await conn.execute(select(PaymentBatch.__table__).where(PaymentBatch.cutoff == cutoff))
    ).first()
    return None if row is None else PaymentBatch(**row._mapping)


async def _make(
    conn: AsyncConnection,
    engine: AsyncEngine,
    debtor: pain001.Debtor,
    cutoff: datetime,
    now: datetime,
) -> PaymentBatch:
    batch = PaymentBatch(
        id=uuid.uuid4(),
        cutoff=cutoff,
        label=batch_dates.label(cutoff),
        execution_date=batch_dates.execution_date(now),
        created_at=now,
        payment_count=0,
        booking_count=0,
        total_cents=0,
        sepa_xml=None,
    )
    await conn.execute(insert(PaymentBatch).values(_columns(batch)))
    pricing = await _price_lines(conn, engine, batch, cutoff, now)
    await _leave_the_ledger(conn, cutoff, now, pricing.booking_count)
    await _insert_payments(conn, batch, pricing)
    await _keep_revenues(conn, pricing.revenues)
    batch.payment_count = len(pricing.payments)
    batch.booking_count = pricing.booking_count
    batch.total_cents = pricing.total_cents
    batch.sepa_xml = await _sepa_file(conn, batch, debtor) if pricing.payments else None
    await conn.execute(
        update(PaymentBatch)
        .where(PaymentBatch.id == batch.id)
        .values(
            payment_count=batch.payment_count,
            booking_count=batch.booking_count,
            total_cents=batch.total_cents,
            sepa_xml=batch.sepa_xml,
        )
    )
    return batch


def _columns(batch: PaymentBatch) -> dict[str, object]:
    return {column.key: getattr(batch, column.key) for column in PaymentBatch.__table__.columns}


async def _price_lines(
    conn: AsyncConnection,
    engine: AsyncEngine,
    batch: PaymentBatch,
    cutoff: datetime,
    now: datetime,
) -> BatchPricing:
    """Prices the lines chunk by chunk: each chunk's priced lines go to payment_lines with
    COPY, and the `booking.reimbursed` events it completed to the outbox."""
    raw = await _psycopg(conn)
    pricing, chunks = BatchPricing(), BookingChunks(BOOKINGS_PER_EVENT)
    async for rows in _lines_to_pay(engine, batch, cutoff, now):
        priced: list[PricedLine] = []
        done: list[Chunk] = []
        for row in rows:
            line = pricing.price(LineToPay._make(row))
            priced.append(line)
            if completed := chunks.add(row[2], line.payment_id, line.booking_id):
                done.extend(completed)
        async with raw.cursor() as writer, writer.copy(COPY_LINES) as copy:
            await copy.write("".join(line.copy_text() for line in priced))
        await _add_events(conn, batch, done)
    await _add_events(conn, batch, chunks.rest())
    return pricing


async def _psycopg(conn: AsyncConnection) -> PsycopgConnection:
    """The psycopg connection under SQLAlchemy's (for COPY and server-side cursors)."""
    raw: PsycopgConnection | None = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    return raw


async def _lines_to_pay(
    engine: AsyncEngine, batch: PaymentBatch, cutoff: datetime, now: datetime
) -> AsyncIterator[list[tuple]]:
    """The lines, FETCH_ROWS at a time, read on a connection of their own: the next chunk is
    fetched while the batch's connection writes one. The batch holds its lock already, so this
    reading sees the ledger the batch pays (and none of the batch's own writes)."""
    async with engine.connect() as reading, reading.begin():
        raw = await _psycopg(reading)
        async with raw.cursor(name=f"lines_{batch.id.hex}") as lines:
            await lines.execute(LINES_TO_PAY, {"cutoff": cutoff, "now": now})
            ahead = asyncio.ensure_future(lines.fetchmany(FETCH_ROWS))
            try:
                while rows := await ahead:
                    ahead = asyncio.ensure_future(lines.fetchmany(FETCH_ROWS))
                    yield rows
            finally:
                # Not cancelled: that would leave the connection mid-query.
                await asyncio.gather(ahead, return_exceptions=True)


async def _leave_the_ledger(
    conn: AsyncConnection, cutoff: datetime, now: datetime, expected: int
) -> None:
    raw = await _psycopg(conn)
    deleted = await raw.execute(PAID_LEAVE_THE_LEDGER, {"cutoff": cutoff, "now": now})
    if deleted.rowcount != expected:
        raise LedgerChanged(f"{deleted.rowcount} ledger lines paid, {expected} priced")


async def _insert_payments(
    conn: AsyncConnection, batch: PaymentBatch, pricing: BatchPricing
) -> None:
    payments = sorted(pricing.payments.values(), key=lambda payment: payment.venue_id)
    if not payments:
        return
    year = batch_dates.batch_date(batch.created_at).year
    last = await conn.scalar(text(RESERVE_INVOICE_NUMBERS), {"year": year, "count": len(payments)})
    first = last - len(payments) + 1
    inserted = await conn.execute(
        text(INSERT_PAYMENTS),
        {
            "batch_id": batch.id,
            "created_at": batch.created_at,
            "ids": [payment.payment_id for payment in payments],
            "venues": [payment.venue_id for payment in payments],
            "references": [
                batch_dates.invoice_reference(year, first + index) for index in range(len(payments))
            ],
            "amounts": [payment.amount_cents for payment in payments],
            "counts": [payment.booking_count for payment in payments],
        },
    )
    if inserted.rowcount != len(payments):
        raise LedgerChanged("a bank account disappeared under the batch")


async def _keep_revenues(conn: AsyncConnection, revenues: dict[tuple[str, int], int]) -> None:
    if not revenues:
        return
    await conn.execute(
        text(KEEP_REVENUES),
        {
            "keys": [key for key, _ in revenues],
            "years": [year for _, year in revenues],
            "revenues": list(revenues.values()),
        },
    )


def _event_rows(batch: PaymentBatch, chunks: list[Chunk]) -> list[dict[str, object]]:
    """Outbox rows (as pclib.outbox.add_event writes them) of `booking.reimbursed` events."""
    rows = []
    for payment_id, booking_ids in chunks:
        event = events_pb2.BookingsReimbursed(
            payment_id=payment_id, batch_id=str(batch.id), booking_ids=booking_ids
        )
        event.reimbursed_at.FromDatetime(batch.created_at.astimezone(UTC))
        rows.append(
            {
                "id": uuid.uuid4(),
                "routing_key": REIMBURSED,
                "message_type": event.DESCRIPTOR.full_name,
                "payload": event.SerializeToString(),
                "trace_context": tracing.outbox_context(),
            }
        )
    return rows


async def _add_events(conn: AsyncConnection, batch: PaymentBatch, chunks: list[Chunk]) -> None:
    if chunks:
        await conn.execute(outbox.insert(), _event_rows(batch, chunks))


async def _sepa_file(
    conn: AsyncConnection, batch: PaymentBatch, debtor: pain001.Debtor
) -> bytes | None:
    """The batch's SEPA file; None when it transfers nothing (its payments are all of zero:
    free bookings are paid, with nothing to send)."""
    rows = await conn.execute(text(PAID_ACCOUNTS), {"batch_id": batch.id})
    accounts = [pain001.PaidAccount(*row) for row in rows]
    sepa = pain001.SepaFile(
        batch_id=batch.id,
        created_at=batch.created_at,
        execution_date=batch.execution_date,
        remittance=batch.label,
        transfers=pain001.transfers(accounts),
    )
    return pain001.build(sepa, debtor) if sepa.transfers else None
