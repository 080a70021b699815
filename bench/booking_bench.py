"""Benchmark: a booking end to end, and what each process of the suite spends on it.

The whole suite runs as processes (bench/suite.py): the gateway, each service's server, relay and
worker — the booking worker emails the venue through a local SMTP sink — on fresh databases.
Load comes from wrk, a compiled load generator (bench/wrk/*.lua), with 50 connections:
`GET /v1/me` (an authenticated no-op: one booking-service call, one read) then
`POST /v1/bookings` (every request a new booking: 500 young people each booking in turn the
next of 1 000 showtimes, each its own film). For each run: requests/s,
latency, and the CPU milliseconds and wake-ups (voluntary context switches) each process spent
per successful request, read from /proc before the run and once the events it caused were
handled (outbox published, venue emailed).
Then bookings arrive at a fixed rate of half the measured throughput, latencies counted from
each booking's scheduled start (open loop), and py-spy samples the booking and catalog servers
under booking load.

Targets (issue 11): service CPU per booking (every suite process but PostgreSQL) <= 6 ms; per
GET /v1/me <= 1.2 ms; bookings/s >= 35 % of GET /v1/me/s; booking p99 < 50 ms at half the
saturation throughput. PostgreSQL's CPU per booking is reported.
"""

import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.database import connect
from bench.load import CpuMeter, LoadRun, fixed_rate, write_lua_data, wrk
from bench.profiles import Profile, start_recording, summarize
from bench.report import RESULTS_DIR, Baseline, BenchResult, Figure, Target
from bench.seed import vacuum_analyze
from bench.suite import SUITE, Suite, running_suite
from pclib.auth import TokenIssuer

PRICE_CENTS = 10  # 30 000 cents of credit: 3 000 bookings per young person at most
TARGET_SERVICE_CPU_PER_BOOKING_MS = 6.0
TARGET_SERVICE_CPU_PER_ME_MS = 1.2
TARGET_SHARE_OF_NO_OP = 0.35
TARGET_FIXED_RATE_P99_MS = 50.0
OPEN_LOOP_SHARE = 0.5
DRAIN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BookingParams:
    connections: int = 50
    youngs: int = 500
    showtimes: int = 1_000
    warmup_seconds: float = 3.0
    seconds: float = 15.0
    profile_seconds: float = 8.0
    # py-spy samples these processes of the suite during a last, unmeasured booking run.
    profiled: tuple[str, ...] = ("booking", "catalog")


# --- data -----------------------------------------------------------------------------------


def seed_showtimes(catalog_url: str, count: int) -> list[str]:
    """One validated cinema with `count` offers of one showtime each, in 10 days, a million
    seats each: nothing sells out. Returns the stock ids."""
    offerer_id, venue_id = uuid.uuid4(), uuid.uuid4()
    with connect(catalog_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO offerers (id, siren, name, status, validated_at)"
            " VALUES (%s, '999999999', 'Bench bookings', 'VALIDATED', now())",
            (offerer_id,),
        )
        conn.execute(
            "INSERT INTO venues (id, offerer_id, name, siret, address, postal_code, city,"
            " latitude, longitude, booking_email, timezone) VALUES (%s, %s, 'Bench',"
            " '99999999900017', '1 quai', '29200', 'Brest', 46.0, -8.0, 'resa@cinema.test',"
            " 'Europe/Paris')",
            (venue_id, offerer_id),
        )
        rows = conn.execute(
            "WITH offers AS ("
            " INSERT INTO offers (id, venue_id, title, description, poster_url, is_duo,"
            " is_active, source) SELECT gen_random_uuid(), %s, 'Bench ' || n, '', '', false,"
            " true, 'MANUAL' FROM generate_series(1, %s) n RETURNING id),"
            " categories AS ("
            " INSERT INTO price_categories (id, offer_id, label, price_cents)"
            " SELECT gen_random_uuid(), id, 'Tarif unique', %s FROM offers"
            " RETURNING id, offer_id, price_cents)"
            " INSERT INTO stocks (id, offer_id, starts_at, price_category_id, price_cents,"
            " quantity, booked_quantity, booking_limit_at, features, is_active, edited_fields)"
            " SELECT gen_random_uuid(), offer_id, now() + interval '10 days', id, price_cents,"
            " 1000000, 0, now() + interval '9 days', '{VF}', true, '{}' FROM categories"
            " RETURNING id",
            (venue_id, count, PRICE_CENTS),
        ).fetchall()
        vacuum_analyze(conn)
    return [str(row[0]) for row in rows]


