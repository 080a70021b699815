"""Rules of an offerer's revenue figures (pure)."""

from dataclasses import dataclass

from passculture.payments.v1.reasons import Reason
from pclib.errors import InvalidArgument

FIRST_YEAR, LAST_YEAR = 2000, 9998


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidArgument(
            Reason.INVALID_YEAR, f"year must be between {FIRST_YEAR} and {LAST_YEAR}"
        )


@dataclass
class Figures:
    """A venue's (or the offerer's) figures of a year, in cents."""

    booked: int = 0
    validated: int = 0
    reimbursed: int = 0
    to_be_paid: int = 0

    def add(self, other: "Figures") -> None:
        self.booked += other.booked
        self.validated += other.validated
        self.reimbursed += other.reimbursed
        self.to_be_paid += other.to_be_paid
