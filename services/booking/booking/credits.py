"""A beneficiary's credit as the database holds it: what was granted and what its active
bookings hold (credits.spent_cents, kept by booking.lifecycle)."""

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain import credit as credit_rules
from booking.models import Beneficiary, Credit


def remaining_cents(credit: Credit, now: datetime) -> int:
    return credit_rules.remaining(credit.initial_cents, credit.spent_cents, credit.expires_at, now)


async def of_beneficiary(session: AsyncSession, beneficiary_id: uuid.UUID) -> Credit | None:
    return await session.scalar(select(Credit).where(Credit.beneficiary_id == beneficiary_id))


# A beneficiary and their credit (none until granted), in one query: what GetMe answers.
ME = """
SELECT b.id, b.email, b.first_name, b.last_name, b.birth_date, b.phone_number, b.postal_code,
    c.id, c.initial_cents, c.spent_cents, c.expires_at
FROM beneficiaries b LEFT JOIN credits c ON c.beneficiary_id = b.id
WHERE b.id = %(id)s
"""


async def me(
    conn: AsyncConnection[Any], beneficiary_id: uuid.UUID
) -> tuple[Beneficiary, Credit | None] | None:
    """The beneficiary (the fields their answer shows) and their credit, on the psycopg pool."""
    cursor = await conn.execute(ME, {"id": beneficiary_id})
    row = await cursor.fetchone()
    if row is None:
        return None
    person = dict(
        zip(
            ("email", "first_name", "last_name", "birth_date", "phone_number", "postal_code"),
            row[1:7],
            strict=True,
        )
    )
    beneficiary = Beneficiary(id=row[0], **person)
    if row[7] is None:
        return beneficiary, None
    credit = Credit(
        id=row[7],
        beneficiary_id=row[0],
        initial_cents=row[8],
        spent_cents=row[9],
        expires_at=row[10],
    )
    return beneficiary, credit
