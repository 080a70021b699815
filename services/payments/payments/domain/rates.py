"""The reimbursement rate scale (pure: no I/O).

A venue's bookings are priced in order of validation. R is the venue's reimbursable revenue of
the calendar year (Europe/Paris, of the validation date) including the booking being priced;
the bracket R falls in gives the rate of the whole booking. Venues are counted by SIRET; one
without a SIRET by its venue id.
"""

from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
FULL_RATE_BPS = 10_000

# (highest R of the bracket in cents, rate in basis points); above the last bound: LAST_RATE_BPS.
BRACKETS: tuple[tuple[int, int], ...] = (
    (2_000_000, 10_000),
    (4_000_000, 9_500),
    (15_000_000, 9_200),
)
LAST_RATE_BPS = 9_000


class Priced(NamedTuple):
    rate_bps: int
    reimbursed_cents: int
    # The venue's revenue of the year once this booking is counted.
    revenue_after: int


def scale_key(venue_siret: str, venue_id: str) -> str:
    """What revenue is counted by: the SIRET, else the venue itself."""
    return venue_siret if venue_siret else f"venue:{venue_id}"


def revenue_year(used_at: datetime) -> int:
    """The calendar year of a validation, in Paris (a booking used on 31 December 23:30 UTC
    already belongs to the next year)."""
    return used_at.astimezone(PARIS).year


def rate_bps(revenue_including_booking: int) -> int:
    for bound, rate in BRACKETS:
        if revenue_including_booking <= bound:
            return rate
    return LAST_RATE_BPS


def reimbursed(total_cents: int, rate: int) -> int:
    """total * rate rounded half up, in integers."""
    return (total_cents * rate + FULL_RATE_BPS // 2) // FULL_RATE_BPS


def price(total_cents: int, revenue_before: int) -> Priced:
    """Prices one booking given the venue's revenue of the year before it."""
    if total_cents < 0 or revenue_before < 0:
        raise ValueError("amounts are never negative")
    after = revenue_before + total_cents
    rate = rate_bps(after)
    return Priced(rate, reimbursed(total_cents, rate), after)


class Threshold(NamedTuple):
    #: The highest revenue of the current bracket: a booking taking R past it gets `rate_bps`.
    revenue_cents: int
    rate_bps: int


def next_threshold(revenue: int) -> Threshold | None:
    """Where the rate next drops for a venue at `revenue` (None past the last bracket)."""
    rates_after = [rate for _, rate in BRACKETS[1:]] + [LAST_RATE_BPS]
    for (bound, _), rate_after in zip(BRACKETS, rates_after, strict=True):
        if revenue <= bound:
            return Threshold(bound, rate_after)
    return None


def year_span(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Paris, as [start, end) instants."""
    return datetime(year, 1, 1, tzinfo=PARIS), datetime(year + 1, 1, 1, tzinfo=PARIS)
