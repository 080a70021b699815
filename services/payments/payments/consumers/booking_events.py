"""The booking service's events that make the ledger: created → a booked line; used → a
reimbursable line; unused or cancelled → the line leaves the ledger unless already paid.
Handlers run in the inbox transaction, on a psycopg connection (pclib.inbox.StatementConsumer:
one event per booking, the ledger's hot path): a redelivered event changes nothing."""

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from passculture.booking.v1 import events_pb2
from payments import ledger
from payments.ledger import Connection
from pclib.inbox import EventMeta, StatementHandlers
from pclib.timestamps import to_datetime


def _when(stamp: Timestamp, has_it: bool, meta: EventMeta) -> datetime:
    """When the booking changed: the event's own time, else the message's (to the second)."""
    if has_it:
        return to_datetime(stamp)
    return meta.occurred_at or datetime.now(UTC)


def _starts_at(facts: events_pb2.BookingFacts) -> datetime:
    return to_datetime(facts.starts_at)


async def on_created(conn: Connection, event: events_pb2.BookingCreated, meta: EventMeta) -> None:
    at = _when(event.booked_at, event.HasField("booked_at"), meta)
    await ledger.confirmed(conn, event.booking, _starts_at(event.booking), at)


async def on_used(conn: Connection, event: events_pb2.BookingUsed, meta: EventMeta) -> None:
    at = _when(event.used_at, event.HasField("used_at"), meta)
    await ledger.used(conn, event.booking, _starts_at(event.booking), at)


async def on_unused(conn: Connection, event: events_pb2.BookingUnused, meta: EventMeta) -> None:
    at = _when(event.unused_at, event.HasField("unused_at"), meta)
    await ledger.unused(conn, event.booking, _starts_at(event.booking), at)


async def on_cancelled(
    conn: Connection, event: events_pb2.BookingCancelled, meta: EventMeta
) -> None:
    at = _when(event.cancelled_at, event.HasField("cancelled_at"), meta)
    await ledger.cancelled(conn, event.booking, _starts_at(event.booking), at)


HANDLERS: StatementHandlers = {
    "booking.created": (events_pb2.BookingCreated, on_created),
    "booking.used": (events_pb2.BookingUsed, on_used),
    "booking.unused": (events_pb2.BookingUnused, on_unused),
    "booking.cancelled": (events_pb2.BookingCancelled, on_cancelled),
}
