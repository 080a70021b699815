"""The catalog's event consumers: seats come back when a booking is cancelled."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from catalog import reservations
from passculture.booking.v1 import events_pb2 as booking_events
from pclib.inbox import EventMeta, Handlers


async def on_booking_cancelled(
    session: AsyncSession, event: booking_events.BookingCancelled, meta: EventMeta
) -> None:
    # The reservation id is the booking id (architecture.md, the booking saga).
    await reservations.release(session, uuid.UUID(event.booking.booking_id))


HANDLERS: Handlers = {"booking.cancelled": (booking_events.BookingCancelled, on_booking_cancelled)}
