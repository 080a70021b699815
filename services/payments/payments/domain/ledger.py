"""What a booking event does to the booking's ledger line (pure).

Events may arrive late and out of order: each carries the time of the change, and a line only
takes an event at least as recent as the last one it took. A paid line never changes again.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

from payments.domain.status import LedgerState

STATES = tuple(LedgerState)


class Outcome(enum.Enum):
    APPLY = "apply"
    STALE = "stale"  # older than what the line already took
    ALREADY_PAID = "already_paid"  # used again after payment: nothing to do
    PAID_CANNOT_UNDO = "paid_cannot_undo"  # unused or cancelled after payment


@dataclass(frozen=True)
class Line:
    state: LedgerState
    last_event_at: datetime
    paid: bool


def decide(line: Line, new_state: LedgerState, occurred_at: datetime) -> Outcome:
    if new_state not in STATES:
        raise ValueError(f"unknown ledger state {new_state!r}")
    # A booking's creation comes before anything else that happens to it, whatever the clocks.
    if new_state == LedgerState.CONFIRMED and (line.paid or line.state != LedgerState.CONFIRMED):
        return Outcome.STALE
    if occurred_at < line.last_event_at:
        return Outcome.STALE
    if line.paid:
        return Outcome.ALREADY_PAID if new_state == LedgerState.USED else Outcome.PAID_CANNOT_UNDO
    return Outcome.APPLY
