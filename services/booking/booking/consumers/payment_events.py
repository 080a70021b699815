"""The payments service's events: the bookings of a payment become REIMBURSED. The handler runs
in the inbox transaction: a redelivered event changes nothing."""

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking import models
from passculture.payments.v1 import events_pb2
from pclib.inbox import EventMeta

log = logging.getLogger(__name__)

# USED is the normal case. CONFIRMED means the pro unused the booking after the batch priced it:
# the money went out all the same, so it is reimbursed too.
PAID = ("USED", "CONFIRMED")


def _reimbursed_at(event: events_pb2.BookingsReimbursed, meta: EventMeta) -> datetime:
    if event.HasField("reimbursed_at"):
        return event.reimbursed_at.ToDatetime(tzinfo=UTC)
    return meta.occurred_at or datetime.now(UTC)


def _booking_ids(event: events_pb2.BookingsReimbursed) -> list[uuid.UUID]:
    ids = []
    for value in event.booking_ids:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            log.error("payment %s lists a malformed booking id %r", event.payment_id, value)
    return ids


def _mark_reimbursed(ids: list[uuid.UUID], reimbursed_at: datetime):
    """One statement: locks the listed bookings, marks the paid ones REIMBURSED, and answers
    each listed booking's status as it was before."""
    listed = (
        select(models.Booking.id, models.Booking.status)
        .where(models.Booking.id.in_(ids))
        # The counter locks the same rows: an unuse in flight is seen once it committed.
        .with_for_update()
        .cte("listed")
    )
    paid = (
        update(models.Booking)
        .where(models.Booking.id == listed.c.id, listed.c.status.in_(PAID))
        .values(
            status="REIMBURSED",
            reimbursed_at=reimbursed_at,
            used_at=func.coalesce(
                models.Booking.used_at, literal(reimbursed_at, models.Booking.used_at.type)
            ),
        )
        .returning(models.Booking.id)
        .cte("paid")
    )
    return select(listed.c.id, listed.c.status, paid.c.id.is_not(None).label("paid")).outerjoin(
        paid, paid.c.id == listed.c.id
    )


def _report(event: events_pb2.BookingsReimbursed, ids: list[uuid.UUID], rows) -> None:
    by_status: dict[str, list[str]] = {}
    for row in rows:
        by_status.setdefault(row.status, []).append(str(row.id))
    context = {"payment_id": event.payment_id, "batch_id": event.batch_id}
    log.info("bookings reimbursed", extra=context | {"bookings": sum(r.paid for r in rows)})
    if unused := by_status.get("CONFIRMED"):
        log.warning("paid bookings were unused: reimbursed anyway %s", unused, extra=context)
    for status in ("CANCELLED", "PENDING", "FAILED"):
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
    rows = (await session.execute(_mark_reimbursed(ids, _reimbursed_at(event, meta)))).all()
    _report(event, ids, rows)


HANDLERS = {
    "booking.reimbursed": (events_pb2.BookingsReimbursed, on_bookings_reimbursed),
}
