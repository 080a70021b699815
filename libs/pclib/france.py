"""French reference data: the IANA timezone of a place from its postal code (department).

Shared because every service shows times to people in their local time: venues in the catalog,
young people in booking.
"""

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
