"""Theater ids, runtimes and settings rules."""

import pytest

from importer.domain.durations import runtime_minutes
from importer.domain.settings_rules import check_price, check_quantity
from importer.domain.theater_ids import internal_id, relay_id
from pclib.errors import InvalidArgument


def test_theater_ids_are_accepted_short_or_as_relay_ids():
    assert relay_id("P0591") == "VGhlYXRlcjpQMDU5MQ=="
    assert internal_id("P0591") == "P0591"
    assert internal_id(" p0591 ") == "P0591"
    assert internal_id("VGhlYXRlcjpQMDU5MQ==") == "P0591"
    assert internal_id("VGhlYXRlcjpQMDU5MQ") == "P0591"  # padding left out


@pytest.mark.parametrize(
    "value",
    ["", "Cinéma", "P059", "P05911", "0591P", "TW92aWU6MzEwMDAx", "VGhlYXRlcjo=", "Theater:P0591"],
)
def test_anything_else_is_not_a_theater_id(value):
    with pytest.raises(InvalidArgument) as error:
        internal_id(value)
    assert error.value.reason == "INVALID_THEATER_ID"


@pytest.mark.parametrize(
    ("runtime", "minutes"),
    [
        ("PT1H55M0S", 115),
        ("PT1H42M0S", 102),
        ("PT2H", 120),
        ("PT95M", 95),
        ("PT1H30M59S", 90),
        ("PT0H0M0S", None),
        ("PT", None),
        ("PT25H", None),
        ("1h55", None),
        ("P1DT2H", None),
        ("PT1H55M0S ", None),
        (115, None),
        (None, None),
    ],
)
def test_runtimes(runtime, minutes):
    assert runtime_minutes(runtime) == minutes


@pytest.mark.parametrize("price", [0, -1, 30001])
def test_a_price_must_be_positive_and_at_most_300_euros(price):
    with pytest.raises(InvalidArgument) as error:
        check_price(price)
    assert error.value.reason == "INVALID_PRICE"


def test_quantities():
    check_price(1)
    check_price(30000)
    check_quantity(None)
    check_quantity(0)
    for quantity in (-1, 1_000_001):
        with pytest.raises(InvalidArgument):
            check_quantity(quantity)
