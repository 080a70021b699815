"""Rules of an offer (a film), by hand or imported."""

from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument

MAX_DURATION_MINUTES = 1440


def check_offer(title: str, duration_minutes: int | None) -> None:
    if not title.strip():
        raise InvalidArgument(Reason.INVALID_TITLE, "title is required")
    if duration_minutes is not None and not 0 < duration_minutes <= MAX_DURATION_MINUTES:
        raise InvalidArgument(Reason.INVALID_DURATION, "duration_minutes must be 1 to 1440")
