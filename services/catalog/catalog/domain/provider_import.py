"""Rules of offers and stocks imported from a provider (Allociné): what an import may write.

An import proposes values; the pro's choices win. It never re-creates nor edits a deleted
stock, never edits a past one (nor creates one in the past), keeps every field the pro edited
(`edited_fields`), never lowers a quantity below the places booked, and never touches an
offer's `is_active` (nor its `is_duo` once created).
"""

from dataclasses import dataclass
from datetime import datetime

from catalog.domain.offers import check_offer
from catalog.domain.stocks import check_price, check_quantity
from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument

MAX_OFFERS_PER_CALL = 500
MAX_STOCKS_PER_CALL = 5_000


@dataclass(frozen=True)
class ProposedStock:
    reference: str
    starts_at: datetime
    price_cents: int
    quantity: int | None
    features: tuple[str, ...]


@dataclass(frozen=True)
class ProposedOffer:
    reference: str
    title: str
    description: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    stocks: tuple[ProposedStock, ...]

    def content(self) -> tuple[str, str, str, int | None]:
        """The fields an import keeps up to date on an existing offer."""
        return (self.title, self.description, self.poster_url, self.duration_minutes)


@dataclass(frozen=True)
class CurrentStock:
    id: object
    starts_at: datetime
    price_cents: int
    quantity: int | None
    booked_quantity: int
    booking_limit_at: datetime
    features: tuple[str, ...]
    edited_fields: frozenset[str]
    deleted: bool


@dataclass(frozen=True)
class ImportedValues:
    """What an import writes on a stock."""

    starts_at: datetime
    price_cents: int
    quantity: int | None
    booking_limit_at: datetime
    features: tuple[str, ...]


def _check_reference(reference: str, seen: set[str], what: str) -> None:
    if not reference.strip():
        raise InvalidArgument(
            Reason.INVALID_PROVIDER_REFERENCE, f"{what} provider_reference is empty"
        )
    if reference in seen:
        raise InvalidArgument(
            Reason.DUPLICATE_PROVIDER_REFERENCE,
            f"{what} provider_reference {reference!r} is repeated",
        )
    seen.add(reference)


def check_batch(offers: list[ProposedOffer]) -> None:
    """Refuses a batch that is too big, or has an invalid or repeated reference or value."""
    stock_count = sum(len(offer.stocks) for offer in offers)
    if len(offers) > MAX_OFFERS_PER_CALL or stock_count > MAX_STOCKS_PER_CALL:
        raise InvalidArgument(
            Reason.BATCH_TOO_LARGE,
            f"at most {MAX_OFFERS_PER_CALL} offers and {MAX_STOCKS_PER_CALL} stocks per call",
        )
    offer_references: set[str] = set()
    for offer in offers:
        _check_reference(offer.reference, offer_references, "offer")
        check_offer(offer.title, offer.duration_minutes)
        stock_references: set[str] = set()
        for stock in offer.stocks:
            _check_reference(stock.reference, stock_references, "stock")
            check_price(stock.price_cents)
            check_quantity(stock.quantity)


def imported_values(
    current: CurrentStock, proposed: ProposedStock, now: datetime
) -> ImportedValues | None:
    """The values an import leaves on an existing stock: None when it must not touch it
    (deleted, past, or it would move into the past), else the proposal with the pro's edits
    kept. Equal to the current values when there is nothing to change."""
    if current.deleted or current.starts_at <= now:
        return None
    edited = current.edited_fields
    starts_at = current.starts_at if "starts_at" in edited else proposed.starts_at
    if starts_at <= now:
        return None
    if "quantity" in edited:
        quantity = current.quantity
    elif proposed.quantity is None:
        quantity = None
    else:
        quantity = max(proposed.quantity, current.booked_quantity)
    if "booking_limit_at" in edited:
        booking_limit_at = min(current.booking_limit_at, starts_at)
    else:
        booking_limit_at = starts_at
    return ImportedValues(
        starts_at=starts_at,
        price_cents=current.price_cents if "price_cents" in edited else proposed.price_cents,
        quantity=quantity,
        booking_limit_at=booking_limit_at,
        features=current.features if "features" in edited else proposed.features,
    )


def current_values(current: CurrentStock) -> ImportedValues:
    return ImportedValues(
        current.starts_at,
        current.price_cents,
        current.quantity,
        current.booking_limit_at,
        current.features,
    )


def is_creatable(proposed: ProposedStock, now: datetime) -> bool:
    """A new showtime is created only in the future."""
    return proposed.starts_at > now
