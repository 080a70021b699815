"""A theater's programme → the offers and stocks to import (domain.md, "Allociné import").

Kept showtimes are "classic": first projection DIGITAL, or F_3D (a 3D showtime, feature "3D"
beside its version), no experience (IMAX, 4DX… are not), not of a SPECIAL_EVENT movie, in the
future. One offer per movie that keeps at least one showtime; one stock per distinct showtime.
"""

import html
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from importer.domain.durations import runtime_minutes
from importer.domain.feed import Movie, Rejection, Showtime, read_feed
from importer.domain.local_time import to_utc

# The first projections kept, and whether each is in 3D. Only the first counts: a DIGITAL
# showtime that also lists F_3D stays what earlier imports made of it (2D, its reference
# unchanged), or it would come back as a second stock beside the first.
CLASSIC_PROJECTIONS = {"DIGITAL": False, "F_3D": True}
THREE_D = "3D"
SPECIAL_EVENT = "SPECIAL_EVENT"
FEATURES = {"LOCAL": "VF", "DUBBED": "VF", "ORIGINAL": "VO"}


@dataclass(frozen=True)
class ImportSettings:
    price_cents: int
    quantity: int | None
    is_duo: bool


@dataclass(frozen=True)
class StockProposal:
    reference: str
    starts_at: datetime  # UTC
    price_cents: int
    quantity: int | None
    # The version (VF or VO), then 3D for a 3D showtime.
    features: tuple[str, ...]


@dataclass(frozen=True)
class OfferProposal:
    reference: str
    title: str
    description: str
    poster_url: str
    duration_minutes: int | None
    is_duo: bool
    stocks: tuple[StockProposal, ...]


@dataclass
class Programme:
    offers: list[OfferProposal] = field(default_factory=list)
    showtimes_imported: int = 0
    showtimes_skipped: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def showtimes_rejected(self) -> int:
        return sum(rejection.showtimes for rejection in self.rejections)


def is_classic(showtime: Showtime) -> bool:
    return (
        bool(showtime.projection)
        and showtime.projection[0] in CLASSIC_PROJECTIONS
        and not showtime.experience
    )


def features_of(version: str, is_3d: bool) -> tuple[str, ...]:
    return (version, THREE_D) if is_3d else (version,)


def features_label(features: tuple[str, ...]) -> str:
    """How stock references and fingerprints name features: "VF", "VO+3D"… (a 2D stock's name
    is what it was before 3D was imported, so neither changed for it)."""
    return "+".join(features)


def description(movie: Movie) -> str:
    synopsis = html.unescape(movie.synopsis)
    return f"{synopsis}\n{html.unescape(movie.backlink_label)}: {movie.backlink_url}"


def stock_reference(movie: Movie, local_start: str, features: tuple[str, ...]) -> str:
    """Identifies a showtime: the movie, the local start to the minute, the version (and 3D). A
    LOCAL and a DUBBED listing at the same minute are one showtime to a young person (both VF);
    a 2D and a 3D one are two."""
    return f"{movie.internal_id}:{local_start}:{features_label(features)}"


class _Clock:
    """Local start → (UTC instant, local start to the minute), each computed once per theater:
    its films share a few start times."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._seen: dict[datetime, tuple[datetime, str]] = {}

    def read(self, local: datetime) -> tuple[datetime, str]:
        known = self._seen.get(local)
        if known is None:
            known = self._seen[local] = (to_utc(local, self._zone), local.isoformat("T", "minutes"))
        return known


def _stocks(
    movie: Movie, settings: ImportSettings, clock: _Clock, now: datetime
) -> tuple[list[StockProposal], int]:
    """The movie's kept stocks and how many of its showtimes were skipped."""
    if movie.type == SPECIAL_EVENT:
        return [], len(movie.showtimes)
    stocks: dict[str, StockProposal] = {}
    skipped = 0
    for showtime in movie.showtimes:
        version = FEATURES.get(showtime.diffusion_version)
        starts_at, local_start = clock.read(showtime.starts_at)
        if version is None or not is_classic(showtime) or starts_at <= now:
            skipped += 1
            continue
        kept = features_of(version, CLASSIC_PROJECTIONS[showtime.projection[0]])
        reference = stock_reference(movie, local_start, kept)
        if reference in stocks:  # listed twice
            skipped += 1
            continue
        stocks[reference] = StockProposal(
            reference, starts_at, settings.price_cents, settings.quantity, kept
        )
    return list(stocks.values()), skipped


def _offer(movie: Movie, settings: ImportSettings, stocks: list[StockProposal]) -> OfferProposal:
    return OfferProposal(
        reference=str(movie.internal_id),
        title=html.unescape(movie.title).strip(),
        description=description(movie),
        poster_url=movie.poster_url,
        duration_minutes=runtime_minutes(movie.runtime),
        is_duo=settings.is_duo,
        stocks=tuple(stocks),
    )


def build_programme(
    document: object, settings: ImportSettings, zone: ZoneInfo, now: datetime
) -> Programme:
    """What to import from a parsed feed. Raises FeedError when it is not a showtime list."""
    feed = read_feed(document)
    programme = Programme(rejections=feed.rejections)
    movies: dict[int, Movie] = {}
    for movie in feed.movies:
        if movie.internal_id in movies:  # a movie listed twice: one offer, all its showtimes
            first = movies[movie.internal_id]
            movie = Movie(**{**vars(first), "showtimes": first.showtimes + movie.showtimes})
        movies[movie.internal_id] = movie
    clock = _Clock(zone)
    for movie in movies.values():
        stocks, skipped = _stocks(movie, settings, clock, now)
        programme.showtimes_skipped += skipped
        programme.showtimes_imported += len(stocks)
        if stocks:
            programme.offers.append(_offer(movie, settings, stocks))
    return programme
