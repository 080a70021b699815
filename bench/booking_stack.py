"""The processes of the booking benchmark: the catalog and booking gRPC servers and the gateway,
each started as in production (`python -m …`), on fresh databases dropped after the run."""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.database import DEFAULT_PG_URL, migrate
from bench.paths import REPO_ROOT, python_path
from bench.server import CatalogServer, catalog_server, free_port, stop, wait_until_serving
from pclib.db import drop_database

STARTUP_TIMEOUT_S = 30.0


@dataclass
class BookingStack:
    catalog: CatalogServer
    booking_pid: int
    gateway_pid: int
    base_url: str
    private_key: Path

    @property
    def pids(self) -> dict[str, int]:
        return {
            "gateway": self.gateway_pid,
            "booking": self.booking_pid,
            "catalog": self.catalog.pid,
        }


@contextmanager
def service_databases(*services: str) -> Iterator[dict[str, str]]:
    """A freshly migrated database per service (service → URL), dropped on exit."""
    server = os.environ.get("PG_URL", DEFAULT_PG_URL).rstrip("/")
    urls = {name: f"{server}/bench_{name}_{uuid.uuid4().hex[:8]}" for name in services}
    try:
        for name, url in urls.items():
            migrate(url, name)
        yield urls
    finally:
        for url in urls.values():
            drop_database(url)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 (our own commands)
            [sys.executable, *args],
            env={**os.environ, "PYTHONPATH": python_path(), "LOG_LEVEL": "WARNING", **env},
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _wait_until_ready(base_url: str, process: subprocess.Popen, log: Path) -> None:
    """Until the gateway's /readyz says every upstream serves."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=1) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited:\n{log.read_text()[-3000:]}")  # noqa: ASYNC240
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the gateway was not ready after {STARTUP_TIMEOUT_S}s")


def _print_errors(name: str, log: Path) -> None:
    tail = log.read_text(errors="replace")[-3000:]
    if "error" in tail.lower():
        print(f"{name} log (tail):\n{tail}", file=sys.stderr)


@asynccontextmanager
async def booking_stack(
    databases: dict[str, str], workdir: Path, db_pool_size: int
) -> AsyncIterator[BookingStack]:
    """catalog serve, booking serve and the gateway, all answering; stopped on exit."""
    async with catalog_server(databases["catalog"], workdir, db_pool_size) as catalog:
        # catalog_server made the key pair in workdir: the others share it.
        private_key, public_key = workdir / "jwt-private.pem", workdir / "jwt-public.pem"
        keys = {"JWT_PRIVATE_KEY_FILE": str(private_key), "JWT_PUBLIC_KEY_FILE": str(public_key)}
        booking_port, http_port = free_port(), free_port()
        booking_log, gateway_log = workdir / "booking-serve.log", workdir / "gateway.log"
        booking = _start(
            ["-m", "booking", "serve"],
            keys
            | {
                "DATABASE_URL": databases["booking"],
                "GRPC_PORT": str(booking_port),
                "METRICS_PORT": "0",
                "CATALOG_ADDR": catalog.address,
                "DB_POOL_SIZE": str(db_pool_size),
                "GRPC_DRAIN_SECONDS": "1",
            },
            booking_log,
        )
        gateway = _start(
            ["-m", "gateway"],
            keys
            | {
                "UPSTREAMS": "catalog,booking",
                "CATALOG_ADDR": catalog.address,
                "BOOKING_ADDR": f"127.0.0.1:{booking_port}",
                "HTTP_HOST": "127.0.0.1",
                "HTTP_PORT": str(http_port),
                "GRACEFUL_SHUTDOWN_SECONDS": "1",
            },
            gateway_log,
        )
        try:
            await wait_until_serving(f"127.0.0.1:{booking_port}", booking, booking_log)
            base_url = f"http://127.0.0.1:{http_port}"
            await _wait_until_ready(base_url, gateway, gateway_log)
            yield BookingStack(catalog, booking.pid, gateway.pid, base_url, private_key)
        finally:
            stop(gateway)
            stop(booking)
            _print_errors("gateway", gateway_log)
            _print_errors("booking server", booking_log)
