"""Who kept the cores busy during a run: the bench client, the server, PostgreSQL, the rest."""

import os
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stat_cpu_seconds(pid: int | str) -> tuple[str, float]:
    """(command name, user + system CPU seconds of all its threads) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    return _proc_stat_cpu_seconds(pid)[1]


def wakeups(pid: int) -> int:
    """Voluntary context switches of all a process's threads: how often one waited (a socket,
    a lock) and was woken up again."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:
                total += sum(
                    int(line.split()[1])
                    for line in status
                    if line.startswith("voluntary_ctxt_switches:")
                )
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return total


def _process_title(pid: str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode(errors="replace")


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds of the live PostgreSQL processes that serve this database: its backends and
    the shared auxiliary ones (WAL writer, checkpointer…). Backends that exited are missed."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            name, seconds = _proc_stat_cpu_seconds(pid)
            if name != "postgres":
                continue
            title = _process_title(pid)
        except (OSError, ValueError):
            continue
        serves_a_database = "(" in title or "[local]" in title or "autovacuum worker" in title
        if database in title or not serves_a_database:
            total += seconds
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting for I/O) since boot."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / CLOCK_TICKS


@dataclass
class CpuProbe:
    """Samples cumulative CPU seconds of the bench client, the server, PostgreSQL and the rest.

    "others" is what the machine spent on anything else (e.g. someone's tests): noise.
    """

    database: str
    server_pid: int | None = None

    def snapshot(self) -> dict[str, float]:
        sample = {
            "wall": time.perf_counter(),
            "client": time.process_time(),
            "server": process_cpu_seconds(self.server_pid) if self.server_pid else 0.0,
            "postgres": postgres_cpu_seconds(self.database),
            "machine": machine_busy_seconds(),
        }
        sample["others"] = sample["machine"] - sum(
            sample[key] for key in ("client", "server", "postgres")
        )
        return sample

    @staticmethod
    def cores_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """Average number of cores each party kept busy between two snapshots."""
        wall = after["wall"] - before["wall"]
        return {key: round((after[key] - before[key]) / wall, 2) for key in before if key != "wall"}


def format_cpu(cores: dict[str, float]) -> str:
    parties = ("client", "server", "postgres", "others")
    return "cores: " + " ".join(f"{party} {cores[party]:.2f}" for party in parties)
