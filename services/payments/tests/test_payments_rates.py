"""The rate scale: brackets and their exact bounds, the whole booking at one rate, rounding,
and the calendar year in Paris."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.batch.pricing import BatchPricing, BookingChunks, LineToPay
from payments.domain import rates
from payments.domain.revenue import check_year
from pclib.errors import InvalidArgument


@pytest.mark.parametrize(
    ("revenue", "rate"),
    [
        (1, 10_000),
        (2_000_000, 10_000),
        (2_000_001, 9_500),
        (4_000_000, 9_500),
        (4_000_001, 9_200),
        (15_000_000, 9_200),
        (15_000_001, 9_000),
        (10**12, 9_000),
    ],
)
def test_the_bracket_includes_its_bound(revenue, rate):
    assert rates.rate_bps(revenue) == rate


def test_a_booking_reaching_a_bound_exactly_stays_in_the_bracket():
    assert rates.price(1000, 2_000_000 - 1000) == rates.Priced(10_000, 1000, 2_000_000)


def test_a_booking_crossing_a_bound_takes_the_next_rate_on_its_whole_amount():
    # R before: 1 999 500; this booking of 1 000 takes R to 2 000 500: 95 % of all of it.
    assert rates.price(1000, 1_999_500) == rates.Priced(9_500, 950, 2_000_500)
    # One cent over the last bound: 90 % of the whole booking.
    assert rates.price(1001, 15_000_001 - 1001) == rates.Priced(9_000, 901, 15_000_001)


@pytest.mark.parametrize(
    ("total", "rate", "expected"),
    [
        (10, 9_500, 10),  # 9.5 → 10 (half up)
        (30, 9_500, 29),  # 28.5 → 29
        (50, 9_200, 46),  # 46.0
        (25, 9_000, 23),  # 22.5 → 23
        (15, 9_000, 14),  # 13.5 → 14
        (7, 9_200, 6),  # 6.44 → 6
        (0, 9_000, 0),
    ],
)
def test_reimbursed_amounts_are_rounded_half_up(total, rate, expected):
    assert rates.reimbursed(total, rate) == expected


def test_the_year_is_the_one_of_paris():
    new_year_eve = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January in Paris
    assert rates.revenue_year(new_year_eve) == 2027
    assert rates.revenue_year(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == 2026
    # Summer time: Paris is UTC+2.
    assert rates.revenue_year(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == 2026


def test_a_venue_without_siret_counts_by_itself():
    assert rates.scale_key("12345678200011", "v1") == "12345678200011"
    assert rates.scale_key("", "v1") == "venue:v1"


@given(
    total=st.integers(min_value=0, max_value=10**7),
    before=st.integers(min_value=0, max_value=10**9),
)
def test_reimbursed_is_never_more_than_the_total_nor_below_the_lowest_rate(total, before):
    priced = rates.price(total, before)
    assert priced.revenue_after == before + total
    assert total * 9_000 // 10_000 <= priced.reimbursed_cents <= total
    assert priced.rate_bps == rates.rate_bps(before + total)


@given(
    total=st.integers(min_value=0, max_value=10**7),
    rate=st.sampled_from([10_000, 9_500, 9_200, 9_000]),
)
def test_rounding_half_up_matches_exact_arithmetic(total, rate):
    exact_tenths = total * rate  # in 1/10 000 of a cent
    reimbursed = rates.reimbursed(total, rate)
    assert (reimbursed - 0.5) * 10_000 <= exact_tenths < (reimbursed + 0.5) * 10_000


@given(st.lists(st.integers(min_value=0, max_value=500_000), max_size=200))
def test_the_rate_never_rises_as_revenue_grows(totals):
    revenue, last_rate = 0, rates.FULL_RATE_BPS
    for total in totals:
        priced = rates.price(total, revenue)
        assert priced.rate_bps <= last_rate
        revenue, last_rate = priced.revenue_after, priced.rate_bps


def line(key: str, year: int, total: int, earlier: int = 0, venue: str = "v") -> LineToPay:
    return LineToPay("b", venue, key, year, total, "2026-01-01", earlier)


def test_the_batch_runs_revenue_per_key_and_year_from_what_earlier_batches_priced():
    pricing = BatchPricing()
    first = pricing.price(line("A", 2026, 1_000_000, earlier=1_500_000))
    second = pricing.price(line("A", 2026, 1_000_000, earlier=1_500_000))
    other_year = pricing.price(line("A", 2027, 1_000_000))
    other_key = pricing.price(line("B", 2026, 1_000_000, venue="w"))
    assert [p.rate_bps for p in (first, second, other_year, other_key)] == [
        9_500,  # R = 2 500 000
        9_500,  # R = 3 500 000
        10_000,  # a new year starts from nothing
        10_000,
    ]
    assert pricing.revenues == {
        ("A", 2026): 3_500_000,
        ("A", 2027): 1_000_000,
        ("B", 2026): 1_000_000,
    }
    assert pricing.payments["v"].amount_cents == 950_000 * 2 + 1_000_000
    assert (pricing.booking_count, pricing.total_cents) == (4, 3_900_000)


def test_booking_ids_are_cut_into_events_per_payment_of_at_most_the_size():
    chunks = BookingChunks(size=2)
    done = [
        *chunks.add("A", "p1", "b1"),
        *chunks.add("A", "p2", "b2"),  # two venues sharing a SIRET: their own events
        *chunks.add("A", "p1", "b3"),  # p1 reaches 2
        *chunks.add("A", "p1", "b4"),
        *chunks.add("B", "p3", "b5"),  # a new scale key: what was held for A goes
        *chunks.rest(),
    ]
    assert done == [("p1", ["b1", "b3"]), ("p2", ["b2"]), ("p1", ["b4"]), ("p3", ["b5"])]
    assert chunks.rest() == []


@pytest.mark.parametrize(
    ("revenue", "threshold"),
    [
        (0, (2_000_000, 9_500)),
        (2_000_000, (2_000_000, 9_500)),
        (2_000_001, (4_000_000, 9_200)),
        (4_000_000, (4_000_000, 9_200)),
        (15_000_000, (15_000_000, 9_000)),
        (15_000_001, None),
    ],
)
def test_the_next_threshold_is_where_the_rate_drops(revenue, threshold):
    assert rates.next_threshold(revenue) == threshold
    if threshold is not None:
        bound, rate_after = threshold
        assert rates.rate_bps(bound) > rates.rate_bps(bound + 1) == rate_after


def test_a_revenue_year_is_the_calendar_year_in_paris():
    start, end = rates.year_span(2026)
    assert start.astimezone(UTC) == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert rates.revenue_year(start) == 2026 and rates.revenue_year(end) == 2027


@pytest.mark.parametrize("year", [1999, 9999, 0])
def test_a_revenue_year_out_of_range_is_refused(year):
    with pytest.raises(InvalidArgument) as refused:
        check_year(year)
    assert refused.value.reason == "INVALID_YEAR"
