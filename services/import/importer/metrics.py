"""Prometheus metrics of the syncs and of the ticketing bookings."""

from prometheus_client import Counter, Histogram

from importer.domain.ticketing_rules import TicketingSystem

SYNC_SECONDS = Histogram(
    "import_sync_duration_seconds",
    "Time a venue's sync took, by result (succeeded, failed).",
    ["result"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SHOWTIMES = Counter(
    "import_showtimes_total",
    "Showtimes of the feeds: imported (kept), skipped (not classic, duplicate, past, special "
    "event) or rejected (their movie was malformed).",
    ["result"],
)
MOVIES_REJECTED = Counter("import_movies_rejected_total", "Malformed movies dropped from feeds.")
TICKETS_WITHOUT_BARCODE = Counter(
    "import_ticketing_tickets_without_barcode_total",
    "Bookings cancelled while their booking in the ticketing system had no known outcome (the "
    "system failed or did not answer): tickets may exist there, to check with the cinema.",
    ["system"],
)

for _result in ("imported", "skipped", "rejected"):
    SHOWTIMES.labels(_result)
for _result in ("succeeded", "failed"):
    SYNC_SECONDS.labels(_result)
for _system in TicketingSystem:
    TICKETS_WITHOUT_BARCODE.labels(_system.value)
