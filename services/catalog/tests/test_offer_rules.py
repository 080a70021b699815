import pytest

from catalog.domain.offers import MAX_DURATION_MINUTES, check_offer
from pclib.errors import InvalidArgument


@pytest.mark.parametrize("duration", [None, 1, MAX_DURATION_MINUTES])
def test_valid_offers(duration):
    check_offer("La Dernière Séance", duration)


@pytest.mark.parametrize(
    ("title", "duration", "reason"),
    [
        (" ", 90, "INVALID_TITLE"),
        ("Film", 0, "INVALID_DURATION"),
        ("Film", MAX_DURATION_MINUTES + 1, "INVALID_DURATION"),
    ],
)
def test_invalid_offers(title, duration, reason):
    with pytest.raises(InvalidArgument) as failure:
        check_offer(title, duration)
    assert failure.value.reason == reason
