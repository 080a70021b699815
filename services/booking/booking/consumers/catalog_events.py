"""The catalog's events, as they touch bookings: venues (a local copy), moved and deleted
showtimes. Handlers run in the inbox transaction: a redelivered event changes nothing."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from booking import events, lifecycle, models
from booking.domain import rules
from booking.domain.status import BookingStatus
from passculture.catalog.v1 import events_pb2
from pclib.inbox import EventMeta, Handlers
from pclib.timestamps import to_datetime


def _changed_at(meta: EventMeta) -> datetime:
    """When the catalog made the change (the event's time, to the second), else now."""
    return meta.occurred_at or datetime.now(UTC)


async def _bookings_of_stock(
    session: AsyncSession, stock_id: str, statuses: Iterable[BookingStatus]
) -> list[tuple[models.Booking, models.Venue]]:
    rows = await session.execute(
        select(models.Booking, models.Venue)
        .join(models.Venue, models.Venue.id == models.Booking.venue_id)
        .where(
            models.Booking.stock_id == uuid.UUID(stock_id),
            models.Booking.status.in_(tuple(statuses)),
        )
        .order_by(models.Booking.booked_at, models.Booking.id)
        # The counter and the young people's cancellations lock the same rows.
        .with_for_update(of=models.Booking)
    )
    return [(row.Booking, row.Venue) for row in rows]


async def on_venue_upserted(
    session: AsyncSession, event: events_pb2.VenueUpserted, meta: EventMeta
) -> None:
    venue = event.venue
    values = {
        "offerer_id": uuid.UUID(venue.offerer_id),
        "offerer_siren": event.offerer.siren,
        "name": venue.name,
        "siret": venue.siret,
        "booking_email": venue.booking_email,
        "timezone": venue.timezone,
        "address": venue.address,
        "postal_code": venue.postal_code,
        "city": venue.city,
    }
    statement = insert(models.Venue).values(id=uuid.UUID(venue.id), **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[models.Venue.id], set_={**values, "updated_at": func.now()}
        )
    )


async def on_stock_updated(
    session: AsyncSession, event: events_pb2.StockUpdated, meta: EventMeta
) -> None:
    """A moved showtime moves its bookings (domain: lifecycle.move); the emails consumer tells
    each young person from the `booking.moved` events."""
    if not event.HasField("previous_starts_at"):
        return
    starts_at, moved_at = to_datetime(event.stock.starts_at), _changed_at(meta)
    for booking, venue in await _bookings_of_stock(session, event.stock.id, rules.MOVABLE):
        for change in lifecycle.move(booking, venue, starts_at, moved_at, datetime.now(UTC)):
            await events.record(session, change)


async def on_stock_deleted(
    session: AsyncSession, event: events_pb2.StockDeleted, meta: EventMeta
) -> None:
    """Cancels the showtime's bookings (reason OFFERER); the emails consumer tells each young
    person from the `booking.cancelled` events."""
    deleted_at = (
        to_datetime(event.deleted_at) if event.HasField("deleted_at") else _changed_at(meta)
    )
    bookings = await _bookings_of_stock(session, event.stock_id, rules.CANCELLABLE_BY_OFFERER)
    for booking, venue in bookings:
        cancelled = await lifecycle.cancel_by_cinema(session, booking, venue, deleted_at)
        if cancelled is not None:
            await events.record(session, cancelled)


HANDLERS: Handlers = {
    "venue.upserted": (events_pb2.VenueUpserted, on_venue_upserted),
    "stock.updated": (events_pb2.StockUpdated, on_stock_updated),
    "stock.deleted": (events_pb2.StockDeleted, on_stock_deleted),
}
