"""Reading Allociné's movieShowtimeList: the JSON document → validated movies.

Only what the import uses is checked (a null `cast` or `releases` never matters). A movie that
lacks a required key or has a wrong type is rejected alone, with the reason; a document
without the list itself is a failed feed.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

Kind = TypeVar("Kind")


class FeedError(Exception):
    """The document is not a movieShowtimeList: the whole theater's sync fails."""


class MalformedMovie(Exception):
    """One movie cannot be read: it is dropped and reported, the others are imported."""


@dataclass(frozen=True)
class Showtime:
    starts_at: datetime  # naive: the theater's wall clock
    diffusion_version: str
    projection: tuple[str, ...]
    # Empty when the feed says null, "" or [].
    experience: tuple[str, ...]


@dataclass(frozen=True)
class Movie:
    internal_id: int
    title: str
    type: str
    synopsis: str
    backlink_url: str
    backlink_label: str
    runtime: object  # ISO-8601 text when given; anything else means unknown
    poster_url: str
    showtimes: tuple[Showtime, ...]


@dataclass(frozen=True)
class Rejection:
    movie: str  # the internal id when readable, else the position ("#3")
    reason: str
    showtimes: int  # how many showtimes the movie listed


@dataclass(frozen=True)
class Feed:
    movies: list[Movie]
    rejections: list[Rejection]


def _field(data: dict[str, object], key: str, kind: type[Kind], where: str) -> Kind:
    if key not in data:
        raise MalformedMovie(f"{where}: missing {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedMovie(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _text(data: dict[str, object], key: str, where: str, *, required: bool = True) -> str:
    value = _field(data, key, str, where)
    if required and not value.strip():
        raise MalformedMovie(f"{where}: {key!r} is empty")
    return value


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedMovie(f"showtime: {what!r} must be a list of strings")
    return tuple(value)


def _experience(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return _strings(value, "experience")


def _starts_at(value: object, parsed: dict[str, datetime]) -> datetime:
    """A naive local date-time; `parsed` remembers the texts already read (a theater repeats
    the same few start times for every film)."""
    if not isinstance(value, str):
        raise MalformedMovie("showtime: 'startsAt' must be a string")
    starts_at = parsed.get(value)
    if starts_at is not None:
        return starts_at
    try:
        starts_at = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedMovie(f"showtime: 'startsAt' {value[:40]!r} is not a date-time") from None
    if starts_at.tzinfo is not None:
        raise MalformedMovie(f"showtime: 'startsAt' {value[:40]!r} must be local (no offset)")
    parsed[value] = starts_at
    return starts_at


def _showtime(data: object, parsed: dict[str, datetime]) -> Showtime:
    if not isinstance(data, dict):
        raise MalformedMovie("a showtime is not an object")
    return Showtime(
        starts_at=_starts_at(data.get("startsAt"), parsed),
        diffusion_version=_field(data, "diffusionVersion", str, "showtime"),
        projection=_strings(data.get("projection"), "projection"),
        experience=_experience(data.get("experience")),
    )


def _poster_url(movie: dict[str, object]) -> str:
    poster = movie.get("poster")
    if poster is None:
        return ""
    url = poster.get("url") if isinstance(poster, dict) else None
    if not isinstance(url, str):
        raise MalformedMovie("movie: 'poster' must be null or have a 'url' string")
    return url


def _movie(node: dict[str, object], parsed: dict[str, datetime]) -> Movie:
    movie = _field(node, "movie", dict, "node")
    showtimes = _field(node, "showtimes", list, "node")
    backlink = _field(movie, "backlink", dict, "movie")
    return Movie(
        internal_id=_field(movie, "internalId", int, "movie"),
        title=_text(movie, "title", "movie"),
        type=_text(movie, "type", "movie"),
        synopsis=_text(movie, "synopsis", "movie", required=False),
        backlink_url=_text(backlink, "url", "backlink"),
        backlink_label=_text(backlink, "label", "backlink"),
        runtime=movie.get("runtime"),
        poster_url=_poster_url(movie),
        showtimes=tuple(_showtime(showtime, parsed) for showtime in showtimes),
    )


def _dig(value: object, *keys: str) -> object:
    """value[key][key]…, or None when a step is not an object with that key."""
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _label(edge: object, position: int) -> str:
    """How to name a movie in a report, even a broken one."""
    internal_id = _dig(edge, "node", "movie", "internalId")
    if isinstance(internal_id, int | str) and str(internal_id).strip():
        return str(internal_id)[:40]
    return f"#{position}"


def _listed_showtimes(edge: object) -> int:
    showtimes = _dig(edge, "node", "showtimes")
    return len(showtimes) if isinstance(showtimes, list) else 0


def _edges(document: object) -> list[object]:
    listing = document.get("movieShowtimeList") if isinstance(document, dict) else None
    if not isinstance(listing, dict):
        raise FeedError("the feed has no movieShowtimeList object")
    edges = listing.get("edges")
    if not isinstance(edges, list):
        raise FeedError("movieShowtimeList.edges is not a list")
    return edges


def read_feed(document: object) -> Feed:
    """The movies of a parsed JSON document, and the ones rejected with their reasons."""
    movies: list[Movie] = []
    rejections: list[Rejection] = []
    parsed: dict[str, datetime] = {}
    for position, edge in enumerate(_edges(document), start=1):
        try:
            if not isinstance(edge, dict) or not isinstance(edge.get("node"), dict):
                raise MalformedMovie("an edge has no 'node' object")
            movies.append(_movie(edge["node"], parsed))
        except MalformedMovie as error:
            label = _label(edge, position)
            rejections.append(Rejection(label, str(error), _listed_showtimes(edge)))
    return Feed(movies, rejections)
