"""Rules of an offerer's members and of the invitations that make them."""

import hashlib
import secrets
from datetime import datetime, timedelta

from passculture.catalog.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument

INVITATION_LIFETIME = timedelta(days=7)
# Random bytes of a link token (URL-safe base64: 43 characters).
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """What is stored of a link token: enough to recognise it, not to rebuild it. A token has
    256 random bits: a fast hash is enough (nothing to guess, unlike a password)."""
    return hashlib.sha256(token.encode()).digest()


def check_invited_email(email: str) -> None:
    """`email` normalised (lower-cased, stripped)."""
    if "@" not in email or any(char.isspace() for char in email):
        raise InvalidArgument(Reason.INVALID_EMAIL, "email is not valid")


def check_acceptable(accepted_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    """An invitation works once, within its lifetime."""
    if accepted_at is not None:
        raise FailedPrecondition(Reason.INVITATION_USED, "this invitation was used already")
    if now >= expires_at:
        raise FailedPrecondition(Reason.INVITATION_EXPIRED, "this invitation has expired")


def check_removable(member_count: int) -> None:
    """An offerer keeps at least one member (`member_count` counts the one leaving)."""
    if member_count <= 1:
        raise FailedPrecondition(
            Reason.LAST_MEMBER, "the offerer's last member cannot leave it: invite someone first"
        )
