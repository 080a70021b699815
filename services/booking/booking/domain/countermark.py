"""Countermarks: 6 characters a young person shows at the counter, and the QR payloads that
carry them: `PASSCULTURE:v3;TOKEN:<countermark>`, and the signed ticket
`PASSCULTURE:v4;<compact JWS>` (booking.tickets)."""

import secrets
from collections.abc import Sequence

# No I, O, 0, 1, 8 or 9: nothing that reads like another character.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ234567"
LENGTH = 6
V3_PREFIX = "PASSCULTURE:v3;TOKEN:"
V4_PREFIX = "PASSCULTURE:v4;"
MAX_BARCODE_LENGTH = 64


def new_countermark() -> str:
    """Drawn with a CSPRNG; uniqueness is the database's unique index (callers retry)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(typed: str) -> str | None:
    """The countermark as stored, from what a pro typed (any case, spaces ignored) or a v3 QR
    payload; None if it cannot be one."""
    text = typed.strip()
    if text.upper().startswith(V3_PREFIX.upper()):
        text = text[len(V3_PREFIX) :]
    value = "".join(text.split()).upper()
    if len(value) != LENGTH or any(char not in ALPHABET for char in value):
        return None
    return value


def qr_payload(countermark: str) -> str:
    return f"{V3_PREFIX}{countermark}"


def booking_qr_payload(countermark: str, barcodes: Sequence[str]) -> str:
    """What a booking's QR code encodes: the first barcode of the tickets its venue's ticketing
    system issued (the cinema's own scanners read it), else the v3 payload."""
    return barcodes[0] if barcodes else qr_payload(countermark)


def barcode(typed: str) -> str | None:
    """A ticketing system's barcode as a pro typed or scanned it; None if it cannot be one."""
    text = typed.strip()
    if not 4 <= len(text) <= MAX_BARCODE_LENGTH or not text.isprintable() or " " in text:
        return None
    return text


def signed_qr_payload(ticket: str) -> str:
    """The v4 payload of a signed ticket (a compact JWS)."""
    return f"{V4_PREFIX}{ticket}"


def signed_ticket(typed: str) -> str | None:
    """The compact JWS of a v4 payload; None for anything else."""
    text = typed.strip()
    return text[len(V4_PREFIX) :] if text.startswith(V4_PREFIX) else None
