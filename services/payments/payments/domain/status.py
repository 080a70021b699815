"""The values of the payments service's status columns."""

from enum import StrEnum


class BankAccountStatus(StrEnum):
    # Checked (IBAN, BIC, holder name) and payable: a put account is accepted at once.
    ACCEPTED = "ACCEPTED"


class LedgerState(StrEnum):
    """A booking's last change as the booking events told it."""

    # Booked (booking.created), not used yet: counted as booked revenue, never paid as it is.
    CONFIRMED = "CONFIRMED"
    # Reimbursable once its showtime has passed, until a batch pays it.
    USED = "USED"
    # Tombstones: a late, older event does not bring the line back (an UNUSED booking is
    # confirmed again, and counted as booked).
    UNUSED = "UNUSED"
    CANCELLED = "CANCELLED"
