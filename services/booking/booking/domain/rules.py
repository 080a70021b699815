"""Rules of bookings: quantity, cancellation limits, the counter's answers, auto-validation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from booking.domain.status import BookingStatus
from passculture.booking.v1.reasons import Reason
from pclib.errors import FailedPrecondition, InvalidArgument, PermissionDenied

CANCELLATION_DELAY = timedelta(hours=48)
AUTO_USE_AFTER = timedelta(hours=48)

# Bookings a deleted showtime cancels: everything the venue has not been paid for yet.
CANCELLABLE_BY_OFFERER = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.USED)
# Bookings a moved showtime moves.
MOVABLE = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.USED,
    BookingStatus.REIMBURSED,
)
# Bookings a payment reimburses. CONFIRMED: the pro unused the booking after the batch priced
# it; the money went out all the same, so it is reimbursed too.
REIMBURSABLE = (BookingStatus.USED, BookingStatus.CONFIRMED)


def check_quantity(quantity: int, is_duo: bool) -> None:
    if quantity not in ((1, 2) if is_duo else (1,)):
        allowed = "1 or 2 (duo offer)" if is_duo else "1"
        raise InvalidArgument(Reason.INVALID_QUANTITY, f"quantity must be {allowed}")


def cancellation_limit(starts_at: datetime, booked_at: datetime) -> datetime:
    """max(min(starts_at - 48h, booked_at + 48h), booked_at): a booking made less than 48h
    before the showtime can never be cancelled by the young person."""
    return max(min(starts_at - CANCELLATION_DELAY, booked_at + CANCELLATION_DELAY), booked_at)


def cancellable_after(limit: datetime, moment: datetime) -> bool:
    """Whether a booking with this cancellation limit, made (or moved) at `moment`, could be
    cancelled by the young person at all: a last-minute booking's limit is its booking time."""
    return limit > moment


def limit_after_move(new_starts_at: datetime, now: datetime) -> datetime:
    """The cancellation limit once the cinema moved the showtime."""
    return min(new_starts_at, now + CANCELLATION_DELAY)


def move_unuses(new_starts_at: datetime, now: datetime) -> bool:
    """A showtime moved more than 48h away sends USED bookings back to CONFIRMED."""
    return new_starts_at > now + CANCELLATION_DELAY


def check_cancellable(status: BookingStatus, limit: datetime, now: datetime) -> None:
    """What the young person may cancel."""
    if status == BookingStatus.CANCELLED:
        raise FailedPrecondition(Reason.ALREADY_CANCELLED, "this booking is already cancelled")
    if status in (BookingStatus.USED, BookingStatus.REIMBURSED):
        raise FailedPrecondition(Reason.ALREADY_USED, "this booking was already used")
    if status != BookingStatus.CONFIRMED or now >= limit:
        raise FailedPrecondition(
            Reason.CANCELLATION_LIMIT_PASSED, "this booking can no longer be cancelled"
        )


def local_time(moment: datetime, timezone: str) -> str:
    """RFC 3339 in the venue's timezone, e.g. 2027-01-15T14:00:00+01:00."""
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


def check_usable(
    status: BookingStatus,
    limit: datetime,
    now: datetime,
    timezone: str,
    used_at: datetime | None = None,
) -> None:
    """What the counter answers before validating a booking found among the pro's own."""
    if status == BookingStatus.CANCELLED:
        raise FailedPrecondition(Reason.BOOKING_CANCELLED, "this booking was cancelled")
    if status == BookingStatus.USED:
        # `used_at` lets the counter say when it was validated.
        when = {} if used_at is None else {"used_at": local_time(used_at, timezone)}
        raise FailedPrecondition(
            Reason.BOOKING_ALREADY_USED, "this booking was already used", **when
        )
    if status == BookingStatus.REIMBURSED:
        raise PermissionDenied(Reason.BOOKING_REIMBURSED, "this booking was already reimbursed")
    if status != BookingStatus.CONFIRMED:
        raise FailedPrecondition(Reason.BOOKING_NOT_CONFIRMED, "this booking is not confirmed")
    if now < limit:
        raise PermissionDenied(
            Reason.BOOKING_NOT_YET_VALIDATABLE,
            "the young person may still cancel this booking",
            validatable_from=local_time(limit, timezone),
        )


def check_unusable(status: BookingStatus) -> None:
    if status == BookingStatus.REIMBURSED:
        raise PermissionDenied(Reason.BOOKING_REIMBURSED, "this booking was already reimbursed")
    if status != BookingStatus.USED:
        raise FailedPrecondition(Reason.BOOKING_NOT_USED, "this booking is not used")


def auto_use_before(now: datetime) -> datetime:
    """CONFIRMED bookings whose showtime started before this instant become USED."""
    return now - AUTO_USE_AFTER


# A counter's clock may run a little ahead of ours: an offline validation dated less than this
# in the future is taken as made now.
CLOCK_SKEW = timedelta(minutes=1)


def validated_at(
    at: datetime, booked_at: datetime, last_changed_at: datetime, now: datetime
) -> datetime:
    """When a booking validated offline at `at` was used: neither in the future nor before the
    booking (else INVALID_VALIDATED_AT); and not before the booking's last change (e.g. a
    validation undone while this counter was offline): payments orders a booking's events by
    their times, and would take this use for older than the undoing."""
    if at > now + CLOCK_SKEW:
        raise InvalidArgument(Reason.INVALID_VALIDATED_AT, "validated_at is in the future")
    if at < booked_at:
        raise InvalidArgument(
            Reason.INVALID_VALIDATED_AT, "validated_at is before the booking was made"
        )
    return min(max(at, last_changed_at), now)


def revocation_window_start(now: datetime, timezone: str) -> datetime:
    """The first showtimes an offline counter may still be shown a ticket for: those of today
    in the venue's timezone (a counter accepts only today's tickets)."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
