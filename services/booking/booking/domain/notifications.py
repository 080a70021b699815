"""Rules of the booking notifications a venue receives at its URL: what is signed and how, which
destinations are refused (SSRF), and when a failed delivery is tried again.

The signature header is Stripe's scheme: `X-PassCulture-Signature: t=<unix time>,v1=<hex>`,
where `<hex>` is HMAC-SHA256 of `"<t>." + raw body` with the venue's signing secret. The time
is signed too, so that a receiver refuses an old message replayed (`verify`'s tolerance).
"""

import hashlib
import hmac
import ipaddress
from datetime import timedelta
from urllib.parse import urlsplit

from passculture.booking.v1.reasons import Reason
from pclib.errors import InvalidArgument

SIGNATURE_HEADER = "X-PassCulture-Signature"
SIGNATURE_VERSION = "v1"
# A receiver refuses a message signed longer ago than this.
REPLAY_TOLERANCE_SECONDS = 300
MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for this body sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = REPLAY_TOLERANCE_SECONDS
) -> bool:
    """The receiver's check: signed with this secret, over this very body, recently."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("=", 1)[1]
    return hmac.compare_digest(expected, parts.get(SIGNATURE_VERSION, ""))


def check_url(url: str, *, allow_http: bool) -> str:
    """The URL's host, if the URL may be a destination at all (its addresses are checked when
    sending, `is_public`)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if len(url) > MAX_URL_LENGTH or parts.scheme not in schemes or not parts.hostname:
        raise InvalidArgument(
            Reason.INVALID_NOTIFICATION_URL,
            f"the URL must be an absolute {' or '.join(schemes)} URL with a host",
        )
    if parts.username or parts.password:
        raise InvalidArgument(Reason.INVALID_NOTIFICATION_URL, "no credentials in the URL")
    return parts.hostname


def is_public(address: IPAddress) -> bool:
    """An address on the Internet: not private, loopback, link-local (cloud metadata),
    multicast, reserved or unspecified, also when an IPv6 address maps an IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def retry_delay(attempts: int, first: timedelta, cap: timedelta) -> timedelta:
    """The wait after `attempts` failed deliveries: doubling from `first`, at most `cap`."""
    doubled: timedelta = first * 2 ** min(attempts - 1, 30)
    return min(cap, doubled)


def gives_up(first_attempt_age: timedelta, window: timedelta) -> bool:
    """A delivery failing for longer than the window is dead-lettered."""
    return first_attempt_age >= window
