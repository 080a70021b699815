"""French reference data: the IANA timezone of a place from its postal code (department), and
instants as French readers write them, in a place's timezone.

Shared because every service shows times to people in their local time: venues in the catalog,
young people in booking, pros in the catalog's emails.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

OVERSEAS_TIMEZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/Guadeloupe",
    "978": "America/Guadeloupe",
    "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti",
    "988": "Pacific/Noumea",
}
MAINLAND_TIMEZONE = "Europe/Paris"


def timezone_for_postal_code(postal_code: str) -> str:
    return OVERSEAS_TIMEZONES.get(postal_code.strip()[:3], MAINLAND_TIMEZONE)


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
