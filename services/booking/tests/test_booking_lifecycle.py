"""The booking lifecycle's transitions on a row (booking.lifecycle), and the pure rules they
call: each changes the status only through its guard and returns the event to record. The
cancellations, which give the amount back to the credit, run against the database."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from booking import lifecycle
from booking.domain.sign_up import check_sign_up
from booking.domain.status import BookingStatus, CancellationReason, ValidationAuthor
from booking.domain.throttle import retry_after
from booking.models import Booking, Credit, Venue
from passculture.booking.v1 import events_pb2
from pclib.db import make_session_factory
from pclib.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from tests.support.booking_helpers import store_booking, store_venue

NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def venue() -> Venue:
    return Venue(
        id=uuid.uuid4(),
        offerer_id=uuid.uuid4(),
        offerer_siren="443061841",
        name="Cinéma Lumière",
        siret="44306184100047",
        booking_email="resa@cinema.example",
        timezone="Europe/Paris",
    )


def booking(
    status: BookingStatus, *, limit: datetime = NOW - H, starts_at: datetime = NOW
) -> Booking:
    return Booking(
        id=uuid.uuid4(),
        status=status,
        quantity=2,
        amount_cents=700,
        stock_id=uuid.uuid4(),
        offer_id=uuid.uuid4(),
        venue_id=uuid.uuid4(),
        offerer_id=uuid.uuid4(),
        starts_at=starts_at,
        booked_at=NOW - 100 * H,
        cancellation_limit_at=limit,
        used_at=NOW - 2 * H if status in (BookingStatus.USED, BookingStatus.REIMBURSED) else None,
        validated_by=ValidationAuthor.OFFERER if status == BookingStatus.USED else None,
    )


def test_use_marks_used_and_tells_who():
    row = booking(BookingStatus.CONFIRMED)
    event = lifecycle.use(row, venue(), NOW, ValidationAuthor.AUTO)
    assert (row.status, row.used_at, row.validated_by) == (BookingStatus.USED, NOW, "AUTO")
    assert isinstance(event, events_pb2.BookingUsed)
    assert (event.validated_by, event.booking.total_cents) == ("AUTO", 1_400)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (BookingStatus.USED, "BOOKING_ALREADY_USED"),
        (BookingStatus.CANCELLED, "BOOKING_CANCELLED"),
        (BookingStatus.REIMBURSED, "BOOKING_REIMBURSED"),
        (BookingStatus.PENDING, "BOOKING_NOT_CONFIRMED"),
    ],
)
def test_use_is_guarded(status, reason):
    row = booking(status)
    with pytest.raises((FailedPrecondition, PermissionDenied)) as refused:
        lifecycle.use(row, venue(), NOW, ValidationAuthor.OFFERER)
    assert refused.value.reason == reason
    assert row.status == status


def test_an_already_used_booking_says_when_in_the_venues_time():
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.use(booking(BookingStatus.USED), venue(), NOW, ValidationAuthor.OFFERER)
    assert refused.value.metadata["used_at"] == "2027-03-10T11:00:00+01:00"


def test_use_waits_for_the_cancellation_limit():
    row = booking(BookingStatus.CONFIRMED, limit=NOW + H)
    with pytest.raises(PermissionDenied) as refused:
        lifecycle.use(row, venue(), NOW, ValidationAuthor.OFFERER)
    assert refused.value.reason == "BOOKING_NOT_YET_VALIDATABLE"
    assert row.status == BookingStatus.CONFIRMED


def test_unuse_goes_back_to_confirmed_until_paid():
    row = booking(BookingStatus.USED)
    event = lifecycle.unuse(row, venue(), NOW)
    assert (row.status, row.used_at, row.validated_by) == (BookingStatus.CONFIRMED, None, None)
    assert isinstance(event, events_pb2.BookingUnused)
    with pytest.raises(PermissionDenied):
        lifecycle.unuse(booking(BookingStatus.REIMBURSED), venue(), NOW)
    with pytest.raises(FailedPrecondition):
        lifecycle.unuse(booking(BookingStatus.CONFIRMED), venue(), NOW)


# --- cancellations give the amount back to the credit (against the database) ----------------


async def spent(engine, credit_id) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(Credit.spent_cents).where(Credit.id == credit_id))


async def cancel_stored(engine, stored, cancel):
    """Runs a cancellation on the stored booking, locked, in one transaction."""
    async with make_session_factory(engine).begin() as session:
        row = await session.get(Booking, stored.booking.id, with_for_update=True)
        return row, await cancel(session, row, stored.venue)


async def test_the_young_person_cancels_before_the_limit_only(booking_engine):
    venue = await store_venue(booking_engine)
    now = datetime.now(UTC)
    early = await store_booking(booking_engine, venue, starts_at=now + 5 * 24 * H, booked_at=now)
    row, event = await cancel_stored(
        booking_engine,
        early,
        lambda session, row, venue: lifecycle.cancel(session, row, venue, now),
    )
    assert (row.status, row.cancelled_at) == (BookingStatus.CANCELLED, now)
    assert row.cancellation_reason == CancellationReason.BENEFICIARY
    assert event.reason == "BENEFICIARY"
    assert await spent(booking_engine, row.credit_id) == 0

    late = await store_booking(booking_engine, venue)  # its limit has passed
    with pytest.raises(FailedPrecondition):
        await cancel_stored(
            booking_engine,
            late,
            lambda session, row, venue: lifecycle.cancel(session, row, venue, now),
        )
    assert await spent(booking_engine, late.booking.credit_id) == 800


@pytest.mark.parametrize(
    ("status", "cancelled"),
    [
        (BookingStatus.PENDING, True),
        (BookingStatus.CONFIRMED, True),
        (BookingStatus.USED, True),
        (BookingStatus.REIMBURSED, False),
        (BookingStatus.CANCELLED, False),
        (BookingStatus.FAILED, False),
    ],
)
async def test_the_cinema_cancels_what_is_not_paid(booking_engine, status, cancelled):
    stored = await store_booking(booking_engine, await store_venue(booking_engine), status=status)
    held = await spent(booking_engine, stored.booking.credit_id)
    row, event = await cancel_stored(
        booking_engine,
        stored,
        lambda session, row, venue: lifecycle.cancel_by_cinema(session, row, venue, NOW),
    )
    assert (event is not None) == cancelled
    assert row.status == (BookingStatus.CANCELLED if cancelled else status)
    assert await spent(booking_engine, row.credit_id) == (0 if cancelled else held)
    if event is not None:
        assert (event.reason, row.cancellation_reason) == ("OFFERER", CancellationReason.OFFERER)


def test_a_showtime_moved_far_away_unuses():
    row = booking(BookingStatus.USED)
    later = NOW + 72 * H
    event, moved = lifecycle.move(row, venue(), later, NOW, NOW + timedelta(seconds=1))
    assert (row.starts_at, row.status) == (later, BookingStatus.CONFIRMED)
    assert row.cancellation_limit_at == NOW + 48 * H
    assert isinstance(event, events_pb2.BookingUnused)
    assert event.unused_at.ToDatetime(tzinfo=UTC) == NOW + timedelta(seconds=1)
    assert isinstance(moved, events_pb2.BookingMoved)
    assert moved.booking.starts_at.ToDatetime(tzinfo=UTC) == later
    assert moved.previous_starts_at.ToDatetime(tzinfo=UTC) == NOW
    assert moved.cancellation_limit_at.ToDatetime(tzinfo=UTC) == NOW + 48 * H


def test_a_showtime_moved_nearby_keeps_the_use():
    row = booking(BookingStatus.USED)
    (moved,) = lifecycle.move(row, venue(), NOW + 3 * H, NOW, NOW)
    assert isinstance(moved, events_pb2.BookingMoved)
    assert (row.starts_at, row.status) == (NOW + 3 * H, BookingStatus.USED)


def test_a_cancelled_booking_does_not_move():
    row = booking(BookingStatus.CANCELLED)
    assert lifecycle.move(row, venue(), NOW + 72 * H, NOW, NOW) == []
    assert row.starts_at == NOW


# --- sign-up and the counter's throttle -----------------------------------------------------


def sign_up(**changes):
    fields = {
        "email": " Camille@Example.org ",
        "password": "correct horse",
        "first_name": " Camille ",
        "last_name": "Jeune",
        "birth_date": "2009-01-15",
        "phone_number": "+33612345678",
        "postal_code": " 75011 ",
        "today": date(2027, 3, 10),
    }
    return check_sign_up(**(fields | changes))


def test_a_sign_up_is_normalised():
    checked = sign_up()
    assert (checked.email, checked.first_name, checked.postal_code) == (
        "camille@example.org",
        "Camille",
        "75011",
    )
    assert checked.birth_date == date(2009, 1, 15)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"email": "camille"}, "INVALID_EMAIL"),
        ({"password": "short"}, "PASSWORD_TOO_SHORT"),
        ({"first_name": " "}, "INVALID_FIRST_NAME"),
        ({"last_name": ""}, "INVALID_LAST_NAME"),
        ({"birth_date": "15/01/2009"}, "INVALID_BIRTH_DATE"),
        ({"birth_date": "2009-02-30"}, "INVALID_BIRTH_DATE"),
        ({"birth_date": "2027-03-11"}, "INVALID_BIRTH_DATE"),
    ],
)
def test_a_sign_up_is_refused(changes, reason):
    with pytest.raises(InvalidArgument) as refused:
        sign_up(**changes)
    assert refused.value.reason == reason


def test_the_throttle_waits_until_the_oldest_counted_failure_leaves_the_window():
    window = timedelta(minutes=10)
    failures = [NOW - timedelta(minutes=minutes) for minutes in (1, 2, 3)]
    assert retry_after(failures[:2], 3, window, NOW) is None
    assert retry_after(failures, 3, window, NOW) == 7 * 60
    assert retry_after([NOW - window + timedelta(milliseconds=10)] * 3, 3, window, NOW) == 1
