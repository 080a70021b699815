"""An offerer's revenue of a calendar year (Europe/Paris), per venue, read from the ledger (what
is booked or used and not paid yet) and from the payment lines (what batches paid).

What is still to be paid is priced as a batch prices it (batch/pricing.py): the venue's
unpaid used bookings of the year in order of validation, from the revenue earlier batches
priced (scale_revenues). It is what the next batch pays if it pays them all.
"""

import uuid
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from payments.batch.pricing import BatchPricing, LineToPay
from payments.domain import rates
from payments.domain.revenue import Figures
from payments.domain.status import LedgerState
from payments.models import LedgerLine, Payment, PaymentLine, ScaleRevenue

BOOKED = (LedgerState.CONFIRMED, LedgerState.UNUSED)


async def figures_by_venue(
    session: AsyncSession, offerer_id: uuid.UUID, year: int
) -> dict[uuid.UUID, Figures]:
    start, end = rates.year_span(year)
    figures: defaultdict[uuid.UUID, Figures] = defaultdict(Figures)
    booked = await session.execute(
        select(LedgerLine.venue_id, func.sum(LedgerLine.total_cents))
        .where(
            LedgerLine.offerer_id == offerer_id,
            LedgerLine.state.in_(BOOKED),
            LedgerLine.starts_at >= start,
            LedgerLine.starts_at < end,
        )
        .group_by(LedgerLine.venue_id)
    )
    for venue_id, cents in booked:
        figures[venue_id].booked = int(cents)
    paid = await session.execute(
        select(
            Payment.venue_id,
            func.sum(PaymentLine.total_cents),
            func.sum(PaymentLine.reimbursed_cents),
        )
        .join(Payment, Payment.id == PaymentLine.payment_id)
        .where(
            Payment.offerer_id == offerer_id,
            PaymentLine.used_at >= start,
            PaymentLine.used_at < end,
        )
        .group_by(Payment.venue_id)
    )
    for venue_id, total, reimbursed in paid:
        figures[venue_id].validated += int(total)
        figures[venue_id].reimbursed = int(reimbursed)
    pricing = await _price_unpaid(session, offerer_id, year)
    for venue, payment in pricing.payments.items():
        figures[uuid.UUID(venue)].to_be_paid = payment.amount_cents
    for venue_id, validated in (await _unpaid_used(session, offerer_id, year)).items():
        figures[venue_id].validated += validated
    return dict(figures)


async def _unpaid_used(
    session: AsyncSession, offerer_id: uuid.UUID, year: int
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(LedgerLine.venue_id, func.sum(LedgerLine.total_cents))
        .where(
            LedgerLine.offerer_id == offerer_id,
            LedgerLine.state == LedgerState.USED,
            LedgerLine.used_year == year,
        )
        .group_by(LedgerLine.venue_id)
    )
    return {venue_id: int(cents) for venue_id, cents in rows}


async def _price_unpaid(session: AsyncSession, offerer_id: uuid.UUID, year: int) -> BatchPricing:
    lines = await session.execute(
        select(
            LedgerLine.booking_id,
            LedgerLine.venue_id,
            LedgerLine.scale_key,
            LedgerLine.total_cents,
            LedgerLine.used_at,
            func.coalesce(ScaleRevenue.revenue_cents, 0),
        )
        .outerjoin(
            ScaleRevenue,
            (ScaleRevenue.scale_key == LedgerLine.scale_key) & (ScaleRevenue.year == year),
        )
        .where(
            LedgerLine.offerer_id == offerer_id,
            LedgerLine.state == LedgerState.USED,
            LedgerLine.used_year == year,
        )
        .order_by(LedgerLine.scale_key, LedgerLine.used_at, LedgerLine.booking_id)
    )
    pricing = BatchPricing()
    for booking_id, venue_id, scale_key, total, used_at, earlier in lines:
        pricing.price(
            LineToPay(str(booking_id), str(venue_id), scale_key, year, total, str(used_at), earlier)
        )
    return pricing


async def scale_revenues(session: AsyncSession, scale_keys: list[str], year: int) -> dict[str, int]:
    """Each scale key's revenue of the year so far: priced by batches, and used not yet paid."""
    revenues: defaultdict[str, int] = defaultdict(int)
    paid = await session.execute(
        select(ScaleRevenue.scale_key, ScaleRevenue.revenue_cents).where(
            ScaleRevenue.scale_key.in_(scale_keys), ScaleRevenue.year == year
        )
    )
    for key, cents in paid:
        revenues[key] += int(cents)
    unpaid = await session.execute(
        select(LedgerLine.scale_key, func.sum(LedgerLine.total_cents))
        .where(
            LedgerLine.scale_key.in_(scale_keys),
            LedgerLine.state == LedgerState.USED,
            LedgerLine.used_year == year,
        )
        .group_by(LedgerLine.scale_key)
    )
    for key, cents in unpaid:
        revenues[key] += int(cents)
    return dict(revenues)
