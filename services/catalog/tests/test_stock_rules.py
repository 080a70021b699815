from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain import stocks as rules
from pclib.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=5)


def existing(**overrides) -> rules.StockValues:
    values = {"starts_at": LATER, "price_cents": 800, "quantity": 100, "booking_limit_at": LATER}
    return rules.StockValues(**(values | overrides))


def reason(excinfo) -> str:
    return excinfo.value.reason


def test_a_new_stock_books_until_it_starts_by_default():
    stock = rules.new_stock(LATER, 800, None, None, NOW)
    assert stock.booking_limit_at == LATER
    assert stock.quantity is None


@pytest.mark.parametrize(
    ("starts_at", "price", "quantity", "limit", "expected"),
    [
        (NOW, 800, None, None, "STARTS_AT_IN_PAST"),
        (NOW - timedelta(minutes=1), 800, None, None, "STARTS_AT_IN_PAST"),
        (LATER, -1, None, None, "INVALID_PRICE"),
        (LATER, 30_001, None, None, "INVALID_PRICE"),
        (LATER, 800, -1, None, "INVALID_QUANTITY"),
        (LATER, 800, 1_000_001, None, "INVALID_QUANTITY"),
        (LATER, 800, None, LATER + timedelta(seconds=1), "INVALID_BOOKING_LIMIT"),
    ],
)
def test_invalid_new_stocks(starts_at, price, quantity, limit, expected):
    with pytest.raises(InvalidArgument) as failure:
        rules.new_stock(starts_at, price, quantity, limit, NOW)
    assert reason(failure) == expected


@pytest.mark.parametrize(("price", "quantity"), [(0, 0), (30_000, 1_000_000)])
def test_bounds_are_inclusive(price, quantity):
    assert rules.new_stock(LATER, price, quantity, None, NOW).price_cents == price


def test_quantity_never_goes_below_the_booked_places():
    with pytest.raises(FailedPrecondition) as failure:
        rules.updated_stock(existing(), booked=10, now=NOW, quantity=9)
    assert reason(failure) == "QUANTITY_BELOW_BOOKED"
    assert rules.updated_stock(existing(), booked=10, now=NOW, quantity=10).quantity == 10
    assert rules.updated_stock(existing(), booked=10, now=NOW, quantity=None).quantity is None


def test_an_unset_quantity_is_kept():
    assert rules.updated_stock(existing(), booked=0, now=NOW, price_cents=500).quantity == 100


def test_a_past_showtime_cannot_be_edited():
    with pytest.raises(FailedPrecondition) as failure:
        rules.updated_stock(existing(starts_at=NOW, booking_limit_at=NOW), 0, NOW, price_cents=1)
    assert reason(failure) == "STOCK_IN_PAST"


def test_the_default_booking_limit_follows_a_moved_showtime():
    moved = LATER + timedelta(days=1)
    assert rules.updated_stock(existing(), 0, NOW, starts_at=moved).booking_limit_at == moved


def test_an_explicit_booking_limit_never_ends_after_the_new_start():
    stock = existing(booking_limit_at=LATER - timedelta(hours=1))
    earlier = LATER - timedelta(hours=3)
    assert rules.updated_stock(stock, 0, NOW, starts_at=earlier).booking_limit_at == earlier
    kept = rules.updated_stock(stock, 0, NOW, starts_at=LATER + timedelta(days=1))
    assert kept.booking_limit_at == LATER - timedelta(hours=1)


def test_a_showtime_cannot_move_into_the_past():
    with pytest.raises(InvalidArgument):
        rules.updated_stock(existing(), 0, NOW, starts_at=NOW - timedelta(hours=1))


def test_deletion_is_allowed_until_48h_after_the_start():
    rules.check_deletable(NOW - timedelta(hours=48), NOW)
    with pytest.raises(FailedPrecondition):
        rules.check_deletable(NOW - timedelta(hours=48, seconds=1), NOW)


def bookable(**overrides) -> bool:
    fields = {
        "offerer_validated": True,
        "offer_active": True,
        "stock_active": True,
        "stock_deleted": False,
        "starts_at": LATER,
        "booking_limit_at": LATER,
        "quantity": 10,
        "booked": 9,
        "now": NOW,
    }
    return rules.is_bookable(**(fields | overrides))


def test_bookability():
    assert bookable()
    assert bookable(quantity=None, booked=1000)
    for overrides in (
        {"offerer_validated": False},
        {"offer_active": False},
        {"stock_active": False},
        {"stock_deleted": True},
        {"starts_at": NOW, "booking_limit_at": NOW},
        {"booking_limit_at": NOW},
        {"booked": 10},
    ):
        assert not bookable(**overrides), overrides


def test_an_edit_marks_the_fields_it_changed_as_edited():
    before = existing()
    after = rules.updated_stock(before, 0, NOW, price_cents=500, quantity=None)
    assert rules.edited_fields([], before, after) == ["price_cents", "quantity"]


def test_a_moved_showtime_marks_its_start_and_moved_default_limit():
    before = existing()
    after = rules.updated_stock(before, 0, NOW, starts_at=LATER + timedelta(days=1))
    assert rules.edited_fields([], before, after) == ["booking_limit_at", "starts_at"]


def test_fields_stay_edited_and_an_unchanged_value_marks_nothing():
    before = existing()
    same = rules.updated_stock(before, 0, NOW, price_cents=800)
    assert rules.edited_fields(["quantity"], before, same) == ["quantity"]
