"""Benchmark: Allociné syncs of 100 theaters x 30 films x 40 showtimes (120 000 showtimes).

Feeds in Allociné's real format are generated into a folder and served over HTTP by the fake
Allociné (`python -m importer fake-allocine`, its own process); the catalog is `python -m
catalog serve` (its own process); the import service's syncer runs in this process, as
`python -m importer sync-all` runs it, with its own fresh database.

Figures, in showtimes per second:
- cold sync (every offer and stock created), beside the catalog's batch upsert alone: the
  same offers sent straight to ProviderService.UpsertProviderOffers (to other venues, same
  chunks and concurrency), without fetching nor reading any feed;
- unchanged re-sync (must write nothing: checked on the catalog's rows), beside the cold sync;
- unchanged re-sync sent whole to the catalog (`sync-all --full`: no fingerprints), which
  shows what the catalog's read-only path costs.

Run alone: `python -m bench.import_bench` (with the Makefile's PYTHONPATH), or from `python -m
bench` through `run_import_bench`.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.cpu import CpuProbe, format_cpu
from bench.database import connect
from bench.paths import REPO_ROOT, python_path
from bench.report import Baseline, BenchResult, Figure, Target
from bench.server import CatalogServer, free_port

if str(REPO_ROOT / "services/import") not in sys.path:
    sys.path.append(str(REPO_ROOT / "services/import"))

from importer.app import wiring
from importer.daily import sync_all
from importer.domain.programme import ImportSettings, build_programme
from importer.provider_offers import to_send
from importer.settings import ImporterSettings
from pclib import migrations
from pclib.db import drop_database, make_engine
from tests.support.allocine_feeds import programme

IMPORTER_MIGRATIONS = REPO_ROOT / "services/import/importer/migrations"
API_KEY = "bench-allocine-key"
PRICE_CENTS = 690
TARGET_COLD_PER_SECOND = 5000.0
TARGET_RESYNC_SPEEDUP = 10.0
STARTUP_TIMEOUT_S = 20.0
ALLOCINE_COMMAND = (sys.executable, "-m", "importer", "fake-allocine")


@dataclass(frozen=True)
class ImportParams:
    theaters: int = 100
    films: int = 30
    showtimes_per_film: int = 40
    concurrency: int = 8
    chunk_stocks: int = 2000

    @property
    def showtimes(self) -> int:
        return self.theaters * self.films * self.showtimes_per_film


def theater_id(index: int) -> str:
    return f"B{index:04d}"


def write_feeds(folder: Path, params: ImportParams) -> dict[str, dict]:
    """One generated feed per theater, starting tomorrow (Paris): theater id → document."""
    first_day = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).date()
    feeds = {}
    for index in range(params.theaters):
        document = programme(
            first_day,
            films=params.films,
            showtimes_per_film=params.showtimes_per_film,
            first_movie_id=600_000 + 100 * index,
        )
        feeds[theater_id(index)] = document
        (folder / f"{theater_id(index)}.json").write_text(json.dumps(document))
    return feeds


# --- the processes and databases ----------------------------------------------------------


@contextmanager
def fake_allocine(folder: Path, workdir: Path):
    """`python -m importer fake-allocine` serving the folder; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "services/import"), python_path()]),
        "ALLOCINE_API_KEY": API_KEY,
        "LOG_LEVEL": "WARNING",
    }
    log = workdir / "fake-allocine.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own command)
            [*ALLOCINE_COMMAND, "--port", str(port), "--feeds", str(folder), "--no-rebase"],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fake Allociné exited:\n{log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError("fake Allociné not listening")


@contextmanager
def importer_database(catalog_url: str):
    url = make_url(catalog_url).set(database=f"bench_import_{uuid.uuid4().hex[:8]}")
    rendered = url.render_as_string(hide_password=False)
    try:
        migrations.upgrade(IMPORTER_MIGRATIONS, rendered)
        yield rendered
    finally:
        drop_database(rendered)


def seed_venues(catalog_url: str, import_url: str, params: ImportParams) -> tuple[list, list]:
    """A validated offerer with twice `theaters` venues in the catalog; the first half import
    the generated theaters, the second half take the baseline's upserts."""
    offerer = uuid.uuid4()
    venues = [uuid.uuid4() for _ in range(2 * params.theaters)]
    siren = f"{uuid.uuid4().int % 10**9:09d}"
    with connect(catalog_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO offerers (id, siren, name, status, created_at)"
            " VALUES (%s, %s, 'Bench cinemas', 'VALIDATED', now())",
            (offerer, siren),
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO venues (id, offerer_id, name, siret, address, postal_code, city,"
                " latitude, longitude, booking_email, timezone, created_at)"
                " VALUES (%s, %s, %s, %s, '1 rue du Cinéma', '75002', 'Paris', 48.87, 2.35,"
                " 'bench@cinema.test', 'Europe/Paris', now())",
                [
                    (venue, offerer, f"Bench {n}", f"{siren}{n:05d}")
                    for n, venue in enumerate(venues)
                ],
            )
    synced, baseline = venues[: params.theaters], venues[params.theaters :]
    with connect(import_url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO allocine_venues (venue_id, theater_id, price_cents, quantity, is_duo,"
            " enabled, timezone) VALUES (%s, %s, %s, NULL, true, true, 'Europe/Paris')",
            [(venue, theater_id(n), PRICE_CENTS) for n, venue in enumerate(synced)],
        )
    return synced, baseline


CATALOG_WRITES_SQL = """
SELECT (SELECT count(*) FROM offers) + (SELECT count(*) FROM stocks),
       (SELECT coalesce(sum(xmin::text::bigint), 0) FROM offers)
     + (SELECT coalesce(sum(xmin::text::bigint), 0) FROM stocks),
       (SELECT count(*) FROM offers WHERE xmax <> '0')
     + (SELECT count(*) FROM stocks WHERE xmax <> '0')
"""


def catalog_row_versions(catalog_url: str) -> tuple[int, int, int]:
    """(rows, sum of xmin, rows locked or updated since written): equal before and after a
    run that wrote nothing."""
    with connect(catalog_url) as conn:
        return tuple(conn.execute(CATALOG_WRITES_SQL).fetchone())


# --- the runs ---------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    cpu: dict
    showtimes: int

    @property
    def per_second(self) -> float:
        return self.showtimes / self.seconds


@asynccontextmanager
async def measured(name: str, probe: CpuProbe, showtimes: int, phases: dict):
    before = probe.snapshot()
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    phase = Phase(name, seconds, CpuProbe.cores_used(before, probe.snapshot()), showtimes)
    phases[name] = phase
    print(
        f"  {name:<34} {seconds:7.2f} s {phase.per_second:>10,.0f} showtimes/s"
        f"  {format_cpu(phase.cpu)}"
    )


@dataclass
class BaselineUpserts:
    """The feeds' offers, built before the clock starts, sent straight to the catalog."""

    batches: list[tuple[uuid.UUID, list]]
    stocks_created: int = 0

    @classmethod
    def of(cls, feeds: dict, venues: list) -> "BaselineUpserts":
        settings = ImportSettings(PRICE_CENTS, None, True)
        now, zone = datetime.now(UTC), ZoneInfo("Europe/Paris")
        return cls(
            [
                (
                    venue,
                    [to_send(o) for o in build_programme(feed, settings, zone, now).offers],
                )
                for venue, feed in zip(venues, feeds.values(), strict=True)
            ]
        )

    async def run(self, catalog, concurrency: int) -> None:
        slots = asyncio.Semaphore(concurrency)

        async def applied(reply, completed) -> None:
            self.stocks_created += reply.stocks_created

        async def one(venue_id, offers) -> None:
            async with slots:
                await catalog.upsert(str(venue_id), offers, applied)

        await asyncio.gather(*(one(venue, offers) for venue, offers in self.batches))


async def run_import_bench(
    server: CatalogServer, catalog_url: str, workdir: Path, params: ImportParams
) -> BenchResult:
    feeds_dir = workdir / "allocine-feeds"
    feeds_dir.mkdir(exist_ok=True)
    feeds = write_feeds(feeds_dir, params)
    probe = CpuProbe(make_url(catalog_url).database, server.pid)
    phases: dict[str, Phase] = {}
    with (
        importer_database(catalog_url) as import_url,
        fake_allocine(feeds_dir, workdir) as (
            allocine_url,
            _,
        ),
    ):
        _, baseline = seed_venues(catalog_url, import_url, params)
        settings = ImporterSettings(
            database_url=import_url,
            catalog_addr=server.address,
            jwt_private_key_file=str(workdir / "jwt-private.pem"),
            allocine_api_url=allocine_url,
            allocine_api_key=API_KEY,
            sync_concurrency=params.concurrency,
            catalog_chunk_stocks=params.chunk_stocks,
        )
        engine = make_engine(import_url, pool_size=params.concurrency + 2)
        try:
            async with wiring(engine, settings) as wired:
                checks = await _phases(
                    wired.syncer, engine, feeds, baseline, params, probe, phases, catalog_url
                )
        finally:
            await engine.dispose()
    return _result(phases, checks, params)


async def _phases(syncer, engine, feeds, baseline, params, probe, phases, catalog_url) -> dict:
    n = params.showtimes
    upserts = BaselineUpserts.of(feeds, baseline)
    async with measured("catalog batch upsert alone", probe, n, phases):
        await upserts.run(syncer.catalog, params.concurrency)
    checks = {"baseline_stocks_created": upserts.stocks_created}

    async with measured("cold sync", probe, n, phases):
        cold = await sync_all(engine, syncer, concurrency=params.concurrency)
    checks["cold_failed_venues"] = len(cold.failed)
    checks["cold_stocks_created"] = await _sum_stocks_created(engine)

    versions = catalog_row_versions(catalog_url)
    async with measured("unchanged re-sync", probe, n, phases):
        again = await sync_all(engine, syncer, concurrency=params.concurrency)
    checks["resync_failed_venues"] = len(again.failed)
    checks["resync_wrote_nothing"] = catalog_row_versions(catalog_url) == versions

    async with measured("unchanged re-sync, --full", probe, n, phases):
        full = await sync_all(engine, syncer, concurrency=params.concurrency, full=True)
    checks["full_resync_failed_venues"] = len(full.failed)
    checks["full_resync_wrote_nothing"] = catalog_row_versions(catalog_url) == versions
    print(f"  checks: {checks}")
    return checks


async def _sum_stocks_created(engine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT coalesce(sum(stocks_created), 0) FROM syncs")))


def _result(phases: dict[str, Phase], checks: dict, params: ImportParams) -> BenchResult:
    unit = "showtimes/s"
    upsert = Baseline(
        "catalog batch upsert alone", phases["catalog batch upsert alone"].per_second, unit
    )
    cold_phase = phases["cold sync"]
    cold = Baseline("cold sync", cold_phase.per_second, unit)
    figures = [
        Figure("cold sync", cold_phase.per_second, unit, [upsert]),
        Figure("unchanged re-sync", phases["unchanged re-sync"].per_second, unit, [cold, upsert]),
        Figure(
            "unchanged re-sync, --full",
            phases["unchanged re-sync, --full"].per_second,
            unit,
            [cold, upsert],
        ),
    ]
    speedup = figures[1].ratio(cold)
    full_speedup = figures[2].ratio(cold)
    all_created = checks["cold_stocks_created"] == params.showtimes
    targets = [
        Target(
            f"cold sync {cold.value:,.0f} showtimes/s (target >= {TARGET_COLD_PER_SECOND:,.0f})",
            measured=cold.value,
            limit=TARGET_COLD_PER_SECOND,
            passed=cold.value >= TARGET_COLD_PER_SECOND and all_created,
        ),
        Target(
            f"unchanged re-sync {speedup:.1f}x faster than the cold one, writing nothing"
            f" (target >= {TARGET_RESYNC_SPEEDUP:.0f}x)",
            measured=speedup,
            limit=TARGET_RESYNC_SPEEDUP,
            passed=speedup >= TARGET_RESYNC_SPEEDUP and checks["resync_wrote_nothing"],
        ),
        Target(
            f"unchanged re-sync with every offer sent to the catalog: {full_speedup:.1f}x faster"
            " than the cold one, writing nothing",
            measured=full_speedup,
            limit=TARGET_RESYNC_SPEEDUP,
            passed=full_speedup >= TARGET_RESYNC_SPEEDUP and checks["full_resync_wrote_nothing"],
            informational=True,
        ),
    ]
    return BenchResult(
        name="allocine_sync_throughput",
        parameters={
            **asdict(params),
            "showtimes": params.showtimes,
            "feeds": "generated in the real movieShowtimeList format, served over HTTP by"
            " `python -m importer fake-allocine` (own process)",
            "catalog": "`python -m catalog serve` (own process)",
            "importer": "this process: sync_all() as `python -m importer sync-all` runs it",
        },
        figures=figures,
        targets=targets,
        details={
            "phases": {
                name: {**asdict(phase), "per_second": round(phase.per_second, 1)}
                for name, phase in phases.items()
            },
            "checks": checks,
        },
    )


# --- standalone -----------------------------------------------------------------------------


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__)
    defaults = ImportParams()
    parser.add_argument("--theaters", type=int, default=defaults.theaters)
    parser.add_argument("--films", type=int, default=defaults.films)
    parser.add_argument("--showtimes-per-film", type=int, default=defaults.showtimes_per_film)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--chunk-stocks", type=int, default=defaults.chunk_stocks)
    parser.add_argument("--db-pool-size", type=int, default=10, help="the catalog's DB_POOL_SIZE")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return parser.parse_args()


def main() -> int:
    from bench.database import bench_database, server_settings
    from bench.report import machine_info, summary_table, write_result
    from bench.server import catalog_server

    args = _parse_args()
    params = ImportParams(
        args.theaters, args.films, args.showtimes_per_film, args.concurrency, args.chunk_stocks
    )

    async def run(catalog_url: str, workdir: Path) -> BenchResult:
        async with catalog_server(catalog_url, workdir, args.db_pool_size) as server:
            print(f"Allociné sync of {params.showtimes:,} showtimes, catalog pid {server.pid}:")
            return await run_import_bench(server, catalog_url, workdir, params)

    with bench_database() as catalog_url, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        machine = machine_info({"postgresql": server_settings(catalog_url)})
        result = asyncio.run(run(catalog_url, Path(tmp)))
    print(f"wrote {write_result(result, machine)}\n\n{summary_table([result])}")
    failed = any(target.failed for target in result.targets)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
