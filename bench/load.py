"""HTTP load for the end-to-end benchmarks: wrk (a compiled load generator) for throughput in a
closed loop, and a fixed arrival rate for open-loop latency; each run read beside the CPU every
process spent during it."""

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cpu import machine_busy_seconds, postgres_cpu_seconds, process_cpu_seconds, wakeups
from bench.harness import latency_stats

WRK_SCRIPTS = Path(__file__).parent / "wrk"


@dataclass(frozen=True)
class Reading:
    """Cumulative CPU seconds (the processes, PostgreSQL, the machine) and wake-ups (the
    processes), or what was spent between two readings."""

    cpu_seconds: dict[str, float]
    wakeups: dict[str, int]


class CpuMeter:
    """Cumulative CPU seconds and wake-ups of named processes, and CPU seconds of PostgreSQL's
    processes serving the given databases, read from /proc."""

    def __init__(self, pids: Mapping[str, int], databases: list[str]) -> None:
        self._pids = dict(pids)
        self._databases = databases

    def snapshot(self) -> Reading:
        sample = {name: process_cpu_seconds(pid) for name, pid in self._pids.items()}
        sample["postgres"] = sum(postgres_cpu_seconds(name) for name in self._databases)
        sample["machine"] = machine_busy_seconds()
        return Reading(sample, {name: wakeups(pid) for name, pid in self._pids.items()})

    @staticmethod
    def spent(before: Reading, after: Reading) -> Reading:
        return Reading(
            {name: after.cpu_seconds[name] - value for name, value in before.cpu_seconds.items()},
            {name: after.wakeups[name] - value for name, value in before.wakeups.items()},
        )


@dataclass
class LoadRun:
    """A run's successful requests, their latency, and the CPU seconds each process spent."""

    name: str
    seconds: float
    succeeded: int
    failed: int
    latency_ms: dict[str, float]
    spent: Reading

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds

    def cpu_ms_per_request(self, names: list[str] | None = None) -> dict[str, float]:
        """CPU milliseconds per successful request of each process (or of those named)."""
        chosen = names if names is not None else list(self.spent.cpu_seconds)
        if not self.succeeded:
            return {name: float("nan") for name in chosen}
        return {name: self.spent.cpu_seconds[name] * 1000 / self.succeeded for name in chosen}

    def wakeups_per_request(self) -> dict[str, float]:
        """Voluntary context switches per successful request of each process."""
        return {
            name: count / self.succeeded if self.succeeded else float("nan")
            for name, count in self.spent.wakeups.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seconds": round(self.seconds, 2),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "per_second": round(self.per_second, 1),
            "latency_ms": self.latency_ms,
            "cpu_ms_per_request": {
                name: round(value, 3) for name, value in self.cpu_ms_per_request().items()
            },
            "wakeups_per_request": {
                name: round(value, 2) for name, value in self.wakeups_per_request().items()
            },
        }


def write_lua_data(path: Path, **tables: list[str] | int) -> Path:
    """A Lua file returning the given lists (of strings) and numbers, for the wrk scripts."""

    def lua(value: list[str] | int) -> str:
        if isinstance(value, int):
            return str(value)
        return "{" + ",".join(json.dumps(item) for item in value) + "}"

    path.write_text("return {" + ", ".join(f"{k} = {lua(v)}" for k, v in tables.items()) + "}\n")
    return path


def wrk(
    name: str,
    url: str,
    script: str,
    data: Path,
    *,
    connections: int,
    seconds: float,
    meter: CpuMeter,
    settle: Callable[[], object] = lambda: None,
) -> LoadRun:
    """`wrk -t1 -c<connections> -d<seconds>s -s bench/wrk/<script>.lua`; the CPU is read just
    before, and after `settle()` returned (once the work the requests caused is done)."""
    env = {
        **os.environ,
        "BENCH_WRK_DATA": str(data),
        "BENCH_WRK_REPORT": str(WRK_SCRIPTS / "report.lua"),
    }
    command = [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPTS / f"{script}.lua"),
        url,
    ]
    before = meter.snapshot()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    settle()
    spent = CpuMeter.spent(before, meter.snapshot())
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    failed = figures["status_errors"] + figures["socket_errors"]
    return LoadRun(
        name=name,
        seconds=figures["duration_us"] / 1e6,
        succeeded=figures["requests"] - figures["status_errors"],
        failed=failed,
        latency_ms={
            "p50_ms": figures["p50_us"] / 1000,
            "p90_ms": figures["p90_us"] / 1000,
            "p99_ms": figures["p99_us"] / 1000,
            "max_ms": figures["max_us"] / 1000,
        },
        spent=spent,
    )


async def fixed_rate(
    name: str,
    call: Callable[[int], Awaitable[bool]],
    *,
    rate: float,
    seconds: float,
    warmup_seconds: float,
    meter: CpuMeter,
    settle: Callable[[], object] = lambda: None,
) -> LoadRun:
    """Calls started at a fixed arrival rate whether earlier ones returned or not (open loop):
    call n is `call(n)`, True when it succeeded. A latency runs from the call's scheduled
    start, so time spent queueing counts (no coordinated omission). Only calls scheduled after
    the warm-up are counted."""
    start = time.perf_counter()
    window_start = start + warmup_seconds
    window_end = window_start + seconds
    latencies: list[float] = []
    failed = 0
    before: Reading | None = None

    async def one(n: int, scheduled: float) -> None:
        nonlocal failed
        succeeded = await call(n)
        if window_start <= scheduled:
            if succeeded:
                latencies.append(time.perf_counter() - scheduled)
            else:
                failed += 1

    calls = []
    n = 0
    while (scheduled := start + n / rate) < window_end:
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        if before is None and scheduled >= window_start:
            before = meter.snapshot()
        calls.append(asyncio.create_task(one(n, scheduled)))
        n += 1
    await asyncio.gather(*calls)
    ended = time.perf_counter()
    settle()
    assert before is not None, "no call in the measured window"
    spent = CpuMeter.spent(before, meter.snapshot())
    stats = latency_stats(latencies)
    return LoadRun(
        name=name,
        seconds=ended - window_start,
        succeeded=len(latencies),
        failed=failed,
        latency_ms={key: stats[key] for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")}
        if latencies
        else {},
        spent=spent,
    )
