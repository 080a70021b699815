"""Benchmark: a payment batch over 1 000 000 ledger lines of 2 000 venues, and over 250 000.

The payments database is seeded straight with SQL (generate_series): venues with bank accounts
and offerer names, half of them with a SIRET, the lines used over the last 30 days. Each batch
runs in its own process (`python -m bench.payments_bench --child batch URL`), as the scheduled
`python -m payments batch` does, and reports its duration and its peak memory (ru_maxrss).

Figures:
- batch throughput in lines per second, beside the same run's baseline: reading those lines
  with the batch's one SQL query from Python (server-side cursor, no pricing, no writes);
- the batch's peak memory at 1 000 000 lines beside the one at 250 000 (flat: the lines are
  streamed), and beside the baseline process's.

Run alone: `python -m bench.payments_bench` (with the Makefile's PYTHONPATH), or from `python -m
bench --only payments`.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import psycopg
from sqlalchemy.engine import make_url

from bench.paths import REPO_ROOT, python_path
from bench.report import Baseline, BenchResult, Figure, Target

if str(REPO_ROOT / "services/payments") not in sys.path:
    sys.path.append(str(REPO_ROOT / "services/payments"))

from payments.batch.run import LINES_TO_PAY
from pclib import migrations
from pclib.db import drop_database, libpq_dsn

PAYMENTS_MIGRATIONS = REPO_ROOT / "services/payments/payments/migrations"
TARGET_LINES_PER_SECOND = 20_000.0
TARGET_PEAK_MIB = 500.0
# Flat: the batch at 4x the lines may not take more than this much more memory.
TARGET_MEMORY_GROWTH = 1.5
FETCH_ROWS = 10_000

SEED_VENUES = """
INSERT INTO bank_accounts (venue_id, offerer_id, iban, bic, holder_name, creditor_name,
                           offerer_siren, venue_siret, status)
SELECT md5('venue' || i)::uuid, md5('offerer' || (i / 4))::uuid, ibans.iban, 'BNPAFRPPXXX',
       'Cinéma ' || i, 'Exploitant ' || (i / 4), lpad((i / 4)::text, 9, '0'),
       CASE WHEN i %% 2 = 0 THEN lpad(i::text, 14, '0') ELSE '' END, 'ACCEPTED'
FROM unnest(%(ibans)s::text[]) WITH ORDINALITY AS ibans(iban, i)
"""
SEED_LINES = """
INSERT INTO ledger_lines (booking_id, venue_id, offerer_id, offerer_siren, venue_siret, stock_id,
                          total_cents, starts_at, state, scale_key, used_at, used_year,
                          last_event_at)
SELECT gen_random_uuid(), b.venue_id, b.offerer_id, b.offerer_siren, b.venue_siret,
       gen_random_uuid(), l.total, l.used_at - interval '2 hours', 'USED',
       CASE WHEN b.venue_siret <> '' THEN b.venue_siret ELSE 'venue:' || b.venue_id END,
       l.used_at, extract(year FROM l.used_at AT TIME ZONE 'Europe/Paris')::int, l.used_at
FROM (
    SELECT n, 500 + (n * 7919) %% 1500 AS total,
           %(now)s::timestamptz - make_interval(secs => 60 + (n * 104729) %% (30 * 86400))
               AS used_at
    FROM generate_series(1::bigint, %(lines)s) AS n
) l
JOIN bank_accounts b ON b.venue_id = md5('venue' || (1 + l.n %% %(venues)s))::uuid
"""


@dataclass(frozen=True)
class PaymentsParams:
    lines: int = 1_000_000
    small_lines: int = 250_000
    venues: int = 2_000


@dataclass(frozen=True)
class ChildRun:
    lines: int
    seconds: float
    peak_mib: float

    @property
    def per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


# --- the child processes --------------------------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def _child_batch(database_url: str) -> ChildRun:
    from payments.app import debtor
    from payments.batch.run import create_batch
    from payments.settings import PaymentsSettings
    from pclib.db import make_engine

    engine = make_engine(database_url, pool_size=1)
    try:
        started = time.perf_counter()
        outcome = await create_batch(engine, debtor(PaymentsSettings()), datetime.now(UTC))
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return ChildRun(outcome.batch.booking_count, seconds, _peak_mib())


def _child_read(database_url: str) -> ChildRun:
    """The baseline: the batch's query, every row fetched into Python, nothing else."""
    started = time.perf_counter()
    lines = 0
    with psycopg.connect(libpq_dsn(database_url)) as conn, conn.cursor(name="lines") as cursor:
        cursor.execute(LINES_TO_PAY, {"cutoff": datetime.now(UTC), "now": datetime.now(UTC)})
        while rows := cursor.fetchmany(FETCH_ROWS):
            lines += len(rows)
    return ChildRun(lines, time.perf_counter() - started, _peak_mib())


