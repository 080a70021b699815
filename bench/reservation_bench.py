"""Benchmark 1: ReserveStock throughput through real gRPC.

Beside it, in the same run and at the same concurrency: an empty gRPC call (Health/Check on the
same server), the bare atomic conditional UPDATE the reservation is built on and the service's
own statement (RESERVE), both sent from Python in autocommit over as many connections as
the server's psycopg pool, which ReserveStock runs on (DB_POOL_SIZE).

Target (issue 11): ReserveStock on one hot showtime >= 70 % of its own statement sent directly.
The load comes from Python (grpcio's client; no compiled gRPC load generator is packaged here):
its CPU is in the figures ("client") and competes with the server's for the two cores.
"""

import random
import uuid
from collections import Counter
from dataclasses import asdict, dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from bench.activity import server_sessions
from bench.cpu import CpuProbe, format_cpu
from bench.database import ConnectionPool, connect, connection_pool
from bench.harness import ThroughputRun, closed_loop
from bench.report import Baseline, BenchResult, Figure, Target
from bench.seed import ReservationStocks, vacuum_analyze
from bench.server import CatalogServer
from catalog.reservations import RESERVE
from passculture.catalog.v1 import reservation_service_pb2 as pb
from passculture.catalog.v1 import reservation_service_pb2_grpc as pb_grpc

BARE_UPDATE = (
    "UPDATE stocks SET booked_quantity = booked_quantity + 1"
    " WHERE id = %s AND (quantity IS NULL OR booked_quantity + 1 <= quantity)"
)
# ReserveStock on one hot showtime must reach this share of its own statement's rate, sent
# directly over as many connections as the server's pool (issue 11).
TARGET_SHARE_OF_STATEMENT = 0.7


@dataclass(frozen=True)
class ReservationParams:
    concurrency: int
    warmup_s: float
    window_s: float


class Callers:
    """One call of each kind the benchmark repeats."""

    def __init__(
        self, channel: grpc.aio.Channel, pool: ConnectionPool, server: CatalogServer
    ) -> None:
        self._health = health_pb2_grpc.HealthStub(channel)
        self._reservations = pb_grpc.ReservationServiceStub(channel)
        self._metadata = server.service_metadata
        self._pool = pool
        # Seats each stock got from the bare UPDATE (no reservation row records those).
        self.bare_updates: Counter[str] = Counter()

    async def health_check(self) -> None:
        await self._health.Check(health_pb2.HealthCheckRequest())

    async def reserve(self, stock_id: str) -> None:
        request = pb.ReserveStockRequest(
            stock_id=stock_id, quantity=1, reservation_id=str(uuid.uuid4())
        )
        await self._reservations.ReserveStock(request, metadata=self._metadata)

    async def bare_update(self, stock_id: str) -> None:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(BARE_UPDATE, (stock_id,))
            if cursor.rowcount != 1:
                raise RuntimeError("the bare UPDATE reserved nothing")
        self.bare_updates[stock_id] += 1

    async def reserve_sql(self, stock_id: str) -> None:
        """RESERVE alone, in autocommit: what the reservation costs without the service."""
        params = {"stock_id": stock_id, "quantity": 1, "reservation_id": uuid.uuid4()}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(RESERVE, params)
            if await cursor.fetchone() is None:
                raise RuntimeError("RESERVE reserved nothing")


async def _measure(
    name: str, call, params: ReservationParams, probe: CpuProbe, database_url: str
) -> ThroughputRun:
    with connect(database_url, autocommit=True) as conn:
        vacuum_analyze(conn, "stocks")
    run = await closed_loop(
        name,
        call,
        concurrency=params.concurrency,
        warmup_s=params.warmup_s,
        window_s=params.window_s,
        probe=probe,
        sample_mid_run=lambda: server_sessions(database_url),
    )
    print(
        f"  {name:<24} {run.per_second:>9,.0f}/s  p50 {run.latency['p50_ms']:.1f} ms"
        f"  p99 {run.latency['p99_ms']:.1f} ms  {format_cpu(run.cpu)}  sessions {run.sampled}"
        + (f"  ERRORS {run.errors}" if run.errors else "")
    )
    return run


SEATS_SQL = """
SELECT s.id::text, s.booked_quantity, count(r.id)
FROM stocks s LEFT JOIN stock_reservations r ON r.stock_id = s.id
WHERE s.id = ANY(%s::uuid[])
GROUP BY s.id
"""


