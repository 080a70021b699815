"""Load generators and latency statistics."""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.cpu import CpuProbe

# --- statistics -----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted values, interpolated linearly."""
    if not sorted_values:
        return float("nan")
    rank = (len(sorted_values) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """Count, mean and p50/p95/p99/max in milliseconds."""
    values = sorted(s * 1000 for s in seconds)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(sum(values) / len(values), 3),
        "p50_ms": round(percentile(values, 50), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(values[-1], 3),
    }


# --- load generators ------------------------------------------------------------------------


@dataclass
class ThroughputRun:
    name: str
    concurrency: int
    window_s: float
    completed: int
    errors: dict[str, int]
    latency: dict[str, float]
    cpu: dict[str, float]
    sampled: Any = None

    @property
    def per_second(self) -> float:
        return self.completed / self.window_s

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "window_s": self.window_s,
            "completed": self.completed,
            "per_second": round(self.per_second, 1),
            "errors": self.errors,
            "latency": self.latency,
            "cpu": self.cpu,
            "sampled_mid_run": self.sampled,
        }


def _error_key(error: Exception) -> str:
    code = getattr(error, "code", None)
    detail = getattr(error, "details", None)
    if callable(code) and callable(detail):
        return f"{code().name}: {detail()}"
    return f"{type(error).__name__}: {error}"[:200]


async def closed_loop(
    name: str,
    call: Callable[[], Awaitable[object]],
    *,
    concurrency: int,
    warmup_s: float,
    window_s: float,
    probe: CpuProbe,
    sample_mid_run: Callable[[], Awaitable[Any]] | None = None,
) -> ThroughputRun:
    """`concurrency` callers, each calling again as soon as its call returns.

    Counts the calls that complete inside the window that follows the warm-up.
    """
    window_start = time.perf_counter() + warmup_s
    window_end = window_start + window_s
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    cpu: dict[str, float] = {}
    sampled: list[Any] = []

    async def caller() -> None:
        while (started := time.perf_counter()) < window_end:
            try:
                await call()
            except Exception as error:
                if window_start <= time.perf_counter() <= window_end:
                    errors[_error_key(error)] += 1
                continue
            ended = time.perf_counter()
            if window_start <= ended <= window_end:
                latencies.append(ended - started)

    async def monitor() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        before = probe.snapshot()
        await asyncio.sleep(window_s / 2)
        if sample_mid_run is not None:
            sampled.append(await sample_mid_run())
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        cpu.update(CpuProbe.cores_used(before, probe.snapshot()))

    await asyncio.gather(monitor(), *(caller() for _ in range(concurrency)))
    return ThroughputRun(
        name=name,
        concurrency=concurrency,
        window_s=window_s,
        completed=len(latencies),
        errors=dict(errors),
        latency=latency_stats(latencies),
        cpu=cpu,
        sampled=sampled[0] if sampled else None,
    )


async def open_loop(
    name: str,
    call: Callable[[], Awaitable[object]],
    *,
    rate: float,
    warmup_s: float,
    window_s: float,
    probe: CpuProbe,
) -> ThroughputRun:
    """Calls started at a fixed rate, whether earlier ones returned or not (arrivals do not
    wait for the service, as a closed loop's would).

    A latency runs from the call's scheduled start, so time spent queueing for a free client
    counts: no coordinated omission.
    """
    start = time.perf_counter()
    window_start = start + warmup_s
    window_end = window_start + window_s
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    cpu: dict[str, float] = {}

    async def one(scheduled: float) -> None:
        in_window = window_start <= scheduled <= window_end
        try:
            await call()
        except Exception as error:
            if in_window:
                errors[_error_key(error)] += 1
            return
        if in_window:
            latencies.append(time.perf_counter() - scheduled)

    async def monitor() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        before = probe.snapshot()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        cpu.update(CpuProbe.cores_used(before, probe.snapshot()))

    monitoring = asyncio.create_task(monitor())
    calls = []
    arrival = 0
    while (scheduled := start + arrival / rate) < window_end:
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        calls.append(asyncio.create_task(one(scheduled)))
        arrival += 1
    await asyncio.gather(monitoring, *calls)
    return ThroughputRun(
        name=name,
        concurrency=0,
        window_s=window_s,
        completed=len(latencies),
        errors=dict(errors),
        latency=latency_stats(latencies),
        cpu=cpu,
    )


@dataclass
class LatencyRun:
    name: str
    latency: dict[str, float]
    cpu: dict[str, float]
    samples: list[float] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "latency": self.latency, "cpu": self.cpu}


async def one_at_a_time(
    calls: dict[str, Callable[[Any], Awaitable[Any]]],
    inputs: Sequence[Any],
    *,
    warmup: int,
    probe: CpuProbe,
) -> dict[str, LatencyRun]:
    """Each input goes to every call in turn, one call in flight, the order rotating from one
    input to the next: the calls share the machine's ups and downs. The first `warmup`
    inputs are not timed. The CPU figures cover all the calls together."""
    names = list(calls)
    for value in inputs[:warmup]:
        for name in names:
            await calls[name](value)
    latencies: dict[str, list[float]] = {name: [] for name in names}
    outputs: dict[str, list[Any]] = {name: [] for name in names}
    before = probe.snapshot()
    for index, value in enumerate(inputs[warmup:]):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            outputs[name].append(await calls[name](value))
            latencies[name].append(time.perf_counter() - started)
    cpu = CpuProbe.cores_used(before, probe.snapshot())
    return {
        name: LatencyRun(name, latency_stats(latencies[name]), cpu, latencies[name], outputs[name])
        for name in names
    }
