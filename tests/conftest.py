"""End-to-end fixtures: the real processes (catalog, gateway) started as subprocesses.

Each `stack` gets a fresh database, its own JWT keys and free ports; at the end every process
gets SIGTERM and must exit with status 0. Their output is printed at teardown, which pytest
shows when the test fails.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pclib.keys import ensure_key_pair

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = ("gen", "libs", "services/catalog", "gateway")
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 20
ADMIN = {"email": "admin@passculture.example.com", "password": "admin password 123"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Stack:
    base_url: str
    admin: dict[str, str]
    processes: list[Process] = field(default_factory=list)


def _environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    private_key, public_key = tmp_path / "jwt-private.pem", tmp_path / "jwt-public.pem"
    ensure_key_pair(private_key, public_key)
    grpc_port = free_port()
    return os.environ | {
        "PYTHONPATH": os.pathsep.join(str(ROOT / folder) for folder in SOURCE_FOLDERS),
        "DATABASE_URL": database_url,
        "JWT_PRIVATE_KEY_FILE": str(private_key),
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "ADMIN_EMAIL": ADMIN["email"],
        "ADMIN_PASSWORD": ADMIN["password"],
        "GRPC_PORT": str(grpc_port),
        "GRPC_DRAIN_SECONDS": "2",
        "METRICS_PORT": "0",
        "CATALOG_ADDR": f"127.0.0.1:{grpc_port}",
        "UPSTREAMS": "catalog",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(free_port()),
        "GRACEFUL_SHUTDOWN_SECONDS": "5",
    }


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"


def _start(name: str, args: list[str], env: dict[str, str], tmp_path: Path) -> Process:
    log = tmp_path / f"{name}.log"
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log)


def _wait_until_ready(stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for process in stack.processes:
            assert process.popen.poll() is None, f"{process.name} exited early"
        try:
            if httpx.get(f"{stack.base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the stack was not ready within {START_TIMEOUT_SECONDS}s")


def _stop(process: Process) -> int | None:
    if process.popen.poll() is None:
        process.popen.send_signal(signal.SIGTERM)
    try:
        return process.popen.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait()
        return None


def _dump(processes: list[Process]) -> None:
    for process in processes:
        print(f"----- {process.name} (exit {process.popen.returncode}) -----")
        print(process.output())


@pytest.fixture
def stack(make_database, tmp_path) -> Iterator[Stack]:
    env = _environment(tmp_path, make_database("e2e_catalog"))
    _run(["-m", "catalog", "migrate"], env)
    _run(["-m", "catalog", "create-admin"], env)
    stack = Stack(f"http://127.0.0.1:{env['HTTP_PORT']}", ADMIN)
    try:
        stack.processes.append(_start("catalog", ["-m", "catalog", "serve"], env, tmp_path))
        stack.processes.append(_start("gateway", ["-m", "gateway"], env, tmp_path))
        _wait_until_ready(stack)
        yield stack
    finally:
        # The gateway first: it drains its requests while the catalog still answers.
        codes = {process.name: _stop(process) for process in reversed(stack.processes)}
        _dump(stack.processes)
    assert codes == dict.fromkeys(codes, 0), f"unclean exits: {codes}"
