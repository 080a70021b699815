"""Rules of bookings: quantity, cancellation limits, the counter's answers, auto-validation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pclib.errors import FailedPrecondition, InvalidArgument, PermissionDenied

CANCELLATION_DELAY = timedelta(hours=48)
AUTO_USE_AFTER = timedelta(hours=48)


def check_quantity(quantity: int, is_duo: bool) -> None:
    if quantity not in ((1, 2) if is_duo else (1,)):
        allowed = "1 or 2 (duo offer)" if is_duo else "1"
        raise InvalidArgument("INVALID_QUANTITY", f"quantity must be {allowed}")


def cancellation_limit(starts_at: datetime, booked_at: datetime) -> datetime:
    """max(min(starts_at - 48h, booked_at + 48h), booked_at): a booking made less than 48h
    before the showtime can never be cancelled by the young person."""
    return max(min(starts_at - CANCELLATION_DELAY, booked_at + CANCELLATION_DELAY), booked_at)


def limit_after_move(new_starts_at: datetime, now: datetime) -> datetime:
    """The cancellation limit once the cinema moved the showtime."""
    return min(new_starts_at, now + CANCELLATION_DELAY)


def move_unuses(new_starts_at: datetime, now: datetime) -> bool:
    """A showtime moved more than 48h away sends USED bookings back to CONFIRMED."""
    return new_starts_at > now + CANCELLATION_DELAY


def check_cancellable(status: str, limit: datetime, now: datetime) -> None:
    if status == "CANCELLED":
        raise FailedPrecondition("ALREADY_CANCELLED", "this booking is already cancelled")
    if status in ("USED", "REIMBURSED"):
        raise FailedPrecondition("ALREADY_USED", "this booking was already used")
    if status != "CONFIRMED" or now >= limit:
        raise FailedPrecondition(
            "CANCELLATION_LIMIT_PASSED", "this booking can no longer be cancelled"
        )


def local_time(moment: datetime, timezone: str) -> str:
    """RFC 3339 in the venue's timezone, e.g. 2027-01-15T14:00:00+01:00."""
    return moment.astimezone(ZoneInfo(timezone)).isoformat()


def check_usable(status: str, limit: datetime, now: datetime, timezone: str) -> None:
    """What the counter answers before validating a booking found among the pro's own.
    BOOKING_CANCELLED, BOOKING_ALREADY_USED and BOOKING_NOT_USED are HTTP 410 at the gateway."""
    if status == "CANCELLED":
        raise FailedPrecondition("BOOKING_CANCELLED", "this booking was cancelled")
    if status == "USED":
        raise FailedPrecondition("BOOKING_ALREADY_USED", "this booking was already used")
    if status == "REIMBURSED":
        raise PermissionDenied("BOOKING_REIMBURSED", "this booking was already reimbursed")
    if status != "CONFIRMED":
        raise FailedPrecondition("BOOKING_NOT_CONFIRMED", "this booking is not confirmed")
    if now < limit:
        raise PermissionDenied(
            "BOOKING_NOT_YET_VALIDATABLE",
            "the young person may still cancel this booking",
            validatable_from=local_time(limit, timezone),
        )


def check_unusable(status: str) -> None:
    if status == "REIMBURSED":
        raise PermissionDenied("BOOKING_REIMBURSED", "this booking was already reimbursed")
    if status != "USED":
        raise FailedPrecondition("BOOKING_NOT_USED", "this booking is not used")


def auto_use_before(now: datetime) -> datetime:
    """CONFIRMED bookings whose showtime started before this instant become USED."""
    return now - AUTO_USE_AFTER
