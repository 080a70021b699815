"""Reads of bookings with their beneficiary and venue: what answers and emails show."""

import uuid
from typing import NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.domain.status import BookingStatus
from booking.models import Beneficiary, Booking, Venue

# Not (or never) a booking for the cinema: still being reserved, or refused.
HIDDEN_FROM_PROS = (BookingStatus.PENDING, BookingStatus.FAILED)
# What a young person sees in their list: PENDING ones are being settled, FAILED ones never were.
LISTED_FOR_BENEFICIARIES = (
    BookingStatus.CONFIRMED,
    BookingStatus.USED,
    BookingStatus.REIMBURSED,
    BookingStatus.CANCELLED,
)


class BookingView(NamedTuple):
    booking: Booking
    beneficiary: Beneficiary
    venue: Venue


def views() -> Select[Booking, Beneficiary, Venue]:
    return (
        select(Booking, Beneficiary, Venue)
        .join(Beneficiary, Beneficiary.id == Booking.beneficiary_id)
        .join(Venue, Venue.id == Booking.venue_id)
    )


def of_beneficiary(beneficiary_id: uuid.UUID) -> Select[Booking, Beneficiary, Venue]:
    return views().where(Booking.beneficiary_id == beneficiary_id)


def of_offerers(
    offerer_ids: set[uuid.UUID] | None,
) -> Select[Booking, Beneficiary, Venue]:
    """The bookings pros see: of these offerers (None: every offerer, for an admin)."""
    query = views().where(Booking.status.not_in(HIDDEN_FROM_PROS))
    if offerer_ids is not None:
        query = query.where(Booking.offerer_id.in_(offerer_ids))
    return query


async def one(
    session: AsyncSession, query: Select[Booking, Beneficiary, Venue]
) -> BookingView | None:
    row = (await session.execute(query)).one_or_none()
    return None if row is None else BookingView(*row)


async def many(
    session: AsyncSession, query: Select[Booking, Beneficiary, Venue]
) -> list[BookingView]:
    return [BookingView(*row) for row in await session.execute(query)]


async def by_id(session: AsyncSession, booking_id: uuid.UUID) -> BookingView | None:
    return await one(session, views().where(Booking.id == booking_id))
