"""Calendar rules of batches: default cutoff, the fortnight's label, execution date, invoice
references."""

from datetime import UTC, date, datetime

import pytest

from payments.domain import batch_dates
from payments.domain.rates import PARIS


def test_the_default_cutoff_is_today_midnight_in_paris():
    # 23:30 UTC on 15 November is already the 16th in Paris.
    now = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert batch_dates.default_cutoff(now) == datetime(2026, 11, 16, tzinfo=PARIS)


def test_a_cutoff_in_the_future_is_refused():
    now = datetime(2026, 11, 16, 10, tzinfo=UTC)
    batch_dates.check_cutoff(now, now)
    with pytest.raises(batch_dates.InvalidCutoff) as refused:
        batch_dates.check_cutoff(datetime(2026, 11, 17, tzinfo=UTC), now)
    assert refused.value.reason == "INVALID_CUTOFF"


@pytest.mark.parametrize(
    ("cutoff", "label"),
    [
        (datetime(2026, 11, 16, tzinfo=PARIS), "1ère quinzaine 11-2026"),
        (datetime(2026, 12, 1, tzinfo=PARIS), "2nde quinzaine 11-2026"),
        (datetime(2027, 1, 1, tzinfo=PARIS), "2nde quinzaine 12-2026"),
        (datetime(2027, 1, 16, tzinfo=PARIS), "1ère quinzaine 01-2027"),
        # Not on a batch day: the fortnight of the day before the cutoff.
        (datetime(2026, 11, 20, 15, tzinfo=PARIS), "2nde quinzaine 11-2026"),
        # 23:30 UTC on 15 November is the 16th 00:30 in Paris: the 16th is in the 2nd half.
        (datetime(2026, 11, 15, 23, 30, tzinfo=UTC), "2nde quinzaine 11-2026"),
    ],
)
def test_the_label_names_the_fortnight_before_the_cutoff(cutoff, label):
    assert batch_dates.label(cutoff) == f"pass Culture Pro - remboursement {label}"


def test_transfers_are_executed_a_week_after_the_batch_date_in_paris():
    assert batch_dates.execution_date(datetime(2026, 11, 15, 23, 30, tzinfo=UTC)) == date(
        2026, 11, 23
    )


def test_invoice_references():
    assert batch_dates.invoice_reference(2026, 42) == "F260000042"
    assert batch_dates.invoice_reference(2031, 9_999_999) == "F319999999"
    with pytest.raises(ValueError):
        batch_dates.invoice_reference(2026, 10_000_000)


def test_sepa_file_name():
    created = datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert batch_dates.sepa_filename(created, "abc") == "pass-culture-20261116-abc.xml"
