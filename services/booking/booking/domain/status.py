"""The values of a booking's status columns."""

from enum import StrEnum


class BookingStatus(StrEnum):
    # Counts against the credit while the seats are being reserved (saga step 1).
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    USED = "USED"
    REIMBURSED = "REIMBURSED"
    CANCELLED = "CANCELLED"
    # The seats were refused, or never reserved in time: counts against nothing.
    FAILED = "FAILED"


# Statuses that hold a place and count against the credit.
ACTIVE_STATUSES = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.USED,
    BookingStatus.REIMBURSED,
)


class CancellationReason(StrEnum):
    BENEFICIARY = "BENEFICIARY"
    OFFERER = "OFFERER"


class ValidationAuthor(StrEnum):
    # At the counter.
    OFFERER = "OFFERER"
    # Automatically, 48 hours after the showtime.
    AUTO = "AUTO"


class NotificationAction(StrEnum):
    BOOK = "BOOK"
    CANCEL = "CANCEL"


class DeliveryStatus(StrEnum):
    #: Waiting for its first or next attempt (`next_attempt_at`).
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    #: Failed for the whole retry window (24 h): given up, kept in the log.
    DEAD_LETTERED = "DEAD_LETTERED"
