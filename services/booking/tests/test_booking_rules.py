"""Pure rules of the booking service: credit, countermarks, cancellation limits, the counter."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.domain import countermark, credit, rules
from pclib.errors import FailedPrecondition, InvalidArgument, PermissionDenied

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


# --- credit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2009, 3, 10), date(2027, 3, 10), 18),
        (date(2009, 3, 11), date(2027, 3, 10), 17),
        (date(2008, 3, 11), date(2027, 3, 10), 18),
        (date(2008, 3, 10), date(2027, 3, 10), 19),
        (date(2008, 2, 29), date(2027, 2, 28), 18),
        (date(2008, 2, 29), date(2027, 3, 1), 19),
    ],
)
def test_age(birth, today, age):
    assert credit.age_on(birth, today) == age


def test_age_is_taken_where_the_young_person_lives():
    # 10 March 02:00 in Paris is still 9 March in Guadeloupe: the birthday has not come yet there.
    moment = datetime(2027, 3, 10, 1, 0, tzinfo=UTC)
    credit.check_eligible(date(2009, 3, 10), moment, "Europe/Paris")
    with pytest.raises(InvalidArgument) as failure:
        credit.check_eligible(date(2009, 3, 10), moment, "America/Guadeloupe")
    assert failure.value.reason == "NOT_ELIGIBLE"


def test_credit_lasts_two_years():
    assert credit.expiry(NOW) == datetime(2029, 3, 10, 12, 0, tzinfo=UTC)
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert credit.expiry(leap) == datetime(2030, 2, 28, 9, 0, tzinfo=UTC)


def test_remaining_credit():
    expires = NOW + H
    assert credit.remaining(30_000, 1_200, expires, NOW) == 28_800
    assert credit.remaining(30_000, 31_000, expires, NOW) == 0
    assert credit.remaining(30_000, 0, expires, expires) == 0


# --- countermarks ---------------------------------------------------------------------------


def test_countermarks_use_the_unambiguous_alphabet():
    drawn = [countermark.new_countermark() for _ in range(2_000)]
    assert all(len(mark) == 6 and set(mark) <= set(countermark.ALPHABET) for mark in drawn)
    assert not set("IO0189") & set(countermark.ALPHABET)
    assert len(countermark.ALPHABET) == 30
    # Every character is used, none overwhelmingly: a sanity check of the random draw.
    counts = Counter("".join(drawn))
    assert set(counts) == set(countermark.ALPHABET)
    assert max(counts.values()) < 3 * min(counts.values())


@given(st.text(alphabet=countermark.ALPHABET, min_size=6, max_size=6))
def test_countermarks_are_read_in_any_case(mark):
    assert countermark.normalize(mark.lower()) == mark
    assert countermark.normalize(f" {mark} ") == mark


@pytest.mark.parametrize("typed", ["ABCDE", "ABCDEFG", "ABCDE1", "ABCDEO", "ABC DE", ""])
def test_what_cannot_be_a_countermark(typed):
    assert countermark.normalize(typed) is None


def test_qr_payload():
    assert countermark.qr_payload("ABC234") == "PASSCULTURE:v3;TOKEN:ABC234"


def test_a_ticketing_systems_barcode_is_what_its_bookings_qr_code_encodes():
    assert countermark.booking_qr_payload("ABC234", []) == "PASSCULTURE:v3;TOKEN:ABC234"
    assert countermark.booking_qr_payload("ABC234", ["141414000001", "141414000002"]) == (
        "141414000001"
    )


@pytest.mark.parametrize(
    ("typed", "barcode"),
    [
        (" 141414000001 ", "141414000001"),
        ("PCU-0042-ab", "PCU-0042-ab"),
        ("123", None),  # too short to be one
        ("1" * 65, None),
        ("1414 1400", None),
        ("1414\n1400", None),
        ("", None),
    ],
)
def test_what_can_be_a_barcode(typed, barcode):
    assert countermark.barcode(typed) == barcode


@pytest.mark.parametrize(
    "typed",
    [
        "abc234",
        " ABC 234 ",
        "a b c 2 3 4",
        "PASSCULTURE:v3;TOKEN:ABC234",
        "passculture:v3;token:abc234",
    ],
)
def test_typed_countermarks_and_v3_payloads(typed):
    assert countermark.normalize(typed) == "ABC234"


def test_v4_payloads_carry_a_signed_ticket():
    payload = countermark.signed_qr_payload("header.claims.signature")
    assert payload == "PASSCULTURE:v4;header.claims.signature"
    assert countermark.signed_ticket(f" {payload} ") == "header.claims.signature"
    for other in ("ABC234", "PASSCULTURE:v3;TOKEN:ABC234", "header.claims.signature"):
        assert countermark.signed_ticket(other) is None
    assert countermark.normalize(payload) is None


# --- quantity and cancellation ---------------------------------------------------------------


def test_quantity():
    rules.check_quantity(1, is_duo=False)
    rules.check_quantity(2, is_duo=True)
    for quantity, duo in ((2, False), (0, True), (3, True), (-1, False)):
        with pytest.raises(InvalidArgument):
            rules.check_quantity(quantity, is_duo=duo)


@pytest.mark.parametrize(
    ("starts_in", "limit_in"),
    [
        (10 * 24 * H, 48 * H),  # far ahead: 48h after booking
        (72 * H, 24 * H),  # 3 days ahead: 48h before the showtime
        (48 * H, 0 * H),  # exactly 48h ahead: the limit is now
        (5 * H, 0 * H),  # last minute: never cancellable
    ],
)
def test_cancellation_limit(starts_in, limit_in):
    assert rules.cancellation_limit(NOW + starts_in, NOW) == NOW + limit_in


@given(st.integers(min_value=0, max_value=60 * 24 * 30))
def test_cancellation_limit_is_between_booking_and_showtime(minutes_ahead):
    starts_at = NOW + timedelta(minutes=minutes_ahead)
    limit = rules.cancellation_limit(starts_at, NOW)
    assert NOW <= limit <= max(starts_at, NOW)
    assert limit <= NOW + rules.CANCELLATION_DELAY


def test_cancelling():
    limit = NOW + H
    rules.check_cancellable("CONFIRMED", limit, NOW)
    for status, reason in (
        ("CANCELLED", "ALREADY_CANCELLED"),
        ("USED", "ALREADY_USED"),
        ("REIMBURSED", "ALREADY_USED"),
    ):
        with pytest.raises(FailedPrecondition) as failure:
            rules.check_cancellable(status, limit, NOW)
        assert failure.value.reason == reason
    with pytest.raises(FailedPrecondition) as failure:
        rules.check_cancellable("CONFIRMED", NOW, NOW)
    assert failure.value.reason == "CANCELLATION_LIMIT_PASSED"


def test_a_moved_showtime_resets_the_limit():
    assert rules.limit_after_move(NOW + 10 * 24 * H, NOW) == NOW + 48 * H
    assert rules.limit_after_move(NOW + 5 * H, NOW) == NOW + 5 * H
    assert rules.move_unuses(NOW + 49 * H, NOW)
    assert not rules.move_unuses(NOW + 47 * H, NOW)


# --- the counter -----------------------------------------------------------------------------


def test_the_counter_validates_a_confirmed_booking_past_its_limit():
    rules.check_usable("CONFIRMED", NOW, NOW, "Europe/Paris")


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        ("CANCELLED", FailedPrecondition, "BOOKING_CANCELLED"),
        ("USED", FailedPrecondition, "BOOKING_ALREADY_USED"),
        ("REIMBURSED", PermissionDenied, "BOOKING_REIMBURSED"),
    ],
)
def test_the_counter_refuses(status, error, reason):
    with pytest.raises(error) as failure:
        rules.check_usable(status, NOW - H, NOW, "Europe/Paris")
    assert failure.value.reason == reason


def test_not_yet_validatable_says_from_when_in_the_venues_time():
    limit = datetime(2027, 3, 11, 13, 0, tzinfo=UTC)
    with pytest.raises(PermissionDenied) as failure:
        rules.check_usable("CONFIRMED", limit, NOW, "Indian/Reunion")
    assert failure.value.reason == "BOOKING_NOT_YET_VALIDATABLE"
    assert failure.value.metadata == {"validatable_from": "2027-03-11T17:00:00+04:00"}


def test_unuse():
    rules.check_unusable("USED")
    with pytest.raises(PermissionDenied):
        rules.check_unusable("REIMBURSED")
    with pytest.raises(FailedPrecondition) as failure:
        rules.check_unusable("CONFIRMED")
    assert failure.value.reason == "BOOKING_NOT_USED"


def test_auto_use_threshold():
    assert rules.auto_use_before(NOW) == NOW - 48 * H


# --- offline validations and the revoked tickets ----------------------------------------------


def test_an_offline_validation_keeps_its_time():
    booked = NOW - 5 * 24 * H
    assert rules.validated_at(NOW - H, booked, booked, NOW) == NOW - H
    assert rules.validated_at(booked, booked, booked, NOW) == booked


def test_an_offline_validation_is_neither_in_the_future_nor_before_the_booking():
    booked = NOW - 5 * 24 * H
    for at in (NOW + 2 * rules.CLOCK_SKEW, booked - timedelta(seconds=1)):
        with pytest.raises(InvalidArgument) as refused:
            rules.validated_at(at, booked, booked, NOW)
        assert refused.value.reason == "INVALID_VALIDATED_AT"


def test_a_counter_clock_slightly_ahead_is_taken_as_now():
    booked = NOW - H
    assert rules.validated_at(NOW + rules.CLOCK_SKEW / 2, booked, booked, NOW) == NOW


def test_an_offline_validation_is_not_dated_before_the_bookings_last_change():
    booked, undone = NOW - 5 * 24 * H, NOW - H
    assert rules.validated_at(NOW - 2 * H, booked, undone, NOW) == undone


@pytest.mark.parametrize(
    ("now", "timezone", "start"),
    [
        (NOW, "Europe/Paris", datetime(2027, 3, 9, 23, 0, tzinfo=UTC)),
        (
            datetime(2027, 3, 10, 23, 30, tzinfo=UTC),
            "Europe/Paris",
            datetime(2027, 3, 10, 23, 0, tzinfo=UTC),
        ),
        (NOW, "America/Guadeloupe", datetime(2027, 3, 10, 4, 0, tzinfo=UTC)),
        (NOW, "Indian/Reunion", datetime(2027, 3, 9, 20, 0, tzinfo=UTC)),
    ],
)
def test_the_revoked_tickets_are_those_of_today_in_the_venues_timezone(now, timezone, start):
    assert rules.revocation_window_start(now, timezone) == start
