"""Rules of a venue's link to its ticketing system."""

import re
from datetime import timedelta
from enum import StrEnum

from passculture.importer.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument

ACCOUNT_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_SECRET_LENGTH = 512


class TicketingSystem(StrEnum):
    CDS = "CDS"
    BOOST = "BOOST"


class ExternalBookingStatus(StrEnum):
    # Recorded before the system is called, until its answer is recorded.
    BOOKING = "BOOKING"
    BOOKED = "BOOKED"
    # The system refused (sold out, …): nothing was issued.
    FAILED = "FAILED"
    # The system failed or did not answer: tickets may exist there, but we have no barcode.
    UNCERTAIN = "UNCERTAIN"
    CANCELLED = "CANCELLED"


# A BOOKING row this old lost its call (the process died during it): its outcome is uncertain.
# Far above a booking's calls (Boost: login, showtime, sale, a second login and retry), each
# bounded by TICKETING_TIMEOUT_SECONDS.
BOOKING_ABANDONED_AFTER = timedelta(minutes=5)


def check_account(cinema_id: str, account_id: str) -> None:
    for value in (cinema_id, account_id):
        if not ACCOUNT_PATTERN.fullmatch(value):
            raise InvalidArgument(
                Reason.INVALID_TICKETING_ACCOUNT,
                "cinema_id and account_id are 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'",
            )


def check_secret(secret: str) -> None:
    if not 0 < len(secret) <= MAX_SECRET_LENGTH:
        raise InvalidArgument(
            Reason.INVALID_TICKETING_SECRET,
            f"the secret is 1 to {MAX_SECRET_LENGTH} characters",
        )


def check_not_importing_from_allocine(allocine_enabled: bool) -> None:
    """A venue's showtimes come from one source: Allociné or its ticketing system."""
    if allocine_enabled:
        raise FailedPrecondition(
            Reason.VENUE_IMPORTS_FROM_ALLOCINE,
            "this venue imports its showtimes from Allociné: disable that import first",
        )


def check_not_linked_to_ticketing(linked: bool) -> None:
    if linked:
        raise FailedPrecondition(
            Reason.VENUE_LINKED_TO_TICKETING,
            "this venue's showtimes come from its ticketing system: unlink it first",
        )
