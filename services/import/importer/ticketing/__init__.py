"""What the import service needs of a ticketing system, whichever it is: its showtimes with
their pass Culture tariffs, booking tickets, cancelling them. One adapter module per system
(cds, boost), chosen by ticketing.registry."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from pydantic import SecretStr

from importer.domain.ticketing_programme import Showtime, Tariff

__all__ = ["Showtime", "Tariff"]


@dataclass(frozen=True)
class Account:
    cinema_id: str
    account_id: str
    secret: SecretStr


@dataclass(frozen=True)
class Ticket:
    barcode: str
    seat: str | None


class TicketingError(Exception):
    """The system did not do what was asked."""


class SystemUnavailable(TicketingError):
    """Timeout, connection refused, 5xx: what was asked may or may not have happened."""


class SoldOut(TicketingError):
    """Not enough seats left in the system for this showtime."""


class Refused(TicketingError):
    """The system refused the request (4xx, unexpected answer): retrying will not help."""


class TicketingClient(Protocol):
    async def showtimes(self, start: date, days: int) -> list[Showtime]:
        """The cinema's showtimes from `start` for `days`, only those with a pass Culture tariff."""

    async def book(self, showtime_ref: str, tariff_ref: str, quantity: int) -> list[Ticket]:
        """Books `quantity` seats at the pass Culture tariff; one ticket per seat."""

    async def cancel(self, barcodes: Sequence[str]) -> None:
        """Cancels the tickets; already cancelled ones are not an error."""
