"""Opaque page tokens (AIP-158) over an offset, and page size bounds."""

import base64
import binascii

from passculture.common.v1.reasons import Reason
from pclib.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument(Reason.INVALID_PAGE_SIZE, "page_size must be positive")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(Reason.INVALID_PAGE_TOKEN, "page_token is not valid") from None
    if kind != "o" or offset < 0:
        raise InvalidArgument(Reason.INVALID_PAGE_TOKEN, "page_token is not valid")
    return offset


def next_token(offset: int, size: int, fetched: int) -> str:
    """The next page's token when one more row than the page was fetched, else empty."""
    return encode_token(offset + size) if fetched > size else ""
