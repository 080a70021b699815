"""Pricing a stream of lines in the batch's order (pure: the database part is in run.py).

Lines come ordered by (scale key, year, used_at, booking id): the running revenue of one
(scale key, year) at a time is all the scale needs, so memory does not grow with the lines.
What does grow is bounded by the venues: one total per payment, one revenue per scale key.
The hot loop runs once per line: named tuples, no frozen dataclasses.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from payments.domain import rates


class LineToPay(NamedTuple):
    booking_id: str
    venue_id: str
    scale_key: str
    year: int
    total_cents: int
    used_at: str
    # Revenue of this (scale key, year) priced by earlier batches.
    earlier_revenue: int


class PricedLine(NamedTuple):
    payment_id: str
    booking_id: str
    total_cents: int
    rate_bps: int
    reimbursed_cents: int
    used_at: str

    def copy_text(self) -> str:
        """One row of COPY's text format (no value here holds a tab, newline or backslash)."""
        return (
            f"{self.payment_id}\t{self.booking_id}\t{self.total_cents}\t{self.rate_bps}\t"
            f"{self.reimbursed_cents}\t{self.used_at}\n"
        )


@dataclass
class PaymentTotal:
    payment_id: str
    venue_id: str
    amount_cents: int = 0
    booking_count: int = 0


@dataclass
class BatchPricing:
    payments: dict[str, PaymentTotal] = field(default_factory=dict)
    # The revenue each (scale key, year) reached, to keep for the next batches.
    revenues: dict[tuple[str, int], int] = field(default_factory=dict)
    _group: tuple[str, int] | None = None
    _revenue: int = 0

    def price(self, line: LineToPay) -> PricedLine:
        group = (line.scale_key, line.year)
        if group != self._group:
            self._group, self._revenue = group, line.earlier_revenue
        priced = rates.price(line.total_cents, self._revenue)
        self._revenue = priced.revenue_after
        self.revenues[group] = priced.revenue_after
        payment = self.payments.get(line.venue_id)
        if payment is None:
            payment = PaymentTotal(str(uuid.uuid4()), line.venue_id)
            self.payments[line.venue_id] = payment
        payment.amount_cents += priced.reimbursed_cents
        payment.booking_count += 1
        return PricedLine(
            payment.payment_id,
            line.booking_id,
            line.total_cents,
            priced.rate_bps,
            priced.reimbursed_cents,
            line.used_at,
        )

    @property
    def booking_count(self) -> int:
        return sum(payment.booking_count for payment in self.payments.values())

    @property
    def total_cents(self) -> int:
        return sum(payment.amount_cents for payment in self.payments.values())


Chunk = tuple[str, list[str]]
NO_CHUNKS: tuple[Chunk, ...] = ()


class BookingChunks:
    """The paid booking ids cut into `booking.reimbursed` events as they stream by: one payment
    and at most `size` ids each. A payment's lines come together (a payment is a venue's, and
    lines come by scale key, i.e. by venue), so ids are held for the current scale key only:
    memory stays under `size` ids per venue of the key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._scale_key: str | None = None
        self._ids: dict[str, list[str]] = {}

    def add(self, scale_key: str, payment_id: str, booking_id: str) -> Sequence[Chunk]:
        """Adds an id; returns the chunks this completed (most often none)."""
        done: Sequence[Chunk] = NO_CHUNKS
        if scale_key != self._scale_key:
            done, self._scale_key = self.rest(), scale_key
        ids = self._ids.get(payment_id)
        if ids is None:
            ids = self._ids[payment_id] = []
        ids.append(booking_id)
        if len(ids) == self.size:
            done = [*done, (payment_id, self._ids.pop(payment_id))]
        return done

    def rest(self) -> list[Chunk]:
        done, self._ids = list(self._ids.items()), {}
        return done
