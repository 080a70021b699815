"""Where a server's time goes under load: py-spy samples of the running process, summed into
top frames (own time: the function itself was running; total time: it was on the stack)."""

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# "function (path/to/file.py:123)" → "function (file.py)": lines vary, functions do not.
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]*?)(?::\d+)?\)$")


@dataclass
class Profile:
    name: str
    samples: int
    own: list[tuple[str, float]]
    total: list[tuple[str, float]]

    def to_json(self) -> dict[str, object]:
        return {"samples": self.samples, "own_percent": self.own, "total_percent": self.total}

    def lines(self, top: int = 12) -> list[str]:
        lines = [f"  py-spy, {self.name} ({self.samples} samples): own time"]
        lines += [f"    {share:5.1f} %  {frame}" for frame, share in self.own[:top]]
        lines.append(f"  py-spy, {self.name}: total time (on the stack)")
        lines += [f"    {share:5.1f} %  {frame}" for frame, share in self.total[:top]]
        return lines


def _frame(raw: str) -> str:
    match = _FRAME.match(raw.strip())
    if match is None:
        return raw.strip()
    return f"{match['function']} ({Path(match['path']).name})"


def summarize(name: str, collapsed: str, top: int = 25) -> Profile:
    """From py-spy's raw (collapsed stacks) output: one line per stack, `f1;f2;…;fn count`."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(frame) for frame in stack.split(";")]
        # The first frame is the thread ("process 123:"…); py-spy's idle frames are skipped.
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames[1:]):
            total[frame] += int(count)

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / samples, 1)) for frame, n in counter.most_common(top)]

    return Profile(name, samples, shares(own), shares(total))


def start_recording(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` for `seconds` into `output` (collapsed stacks), without pausing
    the process (--nonblocking); wait for it, then `summarize` the file."""
    return subprocess.Popen(  # noqa: S603 (py-spy from the venv)
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
