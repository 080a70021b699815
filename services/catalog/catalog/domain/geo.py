"""Rules of places on Earth: coordinates, and the radius of a search around a point."""

from passculture.catalog.v1.reasons import Reason
from pclib.errors import InvalidArgument

DEFAULT_RADIUS_KM = 50.0
MAX_RADIUS_KM = 500.0


def check_coordinates(latitude: float, longitude: float) -> None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidArgument(Reason.INVALID_COORDINATES, "latitude or longitude out of range")


def search_radius_km(requested: float) -> float:
    """The radius of a search: the default when unset (0)."""
    if requested == 0:
        return DEFAULT_RADIUS_KM
    if not 0 < requested <= MAX_RADIUS_KM:
        raise InvalidArgument(
            Reason.INVALID_RADIUS, f"radius_km must be between 0 and {MAX_RADIUS_KM}"
        )
    return requested
