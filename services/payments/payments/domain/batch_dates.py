"""Calendar rules of payment batches (pure): cutoff, label, execution date, invoice numbers."""

from datetime import date, datetime, time, timedelta

from passculture.payments.v1.reasons import Reason
from payments.domain.rates import PARIS
from pclib.errors import InvalidArgument

EXECUTION_DELAY = timedelta(days=7)
INVOICE_SEQUENCE_MAX = 9_999_999
LABEL = "pass Culture Pro - remboursement {half} quinzaine {month:02d}-{year}"


class InvalidCutoff(InvalidArgument):
    def __init__(self, message: str) -> None:
        super().__init__(Reason.INVALID_CUTOFF, message)


def default_cutoff(now: datetime) -> datetime:
    """Today 00:00 in Paris."""
    today = now.astimezone(PARIS).date()
    return datetime.combine(today, time(0), tzinfo=PARIS)


def check_cutoff(cutoff: datetime, now: datetime) -> None:
    if cutoff > now:
        raise InvalidCutoff("the cutoff is in the future")


def label(cutoff: datetime) -> str:
    """The remittance text: the fortnight just before the cutoff (a batch of the 16th pays the
    1st to the 15th, one of the 1st the 16th to the end of the month before)."""
    last_day = (cutoff.astimezone(PARIS) - timedelta(microseconds=1)).date()
    half = "1ère" if last_day.day <= 15 else "2nde"
    return LABEL.format(half=half, month=last_day.month, year=last_day.year)


def batch_date(created_at: datetime) -> date:
    return created_at.astimezone(PARIS).date()


def execution_date(created_at: datetime) -> date:
    return batch_date(created_at) + EXECUTION_DELAY


def invoice_reference(year: int, sequence: int) -> str:
    """ "F" + 2-digit year + 7-digit sequence, e.g. F260000042."""
    if not 0 < sequence <= INVOICE_SEQUENCE_MAX:
        raise ValueError(f"invoice sequence {sequence} out of range")
    return f"F{year % 100:02d}{sequence:07d}"


def sepa_filename(created_at: datetime, batch_id: str) -> str:
    return f"pass-culture-{batch_date(created_at):%Y%m%d}-{batch_id}.xml"
