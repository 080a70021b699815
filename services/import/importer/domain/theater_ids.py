"""Allociné theater ids: the short internal id pros know ("P0591") and the Relay id the API
takes (base64 of "Theater:P0591")."""

import base64
import re

from passculture.importer.v1.reasons import Reason
from pclib.errors import InvalidArgument

# A letter then four letters or digits, e.g. P0591, C0159, W7504.
INTERNAL_ID = re.compile(r"[A-Z][A-Z0-9]{4}")
RELAY_PREFIX = "Theater:"


def relay_id(internal_id: str) -> str:
    return base64.b64encode(f"{RELAY_PREFIX}{internal_id}".encode()).decode()


def _from_relay(value: str) -> str | None:
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode()
    except ValueError:  # binascii.Error, non-ASCII text, UnicodeDecodeError
        return None
    return decoded.removeprefix(RELAY_PREFIX) if decoded.startswith(RELAY_PREFIX) else None


def internal_id(value: str) -> str:
    """The internal id of a theater given as an internal id (any case) or a Relay id."""
    candidate = value.strip()
    if INTERNAL_ID.fullmatch(candidate.upper()):
        return candidate.upper()
    decoded = _from_relay(candidate)
    if decoded is not None and INTERNAL_ID.fullmatch(decoded):
        return decoded
    raise InvalidArgument(
        Reason.INVALID_THEATER_ID,
        "theater_id must be an Allociné theater id such as P0591, or its Relay id",
    )
