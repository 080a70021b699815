import uuid

import pytest

from catalog.domain import reservations as rules
from catalog.domain.status import ReservationStatus
from pclib.errors import FailedPrecondition, InvalidArgument

STOCK = uuid.uuid4()


@pytest.mark.parametrize("quantity", [0, 3, -1])
def test_one_or_two_seats(quantity):
    rules.check_quantity(1)
    rules.check_quantity(2)
    with pytest.raises(InvalidArgument):
        rules.check_quantity(quantity)


def test_a_retry_answers_only_what_the_id_holds():
    rules.check_retry(ReservationStatus.RESERVED, STOCK, 2, STOCK, 2)
    for held_stock, held_quantity in ((uuid.uuid4(), 2), (STOCK, 1)):
        with pytest.raises(FailedPrecondition) as failure:
            rules.check_retry(ReservationStatus.RESERVED, held_stock, held_quantity, STOCK, 2)
        assert failure.value.reason == "RESERVATION_MISMATCH"


def test_a_released_id_never_reserves_again():
    with pytest.raises(FailedPrecondition) as failure:
        rules.check_retry(ReservationStatus.RELEASED, None, 0, STOCK, 1)
    assert failure.value.reason == "RESERVATION_RELEASED"


@pytest.mark.parametrize(
    ("quantity", "is_duo", "bookable", "reason"),
    [
        (2, False, True, "INVALID_QUANTITY"),
        (2, False, False, "INVALID_QUANTITY"),
        (1, False, False, "NOT_BOOKABLE"),
        (2, True, True, "SOLD_OUT"),
    ],
)
def test_why_a_stock_refused(quantity, is_duo, bookable, reason):
    refusal = rules.refusal(
        quantity=quantity, is_duo=is_duo, bookable_if_seats=bookable, remaining=1
    )
    assert refusal.reason == reason


def test_sold_out_says_how_many_seats_are_left():
    refusal = rules.refusal(quantity=2, is_duo=True, bookable_if_seats=True, remaining=1)
    assert refusal.metadata == {"remaining_quantity": "1"}
