import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.domain.identifiers import (
    is_valid_siren,
    is_valid_siret,
    siret_belongs_to,
)
from pclib.france import timezone_for_postal_code
from tests.support.catalog_helpers import luhn_complete, siret_of


@pytest.mark.parametrize("siren", ["443061841", "552100554", "732829320", "356000000"])
def test_valid_sirens(siren):
    assert is_valid_siren(siren)


@pytest.mark.parametrize(
    "siren",
    [
        "443061842",
        "123456789",
        "44306184",
        "4430618410",
        "44306184a",
        "",
        "\uff14\uff14\uff13\uff10\uff16\uff11\uff18\uff14\uff11",
    ],
)
def test_invalid_sirens(siren):
    assert not is_valid_siren(siren)


def test_siret_luhn():
    assert is_valid_siret("44306184100047")
    assert not is_valid_siret("44306184100048")
    assert not is_valid_siret("4430618410004")
    assert not is_valid_siret("4430618410004x")


def test_la_poste_sirets_follow_the_digit_sum_rule_not_luhn():
    # Digit sum 50 (divisible by 5) but Luhn-invalid: valid for La Poste.
    assert is_valid_siret("35600000049837")
    # Luhn-valid but digit sum 26: invalid for La Poste.
    assert not is_valid_siret("35600000000048")


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_one_changed_digit_breaks_a_siren(prefix):
    siren = luhn_complete(prefix)
    assert is_valid_siren(siren)
    last = str((int(siren[-1]) + 1) % 10)
    assert not is_valid_siren(siren[:-1] + last)


def test_siret_must_start_with_the_siren():
    assert siret_belongs_to(siret_of("443061841"), "443061841")
    assert not siret_belongs_to(siret_of("552100554"), "443061841")


@pytest.mark.parametrize(
    ("postal_code", "timezone"),
    [
        ("75001", "Europe/Paris"),
        ("20000", "Europe/Paris"),  # Corsica
        ("97110", "America/Guadeloupe"),
        ("97133", "America/Guadeloupe"),  # Saint-Barthélemy
        ("97150", "America/Guadeloupe"),  # Saint-Martin
        ("97200", "America/Martinique"),
        ("97300", "America/Cayenne"),
        ("97400", "Indian/Reunion"),
        ("97500", "America/Miquelon"),
        ("97600", "Indian/Mayotte"),
        ("97700", "America/Guadeloupe"),
        ("97800", "America/Guadeloupe"),
        ("98600", "Pacific/Wallis"),
        ("98700", "Pacific/Tahiti"),
        ("98800", "Pacific/Noumea"),
    ],
)
def test_timezone_from_postal_code(postal_code, timezone):
    assert timezone_for_postal_code(postal_code) == timezone
