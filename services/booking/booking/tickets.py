"""Signed tickets: what a counter can check offline.

A ticket is a compact JWS (RFC 7515, `alg: EdDSA`) signed with the ticket key, a key pair of its
own (not the access tokens'): TICKET_PRIVATE_KEY_FILE signs, TICKET_PUBLIC_KEY_FILE holds the
public keys counters check with (several during a rotation; the JWS header names its key,
`kid`). Its claims: `cm` (countermark), `bid` (booking id), `sid` (stock id), `vid` (venue id),
`st` (showtime start, epoch seconds), `q` (quantity), `iat` (when the booking was made: a
booking's ticket stays the same until its showtime moves). The QR code carries it as
`PASSCULTURE:v4;<JWS>`.
"""

from pathlib import Path

import jwt

from booking.domain.countermark import signed_qr_payload
from booking.models import Booking
from pclib.auth import ALGORITHM, key_id, load_private_key, load_public_keys

REQUIRED_CLAIMS = ["cm", "bid", "sid", "vid", "st", "q", "iat"]


class TicketKeys:
    """The ticket key ring: the signing key and every public key counters accept."""

    def __init__(self, private_pem: bytes, public_pem: bytes) -> None:
        self._signing = load_private_key(private_pem)
        self._kid = key_id(self._signing.public_key())
        self.public_keys = load_public_keys(public_pem)
        if self._kid not in self.public_keys:
            # Counters would refuse every ticket signed from now on.
            raise ValueError("the ticket signing key's public half is not a ticket public key")

    @classmethod
    def from_files(cls, private_path: str, public_path: str) -> "TicketKeys":
        return cls(Path(private_path).read_bytes(), Path(public_path).read_bytes())

    def signed_qr_payload(self, booking: Booking) -> str:
        claims = {
            "cm": booking.countermark,
            "bid": str(booking.id),
            "sid": str(booking.stock_id),
            "vid": str(booking.venue_id),
            "st": int(booking.starts_at.timestamp()),
            "q": booking.quantity,
            "iat": int(booking.booked_at.timestamp()),
        }
        ticket = jwt.encode(claims, self._signing, algorithm=ALGORITHM, headers={"kid": self._kid})
        return signed_qr_payload(ticket)

    def countermark_of(self, ticket: str) -> str | None:
        """The countermark of a ticket signed by one of the ticket keys; None for any other."""
        try:
            kid = jwt.get_unverified_header(ticket).get("kid")
            key = self.public_keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                return None
            claims = jwt.decode(
                ticket, key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
        except jwt.PyJWTError:
            return None
        countermark = claims["cm"]
        return countermark if isinstance(countermark, str) else None
