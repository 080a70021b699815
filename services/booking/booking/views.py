"""A booking as answers and events show it, read on a psycopg connection (the saga's): the
booking with its beneficiary and venue, in one query (for the emails consumer, with its venue's
notification URL too)."""

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from booking.domain.status import BookingStatus, CancellationReason, ValidationAuthor
from booking.models import Beneficiary, Booking, Venue
from booking.queries import BookingView

# The beneficiary's and the venue's columns are prefixed: bookings has columns of those names.
_COLUMNS = """b.*,
    ben.first_name AS ben__first_name, ben.last_name AS ben__last_name, ben.email AS ben__email,
    ben.phone_number AS ben__phone_number,
    v.offerer_siren AS ven__offerer_siren, v.name AS ven__name, v.siret AS ven__siret,
    v.booking_email AS ven__booking_email, v.timezone AS ven__timezone,
    v.address AS ven__address, v.postal_code AS ven__postal_code, v.city AS ven__city"""
_JOINS = """FROM bookings b
JOIN beneficiaries ben ON ben.id = b.beneficiary_id
JOIN venues v ON v.id = b.venue_id"""
SELECT_VIEWS = f"SELECT {_COLUMNS}\n{_JOINS}\n"
SELECT_VIEW_AND_URL = f"""SELECT vn.url AS notification_url, {_COLUMNS}
{_JOINS}
LEFT JOIN venue_notifications vn ON vn.venue_id = b.venue_id
WHERE b.id = %(id)s"""


def _view(row: dict[str, Any]) -> BookingView:
    beneficiary = {k.removeprefix("ben__"): row.pop(k) for k in list(row) if k.startswith("ben__")}
    venue = {k.removeprefix("ven__"): row.pop(k) for k in list(row) if k.startswith("ven__")}
    row["status"] = BookingStatus(row["status"])
    if row["validated_by"] is not None:
        row["validated_by"] = ValidationAuthor(row["validated_by"])
    if row["cancellation_reason"] is not None:
        row["cancellation_reason"] = CancellationReason(row["cancellation_reason"])
    return BookingView(
        Booking(**row),
        Beneficiary(id=row["beneficiary_id"], **beneficiary),
        Venue(id=row["venue_id"], offerer_id=row["offerer_id"], **venue),
    )


async def by_id(
    conn: AsyncConnection[Any], booking_id: uuid.UUID, *, lock_pending: bool = False
) -> BookingView | None:
    """The booking; with `lock_pending`, only if PENDING, locked (skipped when another
    transaction holds it)."""
    query = SELECT_VIEWS + " WHERE b.id = %(id)s"
    if lock_pending:
        query += f" AND b.status = '{BookingStatus.PENDING}' FOR UPDATE OF b SKIP LOCKED"
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, {"id": booking_id})
        row = await cursor.fetchone()
    return None if row is None else _view(row)


async def with_notification_url(
    conn: AsyncConnection[Any], booking_id: uuid.UUID
) -> tuple[BookingView, str | None] | None:
    """The booking, and its venue's notification URL (None: the venue has none)."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(SELECT_VIEW_AND_URL, {"id": booking_id})
        row = await cursor.fetchone()
    if row is None:
        return None
    url = row.pop("notification_url")
    return _view(row), url


async def by_key(
    conn: AsyncConnection[Any], beneficiary_id: uuid.UUID, key: str
) -> BookingView | None:
    """The booking this beneficiary made with this Idempotency-Key."""
    query = SELECT_VIEWS + " WHERE b.beneficiary_id = %(who)s AND b.idempotency_key = %(key)s"
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(query, {"who": beneficiary_id, "key": key})
        row = await cursor.fetchone()
    return None if row is None else _view(row)
