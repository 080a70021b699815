"""Countermarks: 6 characters a young person shows at the counter."""

import secrets

# No I, O, 0, 1, 8 or 9: nothing that reads like another character.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ234567"
LENGTH = 6


def new_countermark() -> str:
    """Drawn with a CSPRNG; uniqueness is the database's unique index (callers retry)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(typed: str) -> str | None:
    """The countermark as stored, from what a pro typed (any case); None if it cannot be one."""
    value = typed.strip().upper()
    if len(value) != LENGTH or any(char not in ALPHABET for char in value):
        return None
    return value


def qr_payload(countermark: str) -> str:
    return f"PASSCULTURE:v3;TOKEN:{countermark}"
