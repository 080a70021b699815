"""A beneficiary's credit as the database holds it: what was granted and what its active
bookings hold (credits.spent_cents, kept by booking.lifecycle)."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import credit as credit_rules
from booking.models import Credit


def remaining_cents(credit: Credit, now: datetime) -> int:
    return credit_rules.remaining(credit.initial_cents, credit.spent_cents, credit.expires_at, now)


async def of_beneficiary(session: AsyncSession, beneficiary_id: uuid.UUID) -> Credit | None:
    return await session.scalar(select(Credit).where(Credit.beneficiary_id == beneficiary_id))
