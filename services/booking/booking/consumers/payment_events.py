"""The payments service's events: the bookings of a payment become REIMBURSED. The handler runs
in the inbox transaction: a redelivered event changes nothing."""

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from booking import lifecycle
from booking.domain.status import BookingStatus
from passculture.payments.v1 import events_pb2
from pclib.inbox import EventMeta, Handlers
from pclib.timestamps import to_datetime

log = logging.getLogger(__name__)


def _reimbursed_at(event: events_pb2.BookingsReimbursed, meta: EventMeta) -> datetime:
    if event.HasField("reimbursed_at"):
        return to_datetime(event.reimbursed_at)
    return meta.occurred_at or datetime.now(UTC)


def _booking_ids(event: events_pb2.BookingsReimbursed) -> list[uuid.UUID]:
    ids = []
    for value in event.booking_ids:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            log.error("payment %s lists a malformed booking id %r", event.payment_id, value)
    return ids


def _report(
    event: events_pb2.BookingsReimbursed,
    ids: list[uuid.UUID],
    rows: list[Row[uuid.UUID, BookingStatus, bool]],
) -> None:
    by_status: dict[BookingStatus, list[str]] = {}
    for row in rows:
        by_status.setdefault(row.status, []).append(str(row.id))
    context = {"payment_id": event.payment_id, "batch_id": event.batch_id}
    log.info("bookings reimbursed", extra=context | {"bookings": sum(r.paid for r in rows)})
    if unused := by_status.get(BookingStatus.CONFIRMED):
        log.warning("paid bookings were unused: reimbursed anyway %s", unused, extra=context)
    for status in (BookingStatus.CANCELLED, BookingStatus.PENDING, BookingStatus.FAILED):
        if left := by_status.get(status):
            log.error("paid bookings are %s: left as they are %s", status, left, extra=context)
    if missing := {str(i) for i in ids} - {str(row.id) for row in rows}:
        log.error("paid bookings are unknown: %s", sorted(missing), extra=context)


async def on_bookings_reimbursed(
    session: AsyncSession, event: events_pb2.BookingsReimbursed, meta: EventMeta
) -> None:
    ids = _booking_ids(event)
    if not ids:
        return
    rows = await lifecycle.reimburse(session, ids, _reimbursed_at(event, meta))
    _report(event, ids, rows)


HANDLERS: Handlers = {
    "booking.reimbursed": (events_pb2.BookingsReimbursed, on_bookings_reimbursed),
}
