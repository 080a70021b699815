"""Prometheus metrics of the syncs."""

from prometheus_client import Counter, Histogram

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

for _result in ("imported", "skipped", "rejected"):
    SHOWTIMES.labels(_result)
for _result in ("succeeded", "failed"):
    SYNC_SECONDS.labels(_result)
