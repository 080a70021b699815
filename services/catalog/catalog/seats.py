"""Giving seats back: for ReleaseStock (the booking saga) and the booking.cancelled consumer."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Stock, StockReservation


async def release(session: AsyncSession, reservation_id: uuid.UUID) -> StockReservation:
    """Frees the reservation's seats once; an unknown id leaves a RELEASED tombstone so that it
    can never reserve later. Runs in the caller's transaction."""
    await session.execute(
        insert(StockReservation)
        .values(id=reservation_id, stock_id=None, quantity=0, status="RELEASED")
        .on_conflict_do_nothing(index_elements=["id"])
    )
    reservation = await session.scalar(
        select(StockReservation)
        .where(StockReservation.id == reservation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if reservation.status == "RESERVED":
        await session.execute(
            update(Stock)
            .where(Stock.id == reservation.stock_id)
            .values(booked_quantity=Stock.booked_quantity - reservation.quantity)
        )
        reservation.status = "RELEASED"
        reservation.released_at = datetime.now(UTC)
    return reservation
