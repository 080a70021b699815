"""Local showtimes (naive, the theater's wall clock) to UTC instants, DST aware.

Two local times a year need a decision (PEP 495 semantics, fold=0):
- spring forward (e.g. 2027-03-28 02:30 in Europe/Paris does not exist): read with the offset
  in force before the change, i.e. shifted forward by the gap (01:30 UTC = 03:30 CEST). The
  showtime is kept: a wrong hour in the feed is likelier than a screening to drop.
- fall back (e.g. 2027-10-31 02:30 happens twice): the first occurrence (summer time, 00:30
  UTC), so that nobody arriving by the earlier reading misses the film.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)
