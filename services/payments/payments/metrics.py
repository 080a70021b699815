"""Prometheus metrics of the payments service."""

from prometheus_client import Counter, Gauge, Histogram

from payments.domain.status import LedgerState

PAID_BOOKINGS_UNDONE = Counter(
    "payments_paid_bookings_undone_total",
    "Bookings unused or cancelled after they were paid (cannot be undone: to settle by hand).",
    ["state"],
)
LEDGER_EVENTS = Counter(
    "payments_ledger_events_total",
    "Booking events applied to the ledger, by outcome (apply, stale, already_paid, "
    "paid_cannot_undo).",
    ["outcome"],
)
BATCH_SECONDS = Histogram(
    "payments_batch_duration_seconds",
    "Time a payment batch took to make.",
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800),
)
BATCH_BOOKINGS = Counter("payments_batch_bookings_total", "Bookings paid by batches.")
# The scheduled batch is a job that pushes its metrics once: a per-run counter cannot be summed
# across runs, a gauge of the last batch can be shown as it is.
BATCH_LAST_BOOKINGS = Gauge(
    "payments_batch_last_bookings", "Bookings paid by the last batch this process made."
)
BATCH_LAST_SUCCESS = Gauge(
    "payments_batch_last_success_timestamp_seconds",
    "When a batch last succeeded (made, or found already made for its cutoff).",
)

for _state in (LedgerState.UNUSED, LedgerState.CANCELLED):
    PAID_BOOKINGS_UNDONE.labels(_state)
