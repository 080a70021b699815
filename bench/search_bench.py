"""Benchmark 2: nearby search latency (SearchOffers through gRPC, one call in flight).

Baselines from the same run: the empty gRPC call (Health/Check), a bare SQL round trip
(SELECT 1), and the search's own SQL (catalog.api.search.SEARCH_SQL) sent from Python.

"At most 5 x the bare SQL round trip" is checked against the search's own SQL: the service's
overhead over the query it sends. Against SELECT 1 the ratio is only shown: an empty gRPC
call alone already costs a few SELECT 1.

One search is also EXPLAINed twice, with a custom plan and with the generic plan a prepared
statement switches to after five executions: each must read the venues through their GiST
index (ix_venues_earth), never scan offers or stocks whole, and stop reading offers once the
page is full instead of sorting every offer in the radius.
"""

import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from bench.activity import BENCH_APPLICATION
from bench.cpu import CpuProbe, format_cpu
from bench.harness import LatencyRun, latency_stats, one_at_a_time
from bench.report import Baseline, BenchResult, Figure, Target
from bench.seed import CITIES, SearchDataset, random_point
from bench.server import CatalogServer
from catalog.api.search import FAR_FUTURE, SEARCH_SQL
from passculture.catalog.v1 import search_service_pb2 as pb
from passculture.catalog.v1 import search_service_pb2_grpc as pb_grpc
from pclib.db import libpq_dsn
from tests.support.catalog_helpers import numbered

# The search's SQL with $1, $2… for a PREPARE, whose parameters come in this order.
SEARCH_SQL_NUMBERED, SEARCH_SQL_PARAMS = numbered(SEARCH_SQL)
MAX_P95_MS = 20.0
MAX_P95_OVER_SEARCH_SQL = 5.0
# An early stop reads a few venues' offers; a full sort reads every offer in the radius.
MAX_OFFERS_READ_PER_ROW = 10
EXPLAINED_CITY = CITIES[0]  # Paris: the densest place, the heaviest search
EXPLAINED_RADIUS_KM = 50.0
# Timed empty gRPC calls and SELECT 1 (cheap: more samples, steadier percentiles).
ROUND_TRIPS = 1000


@dataclass(frozen=True)
class SearchParams:
    searches: int
    warmup: int
    page_size: int
    radius_km: tuple[float, float]
    seed: int


@dataclass(frozen=True)
class SearchPoint:
    latitude: float
    longitude: float
    radius_km: float


def search_points(params: SearchParams) -> list[SearchPoint]:
    """Warm-up then measured points: half around cities, half anywhere in France."""
    rng = random.Random(params.seed)
    points = []
    for _ in range(params.warmup + params.searches):
        latitude, longitude = random_point(rng)
        points.append(SearchPoint(latitude, longitude, rng.uniform(*params.radius_km)))
    return points


def sql_params(point: SearchPoint, page_size: int) -> dict[str, Any]:
    """The parameters SearchServicer.SearchOffers binds for a first page with no filter."""
    return {
        "lat": point.latitude,
        "lon": point.longitude,
        "radius_m": point.radius_km * 1000,
        "after": datetime.now(UTC),
        "before": FAR_FUTURE,
        "title_pattern": "%%",
        "offset": 0,
        "limit": page_size + 1,
    }


class Callers:
    def __init__(
        self, channel: grpc.aio.Channel, conn: psycopg.AsyncConnection, page_size: int
    ) -> None:
        self._health = health_pb2_grpc.HealthStub(channel)
        self._search = pb_grpc.SearchServiceStub(channel)
        self._conn = conn
        self._page_size = page_size

    async def health_check(self, _: object) -> None:
        await self._health.Check(health_pb2.HealthCheckRequest())

    async def select_one(self, _: object) -> None:
        await (await self._conn.execute("SELECT 1")).fetchall()

    async def search_sql(self, point: SearchPoint) -> int:
        cursor = await self._conn.execute(SEARCH_SQL, sql_params(point, self._page_size))
        return len(await cursor.fetchall())

    async def search_grpc(self, point: SearchPoint) -> int:
        request = pb.SearchOffersRequest(
            latitude=point.latitude,
            longitude=point.longitude,
            radius_km=point.radius_km,
            page_size=self._page_size,
        )
        return len((await self._search.SearchOffers(request)).offers)


# --- EXPLAIN --------------------------------------------------------------------------------


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


def _node_summary(node: dict[str, Any]) -> dict[str, Any]:
    return {
        key: node[source]
        for key, source in (
            ("node", "Node Type"),
            ("relation", "Relation Name"),
            ("index", "Index Name"),
            ("actual_rows", "Actual Rows"),
            ("loops", "Actual Loops"),
            ("total_ms", "Actual Total Time"),
            ("shared_hit", "Shared Hit Blocks"),
            ("shared_read", "Shared Read Blocks"),
        )
        if source in node
    }


