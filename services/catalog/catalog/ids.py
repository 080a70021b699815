"""Ids read from requests."""

import uuid

from passculture.catalog.v1.reasons import Reason
from pclib.errors import NotFound

NIL_ID = uuid.UUID(int=0)


def parse_id(value: str, not_found_reason: Reason) -> uuid.UUID:
    """An id from a request; a malformed one cannot name anything, so it is 'not found'."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(not_found_reason, f"no such id: {value!r}") from None


def filter_id(value: str) -> uuid.UUID:
    """An id used as a list filter: a malformed one matches nothing (an empty page, not a 404)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return NIL_ID
