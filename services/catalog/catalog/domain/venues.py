"""Rules of a venue's fields: its SIRET, its place and its timezone."""

import zoneinfo

from catalog.domain.geo import check_coordinates
from catalog.domain.identifiers import is_valid_siret, siret_belongs_to
from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument


def check_siret(siret: str, offerer_siren: str) -> None:
    if not is_valid_siret(siret):
        raise InvalidArgument(Reason.INVALID_SIRET, "SIRET must be 14 digits with a valid checksum")
    if not siret_belongs_to(siret, offerer_siren):
        raise InvalidArgument(
            Reason.SIRET_NOT_IN_OFFERER, "the SIRET must start with the offerer's SIREN"
        )


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(Reason.INVALID_TIMEZONE, f"unknown timezone {name!r}") from None
    return name


def check_venue(
    *, name: str, postal_code: str, latitude: float, longitude: float, booking_email: str
) -> None:
    """Refuses a venue (new or edited) whose fields are missing or malformed."""
    check_coordinates(latitude, longitude)
    if not (len(postal_code) == 5 and postal_code.isascii() and postal_code.isdigit()):
        raise InvalidArgument(Reason.INVALID_POSTAL_CODE, "postal_code must be 5 digits")
    if not name.strip():
        raise InvalidArgument(Reason.INVALID_NAME, "name is required")
    if "@" not in booking_email:
        raise InvalidArgument(Reason.INVALID_BOOKING_EMAIL, "booking_email is not an email address")
