"""The import service's TicketingService as its tests call it: requests, refusals, and the
booking's row in the import service's database."""

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from passculture.importer.v1 import ticketing_service_pb2 as pb
from tests.support.catalog_helpers import reason_of

PARIS = timezone(timedelta(hours=1))
EVENING = datetime.combine(date.today() + timedelta(days=1), datetime.min.time(), PARIS).replace(
    hour=20
)


def book_request(
    venue: Any, booking_id: str, quantity: int = 1, ref: str = "1:1:4"
) -> pb.BookTicketsRequest:
    return pb.BookTicketsRequest(
        booking_id=booking_id,
        venue_id=venue.id,
        provider_stock_reference=ref,
        quantity=quantity,
        first_name="Camille",
        last_name="Martin",
        email="camille@example.com",
    )


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    """The status code and ErrorInfo reason the call fails with (AssertionError if it succeeds)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:  # the client's: no ErrorInfo
            return error.code(), ""
        return error.code(), reason_of(error)
    raise AssertionError("the call succeeded")


async def status_of(engine: AsyncEngine, booking_id: str) -> str | None:
    async with engine.connect() as connection:
        status: str | None = await connection.scalar(
            text("SELECT status FROM external_bookings WHERE booking_id = :id"),
            {"id": uuid.UUID(booking_id)},
        )
    return status


async def age_booking(engine: AsyncEngine, booking_id: str, by: timedelta) -> None:
    """The row as if its last transition were `by` older (a call abandoned long ago)."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE external_bookings SET updated_at = updated_at - :by WHERE booking_id = :id"
            ),
            {"by": by, "id": uuid.UUID(booking_id)},
        )
