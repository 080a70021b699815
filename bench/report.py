"""Figures beside their baselines, targets, result files, machine info and the summary table."""

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Baseline:
    name: str
    value: float
    unit: str


@dataclass
class Figure:
    """A measurement beside the baselines measured in the same run (ratio = value / baseline)."""

    name: str
    value: float
    unit: str
    baselines: list[Baseline]

    def ratio(self, baseline: Baseline) -> float:
        return self.value / baseline.value if baseline.value else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baselines": [
                {
                    "name": b.name,
                    "value": round(b.value, 3),
                    "unit": b.unit,
                    "ratio": round(self.ratio(b), 3),
                }
                for b in self.baselines
            ],
        }


@dataclass
class Target:
    """A figure against its limit. An informational one (INFO) is shown, never failed."""

    description: str
    measured: float
    limit: float
    passed: bool
    informational: bool = False

    @property
    def verdict(self) -> str:
        if self.informational:
            return "INFO"
        return "PASS" if self.passed else "FAIL"

    @property
    def failed(self) -> bool:
        return not (self.passed or self.informational)

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "measured": round(self.measured, 3),
            "limit": round(self.limit, 3),
            "verdict": self.verdict,
        }


@dataclass
class BenchResult:
    name: str
    parameters: dict[str, Any]
    figures: list[Figure]
    targets: list[Target]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self, machine: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": self.name,
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine,
            "parameters": self.parameters,
            "figures": [f.to_json() for f in self.figures],
            "targets": [t.to_json() for t in self.targets],
            "details": self.details,
        }


def write_result(result: BenchResult, machine: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    path.write_text(json.dumps(result.to_json(machine), indent=2, default=str) + "\n")
    return path


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
        return round(kib / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def _git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (read-only)
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def machine_info(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    packages = ("grpcio", "protobuf", "psycopg", "sqlalchemy")
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "git_revision": _git_revision(),
        "packages": {name: metadata.version(name) for name in packages},
        **(extra or {}),
    }


# --- the human summary ----------------------------------------------------------------------


def _format_value(value: float, unit: str) -> str:
    digits = 0 if abs(value) >= 100 else 2
    return f"{value:,.{digits}f} {unit}"


def summary_table(results: Sequence[BenchResult]) -> str:
    """One line per (figure, baseline), then the targets."""
    rows = [("benchmark", "figure", "value", "baseline", "baseline value", "ratio")]
    for result in results:
        for figure in result.figures:
            first = True
            for baseline in figure.baselines:
                rows.append(
                    (
                        result.name if first else "",
                        figure.name if first else "",
                        _format_value(figure.value, figure.unit) if first else "",
                        baseline.name,
                        _format_value(baseline.value, baseline.unit),
                        f"{figure.ratio(baseline):.2f}",
                    )
                )
                first = False
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append("")
    for result in results:
        for target in result.targets:
            lines.append(f"{target.verdict}  {target.description}")
    return "\n".join(lines)
