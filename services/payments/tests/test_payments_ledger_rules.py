"""The rules of a ledger line (domain/ledger.py): which booking event it takes."""

from datetime import UTC, datetime, timedelta

import pytest

from payments.domain.ledger import Line, Outcome, decide
from payments.domain.status import LedgerState

AT = datetime(2026, 3, 14, 20, 30, tzinfo=UTC)
BEFORE, AFTER = AT - timedelta(seconds=1), AT + timedelta(seconds=1)


AFTER_CREATION = [state for state in LedgerState if state != LedgerState.CONFIRMED]


@pytest.mark.parametrize("state", list(LedgerState))
@pytest.mark.parametrize("new_state", AFTER_CREATION)
def test_an_unpaid_line_takes_any_event_as_recent_as_its_last(state, new_state):
    line = Line(state, AT, paid=False)
    assert decide(line, new_state, AT) is Outcome.APPLY
    assert decide(line, new_state, AFTER) is Outcome.APPLY
    assert decide(line, new_state, BEFORE) is Outcome.STALE


@pytest.mark.parametrize("state", AFTER_CREATION)
def test_a_creation_never_comes_after_another_event_whatever_its_time(state):
    line = Line(state, AT, paid=False)
    assert decide(line, LedgerState.CONFIRMED, AFTER) is Outcome.STALE
    assert decide(Line(LedgerState.USED, AT, paid=True), LedgerState.CONFIRMED, AFTER) is (
        Outcome.STALE
    )
    # A creation delivered twice: the same line.
    assert decide(Line(LedgerState.CONFIRMED, AT, paid=False), LedgerState.CONFIRMED, AT) is (
        Outcome.APPLY
    )


def test_a_tombstone_stays_against_an_older_use_and_not_a_newer_one():
    cancelled = Line(LedgerState.CANCELLED, AT, paid=False)
    assert decide(cancelled, LedgerState.USED, BEFORE) is Outcome.STALE
    assert decide(cancelled, LedgerState.USED, AFTER) is Outcome.APPLY


def test_a_paid_line_never_changes():
    paid = Line(LedgerState.USED, AT, paid=True)
    assert decide(paid, LedgerState.USED, AFTER) is Outcome.ALREADY_PAID
    assert decide(paid, LedgerState.UNUSED, AFTER) is Outcome.PAID_CANNOT_UNDO
    assert decide(paid, LedgerState.CANCELLED, AT) is Outcome.PAID_CANNOT_UNDO
    assert decide(paid, LedgerState.CANCELLED, BEFORE) is Outcome.STALE


def test_an_unknown_state_is_refused():
    with pytest.raises(ValueError, match="unknown ledger state"):
        decide(Line(LedgerState.USED, AT, paid=False), "PAID", AT)  # type: ignore[arg-type]
