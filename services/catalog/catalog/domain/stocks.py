"""Rules of stocks (showtimes): what may be created, edited, deleted and booked."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from passculture.catalog.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument

MAX_PRICE_CENTS = 30_000
MAX_QUANTITY = 1_000_000
DELETABLE_AFTER_START = timedelta(hours=48)


class Unset(Enum):
    """A value an update leaves as it is, distinct from None (an unlimited quantity)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class StockValues:
    starts_at: datetime
    price_cents: int
    quantity: int | None
    booking_limit_at: datetime


# The values a pro's edit marks as edited when it changes them (Stock.edited_fields): an import
# never overwrites them again.
EDITABLE_FIELDS = ("starts_at", "price_cents", "quantity", "booking_limit_at")


def check_price(price_cents: int) -> None:
    if not 0 <= price_cents <= MAX_PRICE_CENTS:
        raise InvalidArgument(
            Reason.INVALID_PRICE, f"price_cents must be between 0 and {MAX_PRICE_CENTS}"
        )


def check_quantity(quantity: int | None, booked: int = 0) -> None:
    if quantity is None:
        return
    if not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidArgument(
            Reason.INVALID_QUANTITY, f"quantity must be between 0 and {MAX_QUANTITY}"
        )
    if quantity < booked:
        raise FailedPrecondition(
            Reason.QUANTITY_BELOW_BOOKED,
            f"quantity cannot go below the {booked} places already booked",
            booked_quantity=booked,
        )


def _check_booking_limit(booking_limit_at: datetime, starts_at: datetime) -> None:
    if booking_limit_at > starts_at:
        raise InvalidArgument(
            Reason.INVALID_BOOKING_LIMIT, "booking_limit_at cannot be after starts_at"
        )


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise InvalidArgument(Reason.STARTS_AT_IN_PAST, "starts_at must be in the future")


def new_stock(
    starts_at: datetime,
    price_cents: int,
    quantity: int | None,
    booking_limit_at: datetime | None,
    now: datetime,
) -> StockValues:
    """The values of a new stock, with the booking limit defaulting to the start."""
    _check_future(starts_at, now)
    check_price(price_cents)
    check_quantity(quantity, booked=0)
    limit = booking_limit_at or starts_at
    _check_booking_limit(limit, starts_at)
    return StockValues(starts_at, price_cents, quantity, limit)


def updated_stock(
    current: StockValues,
    booked: int,
    now: datetime,
    *,
    starts_at: datetime | None = None,
    price_cents: int | None = None,
    quantity: int | Unset | None = UNSET,
    booking_limit_at: datetime | None = None,
) -> StockValues:
    """The values after an edit; a past showtime cannot be edited."""
    if current.starts_at <= now:
        raise FailedPrecondition(Reason.STOCK_IN_PAST, "a past showtime cannot be edited")
    new_starts_at = current.starts_at
    if starts_at is not None and starts_at != current.starts_at:
        _check_future(starts_at, now)
        new_starts_at = starts_at
    new_price = current.price_cents if price_cents is None else price_cents
    check_price(new_price)
    new_quantity = current.quantity if quantity is UNSET else quantity
    check_quantity(new_quantity, booked)
    if booking_limit_at is not None:
        new_limit = booking_limit_at
    elif current.booking_limit_at == current.starts_at:
        new_limit = new_starts_at  # the default follows the showtime
    else:
        new_limit = min(current.booking_limit_at, new_starts_at)
    _check_booking_limit(new_limit, new_starts_at)
    return StockValues(new_starts_at, new_price, new_quantity, new_limit)


def edited_fields(already: Iterable[str], before: StockValues, after: StockValues) -> list[str]:
    """The stock's edited fields after a pro's edit from `before` to `after`: those `already`
    edited and those the edit changed, sorted."""
    changed = {
        field for field in EDITABLE_FIELDS if getattr(before, field) != getattr(after, field)
    }
    return sorted({*already, *changed})


def with_edited(already: Iterable[str], field: str) -> list[str]:
    """The edited fields once `field` is edited too, sorted."""
    return sorted({*already, field})


def check_deletable(starts_at: datetime, now: datetime) -> None:
    if now > starts_at + DELETABLE_AFTER_START:
        raise FailedPrecondition(
            Reason.STOCK_NOT_DELETABLE, "a showtime can be deleted until 48h after it starts"
        )


def remaining(quantity: int | None, booked: int) -> int | None:
    return None if quantity is None else max(quantity - booked, 0)


def is_bookable(
    *,
    offerer_validated: bool,
    offer_active: bool,
    stock_active: bool,
    stock_deleted: bool,
    starts_at: datetime,
    booking_limit_at: datetime,
    quantity: int | None,
    booked: int,
    now: datetime,
) -> bool:
    left = remaining(quantity, booked)
    return (
        offerer_validated
        and offer_active
        and stock_active
        and not stock_deleted
        and starts_at > now
        and booking_limit_at > now
        and (left is None or left > 0)
    )
