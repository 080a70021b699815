import pytest

from catalog.domain.accounts import check_sign_up, normalised_email
from pclib.errors import InvalidArgument
from tests.support.catalog_helpers import new_siren


def sign_up(**overrides):
    fields = {
        "email": "paula@cinema.test",
        "password": "12345678",
        "first_name": "Paula",
        "last_name": "Pro",
        "offerer_name": "Cinéma du Centre",
        "offerer_siren": new_siren(),
    }
    check_sign_up(**(fields | overrides))


def test_a_complete_sign_up_passes():
    sign_up()


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"email": "paula.cinema.test"}, "INVALID_EMAIL"),
        ({"password": "1234567"}, "PASSWORD_TOO_SHORT"),
        ({"first_name": " "}, "INVALID_FIRST_NAME"),
        ({"last_name": ""}, "INVALID_LAST_NAME"),
        ({"offerer_name": "\t"}, "INVALID_OFFERER_NAME"),
        ({"offerer_siren": "123456789"}, "INVALID_SIREN"),
    ],
)
def test_invalid_sign_ups(overrides, reason):
    with pytest.raises(InvalidArgument) as failure:
        sign_up(**overrides)
    assert failure.value.reason == reason


def test_emails_are_lower_cased_and_trimmed():
    assert normalised_email("  Paula@Cinema.TEST ") == "paula@cinema.test"
