"""Rules of a seat reservation (the booking saga): how many seats, when a call is a retry, and
why a stock refused."""

import uuid

from catalog.domain.status import ReservationStatus
from passculture.catalog.v1.reasons import Reason
from pclib.errors import DomainError, FailedPrecondition, InvalidArgument

# One seat, or two for a duo offer.
QUANTITIES = (1, 2)


def check_quantity(quantity: int) -> None:
    if quantity not in QUANTITIES:
        raise InvalidArgument(Reason.INVALID_QUANTITY, "quantity must be 1 or 2")


def check_retry(
    status: ReservationStatus,
    held_stock_id: uuid.UUID | None,
    held_quantity: int,
    stock_id: uuid.UUID,
    quantity: int,
) -> None:
    """Refuses unless the reservation this id holds is what a retry of this request would
    have reserved."""
    if status == ReservationStatus.RELEASED:
        raise FailedPrecondition(Reason.RESERVATION_RELEASED, "this reservation was released")
    if held_stock_id != stock_id or held_quantity != quantity:
        raise FailedPrecondition(
            Reason.RESERVATION_MISMATCH, "this reservation id holds another stock or quantity"
        )


def refusal(
    *, quantity: int, is_duo: bool, bookable_if_seats: bool, remaining: int | None
) -> DomainError:
    """Why an existing stock refused the seats: a duo on a solo offer, a showtime that cannot
    be booked (whatever its seats), or too few seats left."""
    if quantity == 2 and not is_duo:
        return InvalidArgument(Reason.INVALID_QUANTITY, "this offer is not duo")
    if not bookable_if_seats:
        return FailedPrecondition(Reason.NOT_BOOKABLE, "this showtime cannot be booked")
    return FailedPrecondition(
        Reason.SOLD_OUT, "not enough places left", remaining_quantity=remaining
    )