def seed_youngs(booking_url: str, count: int) -> list[str]:
    """Young people of 18 with their credit (no one signs in: the bench issues their tokens)."""
    with connect(booking_url, autocommit=True) as conn:
        rows = conn.execute(
            "WITH young AS ("
            " INSERT INTO beneficiaries (id, email, password_hash, first_name, last_name,"
            " birth_date, phone_number, postal_code, timezone)"
            " SELECT gen_random_uuid(), 'young-' || n || '@bench.example.com', '-', 'Camille',"
            " 'Bench ' || n, (now() - interval '18 years 1 month')::date, '', '29200',"
            " 'Europe/Paris' FROM generate_series(1, %s) n RETURNING id)"
            " INSERT INTO credits (id, beneficiary_id, initial_cents, granted_at, expires_at,"
            " granted_by) SELECT gen_random_uuid(), id, 30000, now(), now() + interval '2 years',"
            " 'bench' FROM young RETURNING beneficiary_id",
            (count,),
        ).fetchall()
        vacuum_analyze(conn)
    return [str(row[0]) for row in rows]


# --- checks ---------------------------------------------------------------------------------


def _pipeline(databases: dict[str, str]) -> dict[str, int]:
    with connect(databases["booking"]) as conn:
        confirmed, pending, outbox, emailed = conn.execute(
            "SELECT (SELECT count(*) FROM bookings WHERE status = 'CONFIRMED'),"
            " (SELECT count(*) FROM bookings WHERE status = 'PENDING'),"
            " (SELECT count(*) FROM outbox),"
            # The emails consumer's records (the notifications consumer's are scoped).
            " (SELECT count(*) FROM inbox WHERE routing_key = 'booking.created'"
            "  AND message_id NOT LIKE 'notifications:%%')"
        ).fetchone()
    with connect(databases["catalog"]) as conn:
        booked = conn.execute("SELECT coalesce(sum(booked_quantity), 0) FROM stocks").fetchone()
    return {
        "confirmed": confirmed,
        "pending": pending,
        "outbox": outbox,
        "emailed": emailed,
        "catalog_booked": int(booked[0]),
    }


