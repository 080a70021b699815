"""The catalog's events payments needs: moved showtimes (unpaid lines wait for the new start)
and offerers' names and SIRENs (a local copy, for admins putting a venue's bank account)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from passculture.catalog.v1 import events_pb2
from payments import ledger, store
from pclib.inbox import EventMeta, Handlers
from pclib.timestamps import to_datetime


async def on_stock_updated(
    session: AsyncSession, event: events_pb2.StockUpdated, meta: EventMeta
) -> None:
    if not event.HasField("previous_starts_at"):
        return
    await ledger.move_showtime(session, event.stock.id, to_datetime(event.stock.starts_at))


async def on_venue_upserted(
    session: AsyncSession, event: events_pb2.VenueUpserted, meta: EventMeta
) -> None:
    if not event.offerer.id:
        return
    await store.save_offerer(
        session, uuid.UUID(event.offerer.id), event.offerer.name, event.offerer.siren
    )


HANDLERS: Handlers = {
    "stock.updated": (events_pb2.StockUpdated, on_stock_updated),
    "venue.upserted": (events_pb2.VenueUpserted, on_venue_upserted),
}
