from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class JwkOut(BaseModel):
    """An Ed25519 public key (RFC 8037)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    alg: Literal["EdDSA"]
    use: Literal["sig"]
    kid: str = Field(description="The `kid` in the header of the tickets it signed")
    x: str = Field(description="The public key, base64url without padding")


class JwksOut(BaseModel):
    """The ticket verification keys (RFC 7517): several during a rotation."""

    keys: list[JwkOut]


class RevokedTicketsOut(BaseModel):
    revoked_booking_ids: list[str] = Field(
        description="Bookings of the venue's showtimes of today and later cancelled, used or"
        " reimbursed since `since` (without it: all of them): refuse their tickets"
    )
    restored_booking_ids: list[str] = Field(
        description="Changed since `since` and valid again (a validation undone): no longer revoked"
    )
    next_since: datetime = Field(description="The `since` of the next call")
