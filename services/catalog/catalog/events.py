"""The events the catalog publishes (passculture.catalog.v1.events), and their recording in the
outbox. The routing key is the event type."""

import uuid
from datetime import datetime
from typing import NamedTuple

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from catalog import models
from catalog.resources import offerer_pb, venue_pb
from passculture.catalog.v1 import events_pb2, resources_pb2
from pclib.outbox import add_event
from pclib.timestamps import timestamp


class Event(NamedTuple):
    routing_key: str
    message: Message


async def record(session: AsyncSession, event: Event) -> None:
    """Puts the event in the outbox, in the session's transaction."""
    await add_event(session, event.routing_key, event.message)


def venue_upserted(venue: models.Venue, offerer: models.Offerer) -> Event:
    return Event(
        "venue.upserted",
        events_pb2.VenueUpserted(venue=venue_pb(venue), offerer=offerer_pb(offerer)),
    )


def stock_updated(
    stock: resources_pb2.Stock, venue_id: uuid.UUID, previous_starts_at: datetime | None = None
) -> Event:
    """A stock was created or changed; `previous_starts_at` when it moved."""
    event = events_pb2.StockUpdated(stock=stock, venue_id=str(venue_id))
    if previous_starts_at is not None:
        event.previous_starts_at.CopyFrom(timestamp(previous_starts_at))
    return Event("stock.updated", event)


def stock_deleted(
    stock_id: uuid.UUID, offer_id: uuid.UUID, venue_id: uuid.UUID, deleted_at: datetime
) -> Event:
    return Event(
        "stock.deleted",
        events_pb2.StockDeleted(
            stock_id=str(stock_id),
            offer_id=str(offer_id),
            venue_id=str(venue_id),
            deleted_at=timestamp(deleted_at),
        ),
    )


def invitation_created(
    invitation: models.Invitation, offerer: models.Offerer, token: str, invited_by: str
) -> Event:
    return Event(
        "invitation.created",
        events_pb2.InvitationCreated(
            invitation_id=str(invitation.id),
            offerer=offerer_pb(offerer),
            email=invitation.email,
            token=token,
            expires_at=timestamp(invitation.expires_at),
            invited_by=invited_by,
        ),
    )
