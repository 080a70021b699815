"""How the emails say dates, hours, prices and places, in French, in the venue's timezone."""

from datetime import datetime
from zoneinfo import ZoneInfo

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def local_date(moment: datetime, timezone: str) -> str:
    """E.g. "samedi 13 mars 2027"."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"


def local_hour(moment: datetime, timezone: str) -> str:
    """E.g. "20h30"."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.hour}h{local.minute:02d}"


def local_moment(moment: datetime, timezone: str) -> str:
    """E.g. "samedi 13 mars 2027 à 20h30"."""
    return f"{local_date(moment, timezone)} à {local_hour(moment, timezone)}"


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