def _offers_read(nodes: list[dict[str, Any]]) -> int:
    return sum(
        n["Actual Rows"] * n["Actual Loops"] for n in nodes if n.get("Relation Name") == "offers"
    )


async def _offers_in_radius(conn: psycopg.AsyncConnection, point: SearchPoint) -> int:
    cursor = await conn.execute(
        "SELECT count(*) FROM venues v JOIN offers o ON o.venue_id = v.id"
        " WHERE earth_distance(ll_to_earth(v.latitude, v.longitude), ll_to_earth(%s, %s)) <= %s",
        (point.latitude, point.longitude, point.radius_km * 1000),
    )
    return (await cursor.fetchone())[0]


async def _explain_custom(conn: psycopg.AsyncConnection, options: str, params: dict[str, Any]):
    return await conn.execute(f"EXPLAIN ({options}) {SEARCH_SQL}", params)


async def _explain_generic(conn: psycopg.AsyncConnection, options: str, params: dict[str, Any]):
    """The generic plan a prepared statement falls back to: PREPARE, then force that plan."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.execute(f"PREPARE bench_search AS {SEARCH_SQL_NUMBERED}")
    try:
        values = [params[name] for name in SEARCH_SQL_PARAMS]
        placeholders = ", ".join(["%s"] * len(values))
        return await psycopg.AsyncClientCursor(conn).execute(
            f"EXPLAIN ({options}) EXECUTE bench_search({placeholders})", values
        )
    finally:
        await conn.execute("DEALLOCATE bench_search")
        await conn.execute("RESET plan_cache_mode")


async def explain_search(
    conn: psycopg.AsyncConnection, point: SearchPoint, page_size: int, plan: str
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one search ("custom" or "generic" plan) and its checks."""
    params = sql_params(point, page_size)
    explain = {"custom": _explain_custom, "generic": _explain_generic}[plan]
    json_plan = await explain(conn, "ANALYZE, BUFFERS, FORMAT JSON", params)
    explained = (await json_plan.fetchone())[0][0]
    text_plan = [
        row[0] for row in await (await explain(conn, "ANALYZE, BUFFERS", params)).fetchall()
    ]
    nodes = _plan_nodes(explained["Plan"])
    seq_scanned = sorted({n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"})
    uses_earth_index = any(n.get("Index Name") == "ix_venues_earth" for n in nodes)
    returned = explained["Plan"]["Actual Rows"]
    offers_read = _offers_read(nodes)
    stops_early = offers_read <= MAX_OFFERS_READ_PER_ROW * max(returned, 1)
    return {
        "plan": plan,
        "point": asdict(point),
        "planning_ms": explained.get("Planning Time"),
        "execution_ms": explained["Execution Time"],
        "uses_ix_venues_earth": uses_earth_index,
        "seq_scanned_tables": seq_scanned,
        "rows_returned": returned,
        "offers_read": offers_read,
        "offers_in_radius": await _offers_in_radius(conn, point),
        "stops_early": stops_early,
        "ok": uses_earth_index and not {"offers", "stocks"} & set(seq_scanned) and stops_early,
        "nodes": [_node_summary(n) for n in nodes],
        "text": text_plan,
    }


# --- the benchmark --------------------------------------------------------------------------


async def _measure(
    calls: dict[str, Any], inputs: list[Any], warmup: int, probe: CpuProbe
) -> dict[str, LatencyRun]:
    runs = await one_at_a_time(calls, inputs, warmup=warmup, probe=probe)
    for name, run in runs.items():
        stats = run.latency
        print(
            f"  {name:<14} p50 {stats['p50_ms']:7.3f} ms  p95 {stats['p95_ms']:7.3f} ms"
            f"  p99 {stats['p99_ms']:7.3f} ms  (n={stats['count']})"
        )
    print(f"  {'':<14} {format_cpu(next(iter(runs.values())).cpu)}")
    return runs


def _breakdown(run: LatencyRun, page_size: int) -> dict[str, Any]:
    """Offers returned, and the latency of searches that filled a page (dense areas) or not."""
    returned = run.outputs
    full = [s for s, count in zip(run.samples, returned, strict=True) if count >= page_size]
    partial = [s for s, count in zip(run.samples, returned, strict=True) if count < page_size]
    return {
        "mean_offers_returned": round(sum(returned) / len(returned), 1),
        "empty_pages": sum(1 for count in returned if count == 0),
        "full_pages": len(full),
        "latency_full_pages": latency_stats(full),
        "latency_other_pages": latency_stats(partial),
    }


async def run_search_bench(
    server: CatalogServer, database_url: str, dataset: SearchDataset, params: SearchParams
) -> BenchResult:
    probe = CpuProbe(make_url(database_url).database, server.pid)
    points = search_points(params)
    paris = SearchPoint(EXPLAINED_CITY[1], EXPLAINED_CITY[2], EXPLAINED_RADIUS_KM)
    async with (
        grpc.aio.insecure_channel(server.address) as channel,
        await psycopg.AsyncConnection.connect(
            libpq_dsn(database_url), autocommit=True, application_name=BENCH_APPLICATION
        ) as conn,
    ):
        callers = Callers(channel, conn, params.page_size)
        round_trips = await _measure(
            {"health_check": callers.health_check, "select_1": callers.select_one},
            [None] * (params.warmup + ROUND_TRIPS),
            params.warmup,
            probe,
        )
        searches = await _measure(
            {"search_sql": callers.search_sql, "search_grpc": callers.search_grpc},
            points,
            params.warmup,
            probe,
        )
        runs = round_trips | searches
        explains = [
            await explain_search(conn, paris, params.page_size, plan)
            for plan in ("custom", "generic")
        ]
    return _result(runs, params, dataset, explains)


def _explain_target(explain: dict[str, Any]) -> Target:
    seq_scans = ", ".join(explain["seq_scanned_tables"]) or "none"
    return Target(
        f"EXPLAIN ({explain['plan']} plan): venues read through ix_venues_earth, no seq scan of"
        f" offers/stocks (seq scans: {seq_scans}), {explain['offers_read']} offers read for"
        f" {explain['rows_returned']} rows (of {explain['offers_in_radius']} in the radius;"
        f" limit {MAX_OFFERS_READ_PER_ROW} per row)",
        measured=float(explain["ok"]),
        limit=1.0,
        passed=explain["ok"],
    )


def _result(
    runs: dict[str, LatencyRun],
    params: SearchParams,
    dataset: SearchDataset,
    explains: list[dict[str, Any]],
) -> BenchResult:
    def stat(run: str, key: str) -> float:
        return runs[run].latency[key]

    figures = [
        Figure(
            f"SearchOffers {q}",
            stat("search_grpc", f"{q}_ms"),
            "ms",
            [
                Baseline(f"search SQL direct {q}", stat("search_sql", f"{q}_ms"), "ms"),
                Baseline(f"SELECT 1 {q}", stat("select_1", f"{q}_ms"), "ms"),
                Baseline(f"gRPC Health/Check {q}", stat("health_check", f"{q}_ms"), "ms"),
            ],
        )
        for q in ("p50", "p95", "p99")
    ]
    p95 = stat("search_grpc", "p95_ms")
    over_search_sql = p95 / stat("search_sql", "p95_ms")
    over_select_1 = p95 / stat("select_1", "p95_ms")
    health_over_select_1 = stat("health_check", "p95_ms") / stat("select_1", "p95_ms")
    targets = [
        Target(
            f"SearchOffers p95 = {over_search_sql:.1f} x its own SQL sent directly, p95 "
            f"(target <= {MAX_P95_OVER_SEARCH_SQL:.0f} x)",
            measured=over_search_sql,
            limit=MAX_P95_OVER_SEARCH_SQL,
            passed=over_search_sql <= MAX_P95_OVER_SEARCH_SQL,
        ),
        Target(
            f"SearchOffers p95 = {over_select_1:.1f} x SELECT 1 p95 (an empty gRPC call alone:"
            f" {health_over_select_1:.1f} x)",
            measured=over_select_1,
            limit=MAX_P95_OVER_SEARCH_SQL,
            passed=over_select_1 <= MAX_P95_OVER_SEARCH_SQL,
            informational=True,
        ),
        Target(
            f"SearchOffers p95 = {p95:.1f} ms (target < {MAX_P95_MS:.0f} ms)",
            measured=p95,
            limit=MAX_P95_MS,
            passed=p95 < MAX_P95_MS,
        ),
        *(_explain_target(explain) for explain in explains),
    ]
    return BenchResult(
        name="search_nearby_latency",
        parameters={
            **asdict(params),
            "dataset": asdict(dataset),
            "client": "1 process, 1 gRPC channel, one call in flight",
        },
        figures=figures,
        targets=targets,
        details={
            "runs": {name: run.to_json() for name, run in runs.items()},
            "search_grpc_breakdown": _breakdown(runs["search_grpc"], params.page_size),
            "search_sql_breakdown": _breakdown(runs["search_sql"], params.page_size),
            "explain": explains,
        },
    )
