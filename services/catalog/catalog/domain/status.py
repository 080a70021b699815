"""The values of the catalog's status-like columns."""

from enum import StrEnum


class OffererStatus(StrEnum):
    # Signed up: its venues and offers exist, but nothing of it can be found nor booked.
    PENDING = "PENDING"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"


class ReservationStatus(StrEnum):
    # The stock's booked quantity counts these seats.
    RESERVED = "RESERVED"
    # A tombstone: the seats went back (if any were held) and this id never reserves again.
    RELEASED = "RELEASED"


class OfferSource(StrEnum):
    """Where an offer comes from: a pro's hand, or a provider's import."""

    MANUAL = "MANUAL"
    ALLOCINE = "ALLOCINE"
    TICKETING = "TICKETING"
