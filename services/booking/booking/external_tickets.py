"""Tickets of a venue's ticketing system that must not stay sold: a FAILED booking's (whatever
the system issued before the booking failed, or after it gave up waiting: an orphan) and a
booking the cinema cancelled. Their bookings are flagged `tickets_to_cancel` by the transition
that ended them; this loop asks the import service to cancel them (idempotent) until it has. A
young person's cancellation cancels in the system first, in the request (`cancel_now`)."""

import asyncio
import logging
import uuid

import grpc
from psycopg_pool import AsyncConnectionPool

from booking.models import Booking
from booking.ticketing_client import TicketingClient, ticketing_unavailable
from pclib import tracing
from pclib.batches import run_in_batches
from pclib.grpc_client import error_info

log = logging.getLogger(__name__)

BATCH = 100
TO_CANCEL = """
SELECT id FROM bookings WHERE tickets_to_cancel ORDER BY updated_at LIMIT %(limit)s
"""
CANCELLED = "UPDATE bookings SET tickets_to_cancel = false WHERE id = %(id)s"


async def cancel_now(ticketing: TicketingClient, booking: Booking) -> None:
    """Before a young person's cancellation is recorded: its tickets cancelled in the system, or
    503 TICKETING_UNAVAILABLE (the booking stays as it is)."""
    if not booking.external_barcodes:
        return
    try:
        await ticketing.cancel(booking.id)
    except grpc.aio.AioRpcError as error:
        if not _for_good(error, booking.id):
            log.warning("CancelTickets failed for %s: %s", booking.id, error.code())
            raise ticketing_unavailable() from None


def _for_good(error: grpc.aio.AioRpcError, booking_id: uuid.UUID) -> bool:
    """Whether the import service refused for good (the venue is no longer linked to its
    system): nothing more can be done here, the support must check with the cinema."""
    if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return False
    log.error(
        "the tickets of a booking cannot be cancelled in its ticketing system: check with the "
        "cinema",
        extra={"booking_id": str(booking_id), "reason": error_info(error).reason},
    )
    return True


class OrphanTickets:
    def __init__(self, pool: AsyncConnectionPool, ticketing: TicketingClient) -> None:
        self._pool = pool
        self._ticketing = ticketing

    async def cancel_once(self) -> int:
        """One batch; returns how many bookings' tickets are now cancelled."""
        with tracing.untraced():
            async with self._pool.connection() as conn:
                cursor = await conn.execute(TO_CANCEL, {"limit": BATCH})
                booking_ids = [row[0] for row in await cursor.fetchall()]
        cancelled = 0
        for booking_id in booking_ids:
            if await self._cancel(booking_id):
                cancelled += 1
        return cancelled

    async def _cancel(self, booking_id: uuid.UUID) -> bool:
        try:
            with tracing.job_span("cancel orphan tickets"):
                await self._ticketing.cancel(booking_id)
        except grpc.aio.AioRpcError as error:
            if not _for_good(error, booking_id):
                log.warning("could not cancel the tickets of %s: %s", booking_id, error.code())
                return False
        async with self._pool.connection() as conn:
            await conn.execute(CANCELLED, {"id": booking_id})
        return True

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        await run_in_batches(
            stop,
            self.cancel_once,
            batch=BATCH,
            interval=interval,
            log=log,
            done="tickets cancelled in ticketing systems",
        )
