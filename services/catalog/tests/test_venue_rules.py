import pytest

from catalog.domain import geo
from catalog.domain.venues import check_siret, check_timezone, check_venue
from pclib.errors import InvalidArgument
from tests.support.catalog_helpers import new_siren, siret_of


def venue(**overrides):
    fields = {
        "name": "Le Grand Rex",
        "postal_code": "75002",
        "latitude": 48.87,
        "longitude": 2.35,
        "booking_email": "resa@cinema.test",
    }
    check_venue(**(fields | overrides))


def reason_of(call, *args, **kwargs):
    with pytest.raises(InvalidArgument) as failure:
        call(*args, **kwargs)
    return failure.value.reason


def test_a_complete_venue_passes():
    venue()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"latitude": 90.1}, "INVALID_COORDINATES"),
        ({"longitude": -180.1}, "INVALID_COORDINATES"),
        ({"postal_code": "7500"}, "INVALID_POSTAL_CODE"),
        ({"postal_code": "7500A"}, "INVALID_POSTAL_CODE"),
        # Digits of another script are digits to str.isdigit(), not to the OpenAPI's [0-9].
        ({"postal_code": "\u0667\u0665\u0660\u0660\u0665"}, "INVALID_POSTAL_CODE"),
        ({"name": "  "}, "INVALID_NAME"),
        ({"booking_email": "resa"}, "INVALID_BOOKING_EMAIL"),
    ],
)
def test_invalid_venues(overrides, reason):
    assert reason_of(venue, **overrides) == reason


def test_a_siret_is_valid_and_of_the_offerer():
    siren = new_siren()
    check_siret(siret_of(siren), siren)
    assert reason_of(check_siret, siret_of(siren)[:-1] + "x", siren) == "INVALID_SIRET"
    assert reason_of(check_siret, siret_of(new_siren()), siren) == "SIRET_NOT_IN_OFFERER"


def test_timezones_are_iana_names():
    assert check_timezone("America/Cayenne") == "America/Cayenne"
    assert reason_of(check_timezone, "Europe/Atlantis") == "INVALID_TIMEZONE"
    assert reason_of(check_timezone, "../etc") == "INVALID_TIMEZONE"


def test_a_search_radius_defaults_and_is_bounded():
    assert geo.search_radius_km(0) == geo.DEFAULT_RADIUS_KM
    assert geo.search_radius_km(geo.MAX_RADIUS_KM) == geo.MAX_RADIUS_KM
    assert reason_of(geo.search_radius_km, geo.MAX_RADIUS_KM + 1) == "INVALID_RADIUS"
    assert reason_of(geo.search_radius_km, -1) == "INVALID_RADIUS"
