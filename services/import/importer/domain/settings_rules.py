"""Rules of a venue's Allociné settings."""

from passculture.importer.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument

MAX_PRICE_CENTS = 30_000
MAX_QUANTITY = 1_000_000


def check_price(price_cents: int) -> None:
    """A single price for every imported showtime: a zero price is refused."""
    if not 0 < price_cents <= MAX_PRICE_CENTS:
        raise InvalidArgument(
            Reason.INVALID_PRICE, f"price_cents must be between 1 and {MAX_PRICE_CENTS}"
        )


def check_quantity(quantity: int | None) -> None:
    if quantity is not None and not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidArgument(
            Reason.INVALID_QUANTITY, f"quantity must be between 0 and {MAX_QUANTITY}"
        )


def check_siret(siret: str) -> None:
    if not siret:
        raise FailedPrecondition(
            Reason.VENUE_WITHOUT_SIRET, "the Allociné import needs a venue with a SIRET"
        )