def drained(databases: dict[str, str]) -> dict[str, int]:
    """Waits until every event was published and every confirmed booking emailed."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        state = _pipeline(databases)
        if state["outbox"] == 0 and state["emailed"] >= state["confirmed"]:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"the suite did not catch up: {state}")
        time.sleep(0.2)


# --- runs -----------------------------------------------------------------------------------


class Runs:
    """The wrk runs on one suite, each new booking run on showtimes never booked."""

    def __init__(self, suite: Suite, workdir: Path, tokens: list[str], stocks: list[str]) -> None:
        self.suite = suite
        self.workdir = workdir
        self.tokens = tokens
        self.stocks = stocks
        self.next_booking = 0
        self.refusals: Counter[str] = Counter()
        databases = [make_url(url).database or "" for url in suite.databases.values()]
        self.meter = CpuMeter(suite.pids, databases)

    def settle(self) -> None:
        drained(self.suite.databases)

    def booking(self, k: int) -> tuple[str, str]:
        """Booking k's young person's token and showtime (as bench/wrk/bookings.lua)."""
        young, turn = k % len(self.tokens), k // len(self.tokens)
        return self.tokens[young], self.stocks[(young + turn) % len(self.stocks)]

    def wrk(self, name: str, script: str, seconds: float, connections: int) -> LoadRun:
        data: dict[str, list[str] | int] = {"tokens": self.tokens}
        if script == "bookings":
            data |= {"stocks": self.stocks, "first": self.next_booking}
        lua = write_lua_data(self.workdir / f"{script}-data.lua", **data)
        self.settle()
        run = wrk(
            name,
            self.suite.base_url,
            script,
            lua,
            connections=connections,
            seconds=seconds,
            meter=self.meter,
            settle=self.settle,
        )
        if script == "bookings":
            self.next_booking += run.succeeded + run.failed + 2 * connections
        return run

    async def fixed_rate(self, rate: float, seconds: float, warmup: float) -> LoadRun:
        self.settle()
        first = self.next_booking
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=self.suite.base_url, limits=limits) as http:

            async def book(n: int) -> bool:
                token, stock_id = self.booking(first + n)
                answer = await http.post(
                    "/v1/bookings",
                    json={"stock_id": stock_id, "quantity": 1},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                if answer.status_code != 201:
                    self.refusals[f"{answer.status_code} {answer.json().get('code')}"] += 1
                return answer.status_code == 201

            run = await fixed_rate(
                f"bookings at {rate:.0f}/s",
                book,
                rate=rate,
                seconds=seconds,
                warmup_seconds=warmup,
                meter=self.meter,
                settle=self.settle,
            )
        self.next_booking += round(rate * (seconds + warmup)) + 10
        return run

    def profiled(self, names: tuple[str, ...], seconds: float, connections: int) -> list[Profile]:
        """py-spy on these processes during a booking run (not measured)."""
        outputs = {name: self.workdir / f"py-spy-{name}.txt" for name in names}
        recorders = {
            name: start_recording(self.suite.pids[name], seconds, output)
            for name, output in outputs.items()
        }
        self.wrk("profiled bookings", "bookings", seconds + 1, connections)
        profiles = []
        for name, recorder in recorders.items():
            _, errors = recorder.communicate()
            if recorder.returncode != 0 or not outputs[name].exists():
                print(f"  py-spy on {name} failed: {errors.decode(errors='replace')[-500:]}")
                continue
            profiles.append(summarize(name, outputs[name].read_text()))
            # The collapsed stacks, for a flame graph (e.g. `flamegraph.pl` or speedscope).
            shutil.copy(outputs[name], RESULTS_DIR / f"py-spy-{name}.txt")
        return profiles


def _print(run: LoadRun) -> None:
    latency = "  ".join(
        f"{key.removesuffix('_ms')} {value:.1f} ms" for key, value in run.latency_ms.items()
    )
    cpu = run.cpu_ms_per_request()
    service = sum(cpu[name] for name in SUITE)
    print(
        f"  {run.name:<24} {run.per_second:>7,.1f}/s  {latency}"
        + (f"  FAILED {run.failed}" if run.failed else "")
    )
    print(
        f"  {'':<24} CPU ms per request: suite {service:.2f}, postgres {cpu['postgres']:.2f}; "
        + ", ".join(f"{name} {cpu[name]:.2f}" for name in SUITE)
    )
    woken = run.wakeups_per_request()
    print(
        f"  {'':<24} wake-ups per request: "
        + ", ".join(f"{name} {woken[name]:.1f}" for name in SUITE if woken[name] >= 0.05)
    )


def service_cpu_ms(run: LoadRun) -> float:
    """CPU per successful request of every suite process but PostgreSQL."""
    return sum(run.cpu_ms_per_request(list(SUITE)).values())


async def run_booking_bench(suite: Suite, workdir: Path, params: BookingParams) -> BenchResult:
    stocks = seed_showtimes(suite.databases["catalog"], params.showtimes)
    issuer = TokenIssuer.from_file(str(suite.private_key))
    tokens = [
        issuer.issue(young, "beneficiary", ttl_seconds=3600)
        for young in seed_youngs(suite.databases["booking"], params.youngs)
    ]
    runs = Runs(suite, workdir, tokens, stocks)
    c, warm = params.connections, params.warmup_seconds
    runs.wrk("warm-up GET /v1/me", "me", warm, c)
    runs.wrk("warm-up bookings", "bookings", warm, c)
    me = runs.wrk("GET /v1/me", "me", params.seconds, c)
    _print(me)
    book = runs.wrk("POST /v1/bookings", "bookings", params.seconds, c)
    _print(book)
    rate = book.per_second * OPEN_LOOP_SHARE
    fixed = await runs.fixed_rate(rate, params.seconds, warm)
    _print(fixed)
    if runs.refusals:
        print(f"  refused at the fixed rate: {dict(runs.refusals)}")
    profiles = runs.profiled(params.profiled, params.profile_seconds, c)
    for profile in profiles:
        print("\n".join(profile.lines()))
    state = drained(suite.databases)
    print(f"  pipeline after the runs: {state}")
    return _result(me, book, fixed, profiles, state, params)


def _result(
    me: LoadRun,
    book: LoadRun,
    fixed: LoadRun,
    profiles: list[Profile],
    state: dict[str, int],
    params: BookingParams,
) -> BenchResult:
    me_cpu, book_cpu = service_cpu_ms(me), service_cpu_ms(book)
    share = book.per_second / me.per_second if me.per_second else 0.0
    p99 = fixed.latency_ms.get("p99_ms", float("inf"))
    postgres = book.cpu_ms_per_request(["postgres"])["postgres"]
    consistent = (
        state["pending"] == 0
        and state["confirmed"] == state["catalog_booked"] == state["emailed"]
        and not (me.failed or book.failed or fixed.failed)
    )
    figures = [
        Figure(
            "POST /v1/bookings",
            book.per_second,
            "bookings/s",
            [Baseline("GET /v1/me (authenticated no-op)", me.per_second, "requests/s")],
        ),
        Figure(
            "suite CPU per booking (PostgreSQL apart)",
            book_cpu,
            "ms",
            [Baseline("suite CPU per GET /v1/me", me_cpu, "ms")],
        ),
        Figure(
            "PostgreSQL CPU per booking",
            postgres,
            "ms",
            [
                Baseline(
                    "PostgreSQL CPU per GET /v1/me",
                    me.cpu_ms_per_request(["postgres"])["postgres"],
                    "ms",
                )
            ],
        ),
        Figure(
            f"booking p99 at a fixed {fixed.per_second:.0f}/s (open loop)",
            p99,
            "ms",
            [
                Baseline(
                    "booking p99, 50 connections (closed loop)", book.latency_ms["p99_ms"], "ms"
                )
            ],
        ),
    ]
    targets = [
        Target(
            f"suite CPU per booking = {book_cpu:.2f} ms"
            f" (target <= {TARGET_SERVICE_CPU_PER_BOOKING_MS} ms)",
            book_cpu,
            TARGET_SERVICE_CPU_PER_BOOKING_MS,
            book_cpu <= TARGET_SERVICE_CPU_PER_BOOKING_MS,
        ),
        Target(
            f"suite CPU per GET /v1/me = {me_cpu:.2f} ms"
            f" (target <= {TARGET_SERVICE_CPU_PER_ME_MS} ms)",
            me_cpu,
            TARGET_SERVICE_CPU_PER_ME_MS,
            me_cpu <= TARGET_SERVICE_CPU_PER_ME_MS,
        ),
        Target(
            f"bookings/s = {share:.0%} of GET /v1/me/s (target >= {TARGET_SHARE_OF_NO_OP:.0%})",
            share,
            TARGET_SHARE_OF_NO_OP,
            share >= TARGET_SHARE_OF_NO_OP,
        ),
        Target(
            f"booking p99 = {p99:.1f} ms at {fixed.per_second:.0f}/s, half the saturation"
            f" throughput (target < {TARGET_FIXED_RATE_P99_MS:.0f} ms)",
            p99,
            TARGET_FIXED_RATE_P99_MS,
            p99 < TARGET_FIXED_RATE_P99_MS,
        ),
        Target(
            f"PostgreSQL CPU per booking = {postgres:.2f} ms",
            postgres,
            0.0,
            True,
            informational=True,
        ),
        Target(
            f"no failed request; every confirmed booking holds its seat and was emailed ({state})",
            float(consistent),
            1.0,
            consistent,
        ),
    ]
    return BenchResult(
        name="booking_end_to_end",
        parameters={**asdict(params), "load": "wrk -t1 (bench/wrk/*.lua); open loop: httpx"},
        figures=figures,
        targets=targets,
        details={
            "runs": {run.name: run.to_json() for run in (me, book, fixed)},
            "profiles": {profile.name: profile.to_json() for profile in profiles},
            "pipeline": state,
        },
    )


def run_booking_benchmark(params: BookingParams) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp:
        return asyncio.run(_run(Path(tmp), params))


async def _run(workdir: Path, params: BookingParams) -> BenchResult:
    async with running_suite(workdir) as suite:
        print(f"suite on {suite.base_url}: {suite.pids}")
        return await run_booking_bench(suite, workdir, params)
