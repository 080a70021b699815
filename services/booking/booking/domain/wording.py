"""How the emails say dates, hours, prices and places, in French, in the venue's timezone."""

# The instants' wording is shared with the catalog's emails.
from pclib.france import local_date, local_hour, local_moment

__all__ = [
    "euros",
    "local_date",
    "local_hour",
    "local_moment",
    "one_line",
    "places",
    "postal_address",
]


def euros(cents: int) -> str:
    """E.g. "7,50 €" (integer cents, never a float)."""
    return f"{cents // 100},{cents % 100:02d} €"


def places(quantity: int) -> str:
    return f"{quantity} place{'s' if quantity > 1 else ''}"


def one_line(text: str) -> str:
    """Header values are one line (a title with a line break would make the email invalid)."""
    return " ".join(text.split())


def postal_address(street: str, postal_code: str, city: str) -> str:
    """E.g. "1 rue du Port, 97400 Saint-Denis"; the parts the venue has."""
    town = " ".join(part for part in (postal_code.strip(), city.strip()) if part)
    return ", ".join(part for part in (one_line(street), town) if part)
