"""The public credit: who may receive it, how long it lasts, what is left of it."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from passculture.booking.v1.reasons import Reason
from pclib.errors import DomainError, FailedPrecondition, InvalidArgument, PermissionDenied

CREDIT_CENTS = 30_000
VALIDITY_YEARS = 2
ELIGIBLE_AGE = 18


def age_on(birth_date: date, day: date) -> int:
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def check_eligible(birth_date: date, now: datetime, timezone: str) -> None:
    """The credit goes to 18-year-olds, their age taken on today's date where they live."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if age_on(birth_date, today) != ELIGIBLE_AGE:
        raise InvalidArgument(Reason.NOT_ELIGIBLE, "the credit is granted at 18 only")


def expiry(granted_at: datetime) -> datetime:
    """Two years after the grant (a grant on 29 February expires on 28 February)."""
    granted = granted_at.astimezone(UTC)
    try:
        return granted.replace(year=granted.year + VALIDITY_YEARS)
    except ValueError:
        return granted.replace(year=granted.year + VALIDITY_YEARS, day=28)


def remaining(initial_cents: int, spent_cents: int, expires_at: datetime, now: datetime) -> int:
    """What can still be spent: nothing once expired, never below zero."""
    if now >= expires_at:
        return 0
    return max(initial_cents - spent_cents, 0)


@dataclass(frozen=True)
class CreditState:
    """A young person's credit as a booking found it, and whether they hold this film already."""

    initial_cents: int
    spent_cents: int
    expires_at: datetime
    held: bool


def refusal(credit: CreditState | None, amount_cents: int, now: datetime) -> DomainError:
    """Why a booking of `amount_cents` cannot be made on this credit (None: never granted)."""
    if credit is None:
        return PermissionDenied(Reason.NO_CREDIT, "no credit was granted to you")
    if now >= credit.expires_at:
        return PermissionDenied(Reason.CREDIT_EXPIRED, "your credit has expired")
    if credit.held:
        return already_booked()
    # Enough now, maybe: a booking of this person failed or was cancelled meanwhile.
    return FailedPrecondition(Reason.INSUFFICIENT_CREDIT, "your credit is not enough")


def already_booked() -> FailedPrecondition:
    return FailedPrecondition(Reason.ALREADY_BOOKED, "you already booked this film here")
