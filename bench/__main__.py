"""python -m bench: runs the catalog benchmarks, writes bench/results/*.json, prints a table."""

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.booking_bench import BookingParams, run_booking_benchmark
from bench.database import bench_database, connect, server_settings
from bench.import_bench import ImportParams, run_import_bench
from bench.payments_bench import PaymentsParams, run_payments_bench
from bench.report import BenchResult, machine_info, summary_table, write_result
from bench.reservation_bench import ReservationParams, run_reservation_bench
from bench.search_bench import SearchParams, run_search_bench
from bench.seed import (
    ReservationStocks,
    SearchDataset,
    seed_reservation_stocks,
    seed_search_dataset,
    vacuum_analyze,
)
from bench.server import catalog_server

SEED = 20_261_128


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=["all", "reservations", "search", "imports", "bookings", "payments"],
        default="all",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured window per run")
    parser.add_argument("--spread", type=int, default=1000, help="showtimes of the spread run")
    parser.add_argument("--db-pool-size", type=int, default=10, help="the server's DB_POOL_SIZE")
    parser.add_argument("--venues", type=int, default=5000)
    parser.add_argument("--offers-per-venue", type=int, default=20)
    parser.add_argument("--searches", type=int, default=300, help="measured searches")
    parser.add_argument("--search-warmup", type=int, default=30)
    parser.add_argument("--profile-server", type=Path, help="cProfile the server to this file")
    parser.add_argument("--connections", type=int, default=50, help="wrk's connections")
    parser.add_argument(
        "--booking-seconds", type=float, default=15.0, help="measured window of each booking run"
    )
    parser.add_argument(
        "--profile",
        default="booking,catalog",
        help="suite processes py-spy samples under booking load, comma-separated",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return parser.parse_args()


def seed(database_url: str, args: argparse.Namespace) -> tuple[SearchDataset, ReservationStocks]:
    started = time.perf_counter()
    with connect(database_url, autocommit=True) as conn:
        dataset = seed_search_dataset(
            conn, venues=args.venues, offers_per_venue=args.offers_per_venue, seed=SEED
        )
        stocks = seed_reservation_stocks(conn, args.spread)
        vacuum_analyze(conn)
    print(f"seeded {dataset} in {time.perf_counter() - started:.1f} s")
    return dataset, stocks


async def run_benchmarks(
    database_url: str,
    workdir: Path,
    dataset: SearchDataset,
    stocks: ReservationStocks,
    args: argparse.Namespace,
) -> list[BenchResult]:
    results = []
    async with catalog_server(
        database_url, workdir, args.db_pool_size, args.profile_server
    ) as server:
        print(f"catalog server pid {server.pid} on {server.address}")
        if args.only in ("all", "reservations"):
            print(f"ReserveStock throughput, {args.concurrency} in flight:")
            params = ReservationParams(args.concurrency, args.warmup_seconds, args.seconds)
            results.append(await run_reservation_bench(server, database_url, stocks, params))
        if args.only in ("all", "search"):
            print("nearby search latency, one call in flight:")
            params = SearchParams(
                searches=args.searches,
                warmup=args.search_warmup,
                page_size=50,
                radius_km=(10.0, 50.0),
                seed=SEED,
            )
            results.append(await run_search_bench(server, database_url, dataset, params))
        if args.only in ("all", "imports"):
            print("Allociné sync, cold then unchanged:")
            results.append(await run_import_bench(server, database_url, workdir, ImportParams()))
    return results


def print_explain(results: list[BenchResult]) -> None:
    """The plans' nodes, without costs and filters (the full plans are in the JSON)."""
    for result in results:
        for explain in result.details.get("explain", []):
            print(
                f"\nEXPLAIN (ANALYZE, BUFFERS) of a search at {explain['point']},"
                f" {explain['plan']} plan:"
            )
            for line in explain["text"]:
                if "actual time" in line or line.startswith(("Planning Time", "Execution Time")):
                    print(re.sub(r"\(cost=[^)]*\) ", "", line))


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    results, machine = [], machine_info()
    if args.only not in ("bookings", "payments"):
        with bench_database() as database_url, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            print(f"bench database {make_url(database_url).database}")
            dataset, stocks = seed(database_url, args)
            machine = machine_info({"postgresql": server_settings(database_url)})
            results = asyncio.run(run_benchmarks(database_url, Path(tmp), dataset, stocks, args))
    if args.only in ("all", "bookings"):
        params = BookingParams(
            connections=args.connections,
            seconds=args.booking_seconds,
            profiled=tuple(args.profile.split(",")),
        )
        results.append(run_booking_benchmark(params))
    if args.only in ("all", "payments"):
        results.append(run_payments_bench(PaymentsParams()))
    print_explain(results)
    print()
    for result in results:
        print(f"wrote {write_result(result, machine)}")
    print(f"\n{summary_table(results)}")
    print(f"\nbench done in {time.monotonic() - started:.0f} s (database dropped)")
    failed = any(target.failed for result in results for target in result.targets)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
