"""The pure rules of price categories (catalog.domain.price_categories)."""

from dataclasses import dataclass

import pytest

from catalog.domain import price_categories as rules
from pclib.errors import AlreadyExists, FailedPrecondition, InvalidArgument


@dataclass(frozen=True)
class Category:
    label: str
    price_cents: int


def test_a_bare_price_names_tarif_unique_first_then_the_next_free_number():
    assert rules.default_label(set()) == "Tarif unique"
    assert rules.default_label({"Tarif unique"}) == "Tarif 2"
    assert rules.default_label({"Tarif normal", "Tarif réduit"}) == "Tarif 3"
    assert rules.default_label({"Tarif unique", "Tarif 3"}) == "Tarif 4"


def test_a_bare_price_means_the_first_category_of_that_price():
    normal, reduced, other = Category("Normal", 800), Category("Réduit", 500), Category("B", 500)
    assert rules.of_price([reduced, other, normal], 500) is reduced
    assert rules.of_price([reduced, normal], 700) is None


@pytest.mark.parametrize("label", ["", "   ", "x" * 51])
def test_labels_are_1_to_50_characters(label):
    with pytest.raises(InvalidArgument) as refused:
        rules.check_label(label)
    assert refused.value.reason == "INVALID_PRICE_CATEGORY_LABEL"


def test_labels_are_trimmed_and_unique_within_the_offer():
    assert rules.check_label("  Tarif réduit ") == "Tarif réduit"
    assert rules.check_label("x" * 50) == "x" * 50
    with pytest.raises(AlreadyExists) as taken:
        rules.new_category("Tarif réduit", 500, [Category("Tarif réduit", 600)])
    assert taken.value.reason == "PRICE_CATEGORY_LABEL_TAKEN"


@pytest.mark.parametrize("price", [-1, 30_001])
def test_prices_are_0_to_30000(price):
    with pytest.raises(InvalidArgument) as refused:
        rules.new_category("Tarif", price, [])
    assert refused.value.reason == "INVALID_PRICE"
    assert rules.new_category("Gratuit", 0, []) == "Gratuit"


def test_an_offer_has_at_most_50_categories():
    rules.check_room(49)
    with pytest.raises(FailedPrecondition) as full:
        rules.new_category("Tarif 51", 100, [Category(f"T{n}", n) for n in range(50)])
    assert full.value.reason == "TOO_MANY_PRICE_CATEGORIES"


def test_a_stock_given_a_category_and_a_price_needs_them_to_agree():
    rules.check_same_price(800, None)
    rules.check_same_price(800, 800)
    with pytest.raises(InvalidArgument) as refused:
        rules.check_same_price(800, 700)
    assert refused.value.reason == "INVALID_PRICE"


def test_a_category_with_booked_places_is_in_use():
    rules.check_deletable(0)
    with pytest.raises(FailedPrecondition) as in_use:
        rules.check_deletable(2)
    assert (in_use.value.reason, in_use.value.metadata) == (
        "PRICE_CATEGORY_IN_USE",
        {"booked_quantity": "2"},
    )
