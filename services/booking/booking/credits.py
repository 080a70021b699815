"""A beneficiary's credit as the database holds it: what was granted, what is spent."""

import uuid
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import credit as credit_rules
from booking.domain.status import ACTIVE_STATUSES
from booking.models import Booking, Credit


def spent(credit_id: uuid.UUID) -> Select[int]:
    """The cents the credit's active bookings hold."""
    total = func.coalesce(func.sum(Booking.amount_cents * Booking.quantity), 0)
    return select(total).where(Booking.credit_id == credit_id, Booking.status.in_(ACTIVE_STATUSES))


async def remaining_cents(session: AsyncSession, credit: Credit, now: datetime) -> int:
    spent_cents = await session.scalar(spent(credit.id)) or 0
    return credit_rules.remaining(credit.initial_cents, spent_cents, credit.expires_at, now)


async def of_beneficiary(session: AsyncSession, beneficiary_id: uuid.UUID) -> Credit | None:
    return await session.scalar(select(Credit).where(Credit.beneficiary_id == beneficiary_id))


async def lock(session: AsyncSession, beneficiary_id: uuid.UUID) -> Credit | None:
    """Serialises every booking of this beneficiary: no overspend, no double booking."""
    return await session.scalar(
        select(Credit).where(Credit.beneficiary_id == beneficiary_id).with_for_update()
    )
