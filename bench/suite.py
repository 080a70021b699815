"""The whole suite as processes, for the end-to-end benchmarks: each service's gRPC server,
relay and worker as in production (`python -m …`), the gateway, and a local mail sink for the
booking worker's emails. Fresh databases, exchanges and queues of its own, removed after the run.

The processes log at INFO, as in production: what they log is part of what a request costs.
"""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx

from bench.database import DEFAULT_PG_URL, migrate
from bench.paths import REPO_ROOT, python_path
from bench.server import free_port, wait_until_serving
from pclib.db import drop_database
from pclib.keys import ensure_key_pair

STARTUP_TIMEOUT_S = 60.0
SERVICES = ("catalog", "booking", "payments")
# Processes that answer a request or react to its events (the mail sink is the bench's).
SUITE = (
    "gateway",
    "catalog",
    "catalog-relay",
    "catalog-worker",
    "booking",
    "booking-relay",
    "booking-worker",
    "payments-relay",
    "payments-worker",
)


@dataclass
class Suite:
    base_url: str
    private_key: Path
    databases: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}


@dataclass(frozen=True)
class Names:
    """Exchanges and queue prefixes of this run only (several runs may share a broker)."""

    run: str

    def exchange(self, service: str) -> str:
        return f"bench-{self.run}-{service}"

    def queue_prefix(self, service: str) -> str:
        return f"bench-{self.run}-{service}"


@contextmanager
def service_databases(*services: str) -> Iterator[dict[str, str]]:
    """A freshly created database per service (service → URL), dropped on exit."""
    server = os.environ.get("PG_URL", DEFAULT_PG_URL).rstrip("/")
    urls = {name: f"{server}/bench_{name}_{uuid.uuid4().hex[:8]}" for name in services}
    try:
        yield urls
    finally:
        for url in urls.values():
            drop_database(url)


def _environments(
    names: Names, databases: dict[str, str], ports: dict[str, int], keys: dict[str, str]
) -> dict[str, dict[str, str]]:
    """Each service's settings (the same for its server, relay and worker)."""
    common = {"AMQP_URL": os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")}
    common |= keys | {"METRICS_PORT": "0", "GRPC_DRAIN_SECONDS": "1", "LOG_LEVEL": "INFO"}
    exchanges = {
        "EVENTS_EXCHANGE": "",
        "CATALOG_EXCHANGE": names.exchange("catalog"),
        "BOOKING_EXCHANGE": names.exchange("booking"),
        "PAYMENTS_EXCHANGE": names.exchange("payments"),
    }
    envs = {}
    for service in SERVICES:
        envs[service] = (
            common
            | exchanges
            | {
                "EVENTS_EXCHANGE": names.exchange(service),
                "QUEUE_PREFIX": names.queue_prefix(service),
                "DATABASE_URL": databases[service],
                "GRPC_PORT": str(ports[service]),
                "CATALOG_ADDR": f"127.0.0.1:{ports['catalog']}",
            }
        )
    envs["booking"] |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(ports["mail"])}
    envs["gateway"] = keys | {
        "UPSTREAMS": "catalog,booking",
        "CATALOG_ADDR": f"127.0.0.1:{ports['catalog']}",
        "BOOKING_ADDR": f"127.0.0.1:{ports['booking']}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(ports["http"]),
        "GRACEFUL_SHUTDOWN_SECONDS": "1",
        "LOG_LEVEL": "INFO",
    }
    return envs


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 (our own commands)
            [sys.executable, *args],
            env={**os.environ, "PYTHONPATH": python_path(), **env},
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _command(name: str) -> list[str]:
    service, _, role = name.partition("-")
    return ["-m", "gateway"] if name == "gateway" else ["-m", service, role or "serve"]


async def _wait_until_ready(suite: Suite, workdir: Path) -> None:
    """Until every server answers its health check and the gateway its /readyz."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient(base_url=suite.base_url, timeout=1) as http:
        while time.monotonic() < deadline:
            for name, process in suite.processes.items():
                if process.poll() is not None:
                    log = (workdir / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"{name} exited:\n{log}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the suite was not ready after {STARTUP_TIMEOUT_S}s")


def stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """SIGTERM to all at once, then each one's exit code (killed after 15 s)."""
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    codes = {}
    for name, process in processes.items():
        try:
            codes[name] = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            codes[name] = process.wait()
    return codes


async def _remove_broker_objects(names: Names) -> None:
    """The run's queues (the consumers declared them durable) and exchanges."""
    url = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for service in SERVICES:
            for suffix in (
                "catalog-events",
                "booking-events",
                "payment-events",
                "emails",
                "invitation-emails",
            ):
                queue = f"{names.queue_prefix(service)}.{suffix}"
                for name in (queue, f"{queue}.dlq"):
                    await channel.queue_delete(name)
                await channel.exchange_delete(f"{queue}.dlx")
            await channel.exchange_delete(names.exchange(service))


@asynccontextmanager
async def running_suite(workdir: Path) -> AsyncIterator[Suite]:
    """The suite, every process started and the gateway ready; everything stopped and removed
    on exit."""
    names = Names(uuid.uuid4().hex[:8])
    private_key, public_key = workdir / "jwt-private.pem", workdir / "jwt-public.pem"
    ensure_key_pair(private_key, public_key)
    ticket_private, ticket_public = workdir / "ticket-private.pem", workdir / "ticket-public.pem"
    ensure_key_pair(ticket_private, ticket_public)
    keys = {
        "JWT_PRIVATE_KEY_FILE": str(private_key),
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "TICKET_PRIVATE_KEY_FILE": str(ticket_private),
        "TICKET_PUBLIC_KEY_FILE": str(ticket_public),
    }
    ports = {name: free_port() for name in (*SERVICES, "http", "mail")}
    with service_databases(*SERVICES) as databases:
        envs = _environments(names, databases, ports, keys)
        for service in SERVICES:
            # Migrations, then the consumers' queues, before anything publishes.
            migrate(databases[service], service, envs[service])
        suite = Suite(f"http://127.0.0.1:{ports['http']}", private_key, databases)
        sink = ["-m", "aiosmtpd", "-n", "-c", "tests.support.smtp_sink.Sink"]
        mail = _start([*sink, "-l", f"127.0.0.1:{ports['mail']}"], {}, workdir / "mail-sink.log")
        try:
            for name in SUITE:
                env = envs["gateway" if name == "gateway" else name.partition("-")[0]]
                suite.processes[name] = _start(_command(name), env, workdir / f"{name}.log")
            for service in ("catalog", "booking"):
                await wait_until_serving(
                    f"127.0.0.1:{ports[service]}",
                    suite.processes[service],
                    workdir / f"{service}.log",
                )
            await _wait_until_ready(suite, workdir)
            yield suite
        finally:
            codes = stop_all({**suite.processes, "mail-sink": mail})
            failed = {name: code for name, code in codes.items() if code != 0}
            if failed:
                print(f"  processes that did not exit cleanly: {failed}", file=sys.stderr)
            await _remove_broker_objects(names)