def check_no_lost_seat(
    database_url: str, stocks: ReservationStocks, bare_updates: Counter[str]
) -> dict[str, int | bool]:
    """Every stock's booked quantity = its reservation rows + the bare UPDATEs it took."""
    with connect(database_url) as conn:
        rows = conn.execute(SEATS_SQL, ([stocks.hot, *stocks.spread],)).fetchall()
    booked = sum(row[1] for row in rows)
    expected = sum(row[2] + bare_updates[row[0]] for row in rows)
    return {
        "booked_quantity": booked,
        "reservations_plus_bare_updates": expected,
        "ok": booked == expected,
    }


async def run_reservation_bench(
    server: CatalogServer,
    database_url: str,
    stocks: ReservationStocks,
    params: ReservationParams,
) -> BenchResult:
    probe = CpuProbe(make_url(database_url).database, server.pid)
    rng = random.Random(7)
    # As many connections as the server's psycopg pool, which ReserveStock runs on.
    pool_size = server.db_pool_size
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        connection_pool(database_url, pool_size) as pool,
    ):
        callers = Callers(channel, pool, server)
        runs = {}
        for name, call in (
            ("health_check", callers.health_check),
            ("bare_update_hot", lambda: callers.bare_update(stocks.hot)),
            ("reserve_sql_hot", lambda: callers.reserve_sql(stocks.hot)),
            ("reserve_hot", lambda: callers.reserve(stocks.hot)),
            ("bare_update_spread", lambda: callers.bare_update(rng.choice(stocks.spread))),
            ("reserve_spread", lambda: callers.reserve(rng.choice(stocks.spread))),
        ):
            runs[name] = await _measure(name, call, params, probe, database_url)
    consistency = check_no_lost_seat(database_url, stocks, callers.bare_updates)
    print(f"  seats check: {consistency}")
    return _result(runs, params, server, len(stocks.spread), consistency)


def _result(
    runs: dict[str, ThroughputRun],
    params: ReservationParams,
    server: CatalogServer,
    spread: int,
    consistency: dict[str, int | bool],
) -> BenchResult:
    health = Baseline("gRPC Health/Check", runs["health_check"].per_second, "calls/s")
    bare_hot = Baseline("bare UPDATE, hot row", runs["bare_update_hot"].per_second, "updates/s")
    bare_spread = Baseline(
        f"bare UPDATE, {spread} rows", runs["bare_update_spread"].per_second, "updates/s"
    )
    sql_hot = Baseline(
        "RESERVE direct, hot row", runs["reserve_sql_hot"].per_second, "reservations/s"
    )
    hot = Figure(
        "ReserveStock, 1 hot showtime",
        runs["reserve_hot"].per_second,
        "reservations/s",
        [bare_hot, sql_hot, health],
    )
    spread_figure = Figure(
        f"ReserveStock, {spread} showtimes",
        runs["reserve_spread"].per_second,
        "reservations/s",
        [bare_spread, health],
    )
    share = hot.ratio(sql_hot)
    targets = [
        Target(
            f"ReserveStock hot = {share:.0%} of its own statement sent directly "
            f"(target >= {TARGET_SHARE_OF_STATEMENT:.0%})",
            measured=share,
            limit=TARGET_SHARE_OF_STATEMENT,
            passed=share >= TARGET_SHARE_OF_STATEMENT,
        ),
        Target(
            f"ReserveStock hot = {hot.ratio(bare_hot):.0%} of a bare conditional UPDATE, its"
            f" statement {sql_hot.value / bare_hot.value:.0%} of it",
            measured=hot.ratio(bare_hot),
            limit=0.0,
            passed=True,
            informational=True,
        ),
    ]
    return BenchResult(
        name="reserve_stock_throughput",
        parameters={
            **asdict(params),
            "client": "1 process, asyncio, 1 gRPC channel (one HTTP/2 connection)",
            "spread_showtimes": spread,
            "server_db_pool_size": server.db_pool_size,
            "server_db_max_connections": server.db_max_connections,
            "bare_update_connections": server.db_pool_size,
            "bare_update_sql": BARE_UPDATE,
            "direct_sql_connections": server.db_pool_size,
            "direct_sql_mode": "autocommit, psycopg 3 async, statements prepared after 5 uses",
        },
        figures=[hot, spread_figure],
        targets=targets,
        details={
            "runs": {name: run.to_json() for name, run in runs.items()},
            "seats_check": consistency,
            # Above ~0.9 core the single client process would be what limits a run.
            "client_max_cores": max(run.cpu["client"] for run in runs.values()),
        },
    )
