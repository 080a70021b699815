"""A ticketing system's showtimes → the offers and stocks to import (the Allociné import's
rules where they apply: future showtimes only, one offer per film, a bad film rejected alone).

Only showtimes with a pass Culture tariff reach here (the adapters keep those); each tariff is a
stock of its own at the tariff's price (the catalog gives each price its category), with the
system's seat count.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from importer.domain.feed import Rejection
from importer.domain.programme import THREE_D, OfferProposal, Programme, StockProposal, features_of

MAX_PRICE_CENTS = 30_000


@dataclass(frozen=True)
class Tariff:
    """A pass Culture tariff of a showtime in the system."""

    ref: str
    label: str
    price_cents: int


@dataclass(frozen=True)
class Showtime:
    ref: str
    film_ref: str
    film_title: str
    duration_minutes: int | None
    visa: str
    starts_at: datetime  # aware, as the system says
    seats_remaining: int
    # Among VF, VO, 3D.
    features: tuple[str, ...]
    tariffs: tuple[Tariff, ...]


class BadFilm(Exception):
    pass


def _features(showtime: Showtime) -> tuple[str, ...]:
    """VO when the system says so, else VF; then 3D."""
    version = "VO" if "VO" in showtime.features else "VF"
    return features_of(version, THREE_D in showtime.features)


def stock_reference(showtime_ref: str, tariff_ref: str) -> str:
    """Identifies a showtime's tariff: what the booking hands back to the system."""
    return f"{showtime_ref}:{tariff_ref}"


def split_reference(reference: str) -> tuple[str, str]:
    """(showtime ref, tariff ref) of a stock reference."""
    showtime_ref, _, tariff_ref = reference.partition(":")
    return showtime_ref, tariff_ref


def build_programme(showtimes: list[Showtime], now: datetime, is_duo: bool = True) -> Programme:
    programme = Programme()
    by_film: dict[str, list[Showtime]] = defaultdict(list)
    for showtime in showtimes:
        by_film[showtime.film_ref].append(showtime)
    for film_ref, listed in sorted(by_film.items()):
        try:
            offer, skipped = _offer(film_ref, listed, now, is_duo)
        except BadFilm as error:
            programme.rejections.append(Rejection(film_ref, str(error), len(listed)))
            continue
        programme.showtimes_skipped += skipped
        if offer.stocks:
            programme.offers.append(offer)
            programme.showtimes_imported += len(listed) - skipped
    return programme


def _offer(
    film_ref: str, listed: list[Showtime], now: datetime, is_duo: bool
) -> tuple[OfferProposal, int]:
    first = listed[0]
    if not first.film_title.strip():
        raise BadFilm("the film has no title")
    stocks: list[StockProposal] = []
    skipped = 0
    for showtime in listed:
        if showtime.starts_at.tzinfo is None:
            raise BadFilm(f"showtime {showtime.ref} has no UTC offset")
        if showtime.starts_at <= now:
            skipped += 1
            continue
        for tariff in showtime.tariffs:
            if not 0 < tariff.price_cents <= MAX_PRICE_CENTS:
                raise BadFilm(f"tariff {tariff.ref} has price {tariff.price_cents} cents")
            stocks.append(
                StockProposal(
                    reference=stock_reference(showtime.ref, tariff.ref),
                    starts_at=showtime.starts_at.astimezone(UTC),
                    price_cents=tariff.price_cents,
                    quantity=max(showtime.seats_remaining, 0),
                    features=_features(showtime),
                )
            )
    offer = OfferProposal(
        reference=film_ref,
        title=first.film_title.strip(),
        description="",
        poster_url="",
        duration_minutes=first.duration_minutes,
        is_duo=is_duo,
        stocks=tuple(stocks),
    )
    return offer, skipped
