"""Benchmarks of the catalog service, each figure beside a baseline measured in the same run.

`make bench` (or `python -m bench --help` with the Makefile's PYTHONPATH) creates and migrates
a fresh database, seeds it with SQL, starts `python -m catalog serve` as a separate process,
and writes one JSON file per benchmark to bench/results/, then drops the database.

- reserve_stock_throughput: ReserveStock over gRPC (one hot showtime, then 1 000) beside an
  empty gRPC call, the bare conditional UPDATE it is built on, and the service's own
  reservation statement (RESERVE) sent directly.
- search_nearby_latency: SearchOffers over 100 000 offers beside an empty gRPC call, SELECT 1
  and the search's own SQL sent directly; plus an EXPLAIN (ANALYZE, BUFFERS) of one search.
- booking_end_to_end (`--only bookings`): the whole suite as processes under wrk: POST
  /v1/bookings beside GET /v1/me (an authenticated no-op), CPU milliseconds per request of
  every process, open-loop latency at half the saturation rate, py-spy top frames
  (bench/booking_bench.py).
"""

import sys

from bench.paths import REPO_ROOT, SOURCE_ROOTS

# `python -m bench` works without the Makefile's PYTHONPATH too.
for _root in SOURCE_ROOTS:
    if str(REPO_ROOT / _root) not in sys.path:
        sys.path.append(str(REPO_ROOT / _root))
