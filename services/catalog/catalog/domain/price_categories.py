"""Rules of price categories (an offer's tariffs): labels, how many, which one a bare price
means, and when one may be deleted."""

from collections.abc import Collection, Iterable
from typing import Protocol, TypeVar

from catalog.domain.stocks import check_price
from passculture.catalog.v1.reasons import Reason
from pclib.errors import AlreadyExists, FailedPrecondition, InvalidArgument

MAX_PER_OFFER = 50
MAX_LABEL_LENGTH = 50
# The label of the category a bare price creates first (the real platform's, and the
# Allociné import's).
FIRST_LABEL = "Tarif unique"


class Category(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def price_cents(self) -> int: ...


def check_label(label: str) -> str:
    """The label, trimmed; 1 to 50 characters."""
    trimmed = label.strip()
    if not 1 <= len(trimmed) <= MAX_LABEL_LENGTH:
        raise InvalidArgument(
            Reason.INVALID_PRICE_CATEGORY_LABEL,
            f"label must be 1 to {MAX_LABEL_LENGTH} characters",
        )
    return trimmed


def check_label_free(label: str, taken: Iterable[str]) -> None:
    if label in set(taken):
        raise AlreadyExists(
            Reason.PRICE_CATEGORY_LABEL_TAKEN, f"the offer already has a category {label!r}"
        )


def check_room(count: int) -> None:
    """Refuses a new category when the offer has `count` already and that is the most."""
    if count >= MAX_PER_OFFER:
        raise FailedPrecondition(
            Reason.TOO_MANY_PRICE_CATEGORIES,
            f"an offer has at most {MAX_PER_OFFER} price categories",
        )


def new_category(label: str, price_cents: int, existing: Collection[Category]) -> str:
    """Checks a pro's new category against the offer's `existing` ones; returns its label."""
    checked = check_label(label)
    check_price(price_cents)
    check_label_free(checked, (category.label for category in existing))
    check_room(len(existing))
    return checked


def default_label(taken: Collection[str]) -> str:
    """The label of a category a bare price creates: "Tarif unique" for an offer's first,
    else the first free "Tarif N" from N = how many there are plus one."""
    if not taken:
        return FIRST_LABEL
    number = len(taken) + 1
    while f"Tarif {number}" in taken:
        number += 1
    return f"Tarif {number}"


AnyCategory = TypeVar("AnyCategory", bound=Category)


def of_price(categories: Iterable[AnyCategory], price_cents: int) -> AnyCategory | None:
    """The category a bare price means: the first of that price (in the given order)."""
    return next((category for category in categories if category.price_cents == price_cents), None)


def check_same_price(category_price_cents: int, price_cents: int | None) -> None:
    """A stock given both a category and a price: they must agree."""
    if price_cents is not None and price_cents != category_price_cents:
        raise InvalidArgument(
            Reason.INVALID_PRICE, "price_cents must be the price category's price"
        )


def check_deletable(booked_quantity: int) -> None:
    """A category whose stocks hold `booked_quantity` places cannot be deleted."""
    if booked_quantity > 0:
        raise FailedPrecondition(
            Reason.PRICE_CATEGORY_IN_USE,
            "this price category has bookings: it cannot be deleted",
            booked_quantity=booked_quantity,
        )