def _run_child(kind: str, database_url: str) -> ChildRun:
    env = {**os.environ, "PYTHONPATH": python_path(), "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "bench.payments_bench", "--child", kind, database_url]
    done = subprocess.run(  # noqa: S603 (our own command)
        command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stdout}\n{done.stderr}")
    return ChildRun(**json.loads(done.stdout.strip().splitlines()[-1]))


# --- the parent -----------------------------------------------------------------------------


def _new_database() -> str:
    server = os.environ.get("PG_URL", "postgresql+psycopg://postgres@localhost:5432").rstrip("/")
    return f"{server}/bench_payments_{uuid.uuid4().hex[:8]}"


def _seed(database_url: str, lines: int, venues: int) -> float:
    from tests.support.payments_helpers import new_iban

    started = time.perf_counter()
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        conn.execute(SEED_VENUES, {"ibans": [new_iban(n) for n in range(1, venues + 1)]})
        conn.execute(SEED_LINES, {"now": datetime.now(UTC), "lines": lines, "venues": venues})
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def _measure(lines: int, venues: int, *, with_baseline: bool) -> tuple[ChildRun, ChildRun | None]:
    url = _new_database()
    try:
        migrations.upgrade(PAYMENTS_MIGRATIONS, url)
        seeded = _seed(url, lines, venues)
        print(f"  {make_url(url).database}: {lines:,} lines of {venues:,} venues in {seeded:.0f} s")
        baseline = _run_child("read", url) if with_baseline else None
        if baseline:
            print(
                f"  baseline read: {baseline.per_second:,.0f} lines/s,"
                f" peak {baseline.peak_mib:.0f} MiB"
            )
        batch = _run_child("batch", url)
        print(
            f"  batch: {batch.lines:,} lines in {batch.seconds:.1f} s,"
            f" {batch.per_second:,.0f} lines/s, peak {batch.peak_mib:.0f} MiB"
        )
        return batch, baseline
    finally:
        drop_database(url)


def run_payments_bench(params: PaymentsParams) -> BenchResult:
    print(f"payment batch, {params.small_lines:,} lines:")
    small, _ = _measure(params.small_lines, params.venues, with_baseline=False)
    print(f"payment batch, {params.lines:,} lines:")
    large, read = _measure(params.lines, params.venues, with_baseline=True)
    assert read is not None
    unit = "lines/s"
    figures = [
        Figure(
            "batch throughput",
            large.per_second,
            unit,
            [Baseline("one SQL query read from Python", read.per_second, unit)],
        ),
        Figure(
            f"batch peak memory at {params.lines:,} lines",
            large.peak_mib,
            "MiB",
            [
                Baseline(f"batch at {params.small_lines:,} lines", small.peak_mib, "MiB"),
                Baseline("reading process", read.peak_mib, "MiB"),
            ],
        ),
    ]
    growth = large.peak_mib / small.peak_mib if small.peak_mib else float("inf")
    targets = [
        Target(
            f"batch >= {TARGET_LINES_PER_SECOND:,.0f} lines/s",
            large.per_second,
            TARGET_LINES_PER_SECOND,
            large.per_second >= TARGET_LINES_PER_SECOND,
        ),
        Target(
            f"batch peak memory < {TARGET_PEAK_MIB:.0f} MiB at {params.lines:,} lines",
            large.peak_mib,
            TARGET_PEAK_MIB,
            large.peak_mib < TARGET_PEAK_MIB,
        ),
        Target(
            f"memory flat: peak at 4x the lines <= {TARGET_MEMORY_GROWTH}x",
            growth,
            TARGET_MEMORY_GROWTH,
            growth <= TARGET_MEMORY_GROWTH,
        ),
    ]
    return BenchResult(
        "payments",
        asdict(params),
        figures,
        targets,
        details={
            "batch_small": asdict(small),
            "batch_large": asdict(large),
            "baseline_read": asdict(read),
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payments_bench")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "DATABASE_URL"))
    parser.add_argument("--lines", type=int, default=PaymentsParams.lines)
    parser.add_argument("--small-lines", type=int, default=PaymentsParams.small_lines)
    parser.add_argument("--venues", type=int, default=PaymentsParams.venues)
    args = parser.parse_args()
    if args.child:
        kind, url = args.child
        run = asyncio.run(_child_batch(url)) if kind == "batch" else _child_read(url)
        print(json.dumps(asdict(run)))
        return 0
    from bench.report import machine_info, summary_table, write_result

    result = run_payments_bench(PaymentsParams(args.lines, args.small_lines, args.venues))
    print(f"wrote {write_result(result, machine_info())}")
    print(summary_table([result]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
