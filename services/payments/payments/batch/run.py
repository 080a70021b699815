"""A payment batch, in one transaction under the batch lock (see lock.py).

The lines to pay are streamed from a server-side cursor in pricing order, priced in Python
and written back with COPY chunk by chunk; what is kept in memory is bounded by the venues, not
by the lines. Then set-based statements mark the ledger, keep the revenues for the next batches,
write the payments with their invoice numbers and the SEPA file. The `booking.reimbursed` events
are cut as the lines stream by (see pricing.BookingChunks).
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import AsyncConnection as PsycopgConnection
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from passculture.payments.v1 import events_pb2
from payments import metrics
from payments.batch.lock import lock_for_batch
from payments.batch.pricing import BatchPricing, BookingChunks, Chunk, LineToPay
from payments.domain import batch_dates
from payments.models import PaymentBatch, outbox
from payments.sepa import pain001

log = logging.getLogger(__name__)

FETCH_ROWS = 10_000
BOOKINGS_PER_EVENT = 1_000
REIMBURSED = "booking.reimbursed"

# Texts, not objects, for what is only passed through to COPY: the session reads its own output.
LINES_TO_PAY = """
SELECT l.booking_id::text, l.venue_id::text, l.scale_key, l.used_year, l.total_cents,
       l.used_at::text, coalesce(r.revenue_cents, 0)
FROM ledger_lines l
JOIN bank_accounts b ON b.venue_id = l.venue_id AND b.status = 'ACCEPTED'
LEFT JOIN scale_revenues r ON r.scale_key = l.scale_key AND r.year = l.used_year
WHERE l.state = 'USED' AND l.payment_id IS NULL
  AND l.used_at < %(cutoff)s AND l.starts_at <= %(now)s
ORDER BY l.scale_key, l.used_year, l.used_at, l.booking_id
"""
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
# Set-based: both sides are read through indexes that hold only this batch's lines (the
# payments' primary key prefix, the ledger's partial index of unpaid lines), whatever the size
# of the history. (Per-chunk UPDATEs by booking id cost more: a key lookup per line.)
MARK_LEDGER = """
UPDATE ledger_lines l SET payment_id = pl.payment_id, updated_at = now()
FROM payment_lines pl
WHERE pl.payment_id = ANY(CAST(:ids AS uuid[])) AND l.booking_id = pl.booking_id
  AND l.payment_id IS NULL AND l.state = 'USED'
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
            return BatchOutcome(existing, created=False)
        started = time.perf_counter()
        batch = await _make(conn, debtor, cutoff, now)
    metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
    metrics.BATCH_BOOKINGS.inc(batch.booking_count)
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
    conn: AsyncConnection, debtor: pain001.Debtor, cutoff: datetime, now: datetime
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
    table = PaymentBatch.__table__
    await conn.execute(table.insert().values(_columns(batch)))
    pricing = await _price_lines(conn, batch, cutoff, now)
    payment_ids = [payment.payment_id for payment in pricing.payments.values()]
    await _insert_payments(conn, batch, pricing)
    await _mark_ledger(conn, payment_ids, pricing.booking_count)
    await _keep_revenues(conn, pricing.revenues)
    batch.payment_count = len(pricing.payments)
    batch.booking_count = pricing.booking_count
    batch.total_cents = pricing.total_cents
    batch.sepa_xml = await _sepa_file(conn, batch, debtor) if pricing.payments else None
    await conn.execute(
        table.update()
        .where(table.c.id == batch.id)
        .values(
            payment_count=batch.payment_count,
            booking_count=batch.booking_count,
            total_cents=batch.total_cents,
            sepa_xml=batch.sepa_xml,
        )
    )
    return batch


def _columns(batch: PaymentBatch) -> dict:
    return {column.key: getattr(batch, column.key) for column in PaymentBatch.__table__.columns}


async def _price_lines(
    conn: AsyncConnection, batch: PaymentBatch, cutoff: datetime, now: datetime
) -> BatchPricing:
    """Prices the lines chunk by chunk: each chunk's priced lines go to payment_lines with
    COPY, and the `booking.reimbursed` events it completed to the outbox."""
    raw: PsycopgConnection = (await conn.get_raw_connection()).driver_connection
    pricing, chunks = BatchPricing(), BookingChunks(BOOKINGS_PER_EVENT)
    async with raw.cursor(name=f"lines_{batch.id.hex}") as lines:
        await lines.execute(LINES_TO_PAY, {"cutoff": cutoff, "now": now})
        while rows := await lines.fetchmany(FETCH_ROWS):
            priced, done = [], []
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


async def _insert_payments(conn: AsyncConnection, batch: PaymentBatch, pricing: BatchPricing):
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


async def _mark_ledger(conn: AsyncConnection, payment_ids: list[str], expected: int) -> None:
    if not payment_ids:
        return
    marked = await conn.execute(text(MARK_LEDGER), {"ids": payment_ids})
    if marked.rowcount != expected:
        raise LedgerChanged(f"{marked.rowcount} ledger lines marked paid, {expected} priced")


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


def _event_rows(batch: PaymentBatch, chunks: list[Chunk]) -> list[dict]:
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
            }
        )
    return rows


async def _add_events(conn: AsyncConnection, batch: PaymentBatch, chunks: list[Chunk]) -> None:
    if chunks:
        await conn.execute(outbox.insert(), _event_rows(batch, chunks))


async def _sepa_file(conn: AsyncConnection, batch: PaymentBatch, debtor: pain001.Debtor) -> bytes:
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
