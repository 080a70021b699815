"""Rules of provider API keys: what a key looks like and how it is stored (hashed)."""

import hashlib
import secrets

from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument

KEY_PREFIX = "pk_"
# 32 random bytes: a key cannot be guessed, so a plain SHA-256 is a safe digest to store.
KEY_BYTES = 32
SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 8
MAX_NAME_LENGTH = 100


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def shown_prefix(key: str) -> str:
    return key[:SHOWN_PREFIX_LENGTH]


def looks_like_key(key: str) -> bool:
    return key.startswith(KEY_PREFIX) and len(key) > SHOWN_PREFIX_LENGTH


def checked_name(name: str) -> str:
    """The name, stripped: refused blank, or longer than 100 characters as sent."""
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            Reason.INVALID_API_KEY_NAME, f"name: 1 to {MAX_NAME_LENGTH} characters"
        )
    return name.strip()
