"""End-to-end fixtures: the real processes started as subprocesses.

`stack`: the catalog and the gateway. `booking_stack`: every process of `make run` (catalog
serve, relay and worker; booking serve, relay and worker; payments serve, relay and worker; the
gateway) and a real SMTP server in the test process (`mailbox`). Each stack gets fresh
databases, its own JWT keys, free ports and, for the booking stack, RabbitMQ exchanges and
queues of its own (deleted after). At the end every process gets SIGTERM and must exit with
status 0. Their output is printed at teardown, which pytest shows when the test fails.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import aio_pika
import httpx
import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from playwright.async_api import Browser
from sqlalchemy.engine import make_url

from importer.fake_allocine import DEMO_FEEDS, FakeAllocine
from pclib.db import drop_database, ensure_database
from pclib.keys import ensure_key_pair
from tests.support.browser import chromium
from tests.support.smtp_sink import Sink

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = (
    "gen",
    "libs",
    "services/catalog",
    "services/booking",
    "services/import",
    "services/payments",
    "gateway",
)
# Generous: on a busy machine the processes' imports alone can take tens of seconds.
START_TIMEOUT_SECONDS = 90
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
    ticket_private, ticket_public = tmp_path / "ticket-private.pem", tmp_path / "ticket-public.pem"
    ensure_key_pair(ticket_private, ticket_public)
    grpc_port = free_port()
    return os.environ | {
        "PYTHONPATH": os.pathsep.join(str(ROOT / folder) for folder in SOURCE_FOLDERS),
        "DATABASE_URL": database_url,
        "JWT_PRIVATE_KEY_FILE": str(private_key),
        "JWT_PUBLIC_KEY_FILE": str(public_key),
        "TICKET_PRIVATE_KEY_FILE": str(ticket_private),
        "TICKET_PUBLIC_KEY_FILE": str(ticket_public),
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


def _check_alive(stack: Stack) -> None:
    for process in stack.processes:
        assert process.popen.poll() is None, f"{process.name} exited early"


def _wait_until_ready(stack: Stack) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        _check_alive(stack)
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


# --- The whole booking stack, with a real SMTP server -----------------------------------------


@dataclass
class Mailbox(Sink):
    """What a local SMTP server received (aiosmtpd in a thread of the test process); it offers
    PIPELINING (Sink)."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if address in message["To"]]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


@dataclass(frozen=True)
class EventNames:
    """Exchanges and queue prefixes of one stack, so that stacks never see each other's events."""

    run: str

    @property
    def catalog_exchange(self) -> str:
        return f"catalog.e2e-{self.run}"

    @property
    def booking_exchange(self) -> str:
        return f"booking.e2e-{self.run}"

    @property
    def payments_exchange(self) -> str:
        return f"payments.e2e-{self.run}"

    @property
    def importer_exchange(self) -> str:
        return f"import.e2e-{self.run}"

    @property
    def catalog_queue_prefix(self) -> str:
        return f"catalog.e2e-{self.run}"

    @property
    def booking_queue_prefix(self) -> str:
        return f"booking.e2e-{self.run}"

    @property
    def payments_queue_prefix(self) -> str:
        return f"payments.e2e-{self.run}"

    def consumer_queues(self) -> list[str]:
        """The queues the workers consume (see catalog.__main__, booking.worker and
        payments.worker)."""
        return [
            f"{self.catalog_queue_prefix}.booking-events",
            f"{self.catalog_queue_prefix}.invitation-emails",
            f"{self.booking_queue_prefix}.catalog-events",
            f"{self.booking_queue_prefix}.payment-events",
            f"{self.booking_queue_prefix}.emails",
            f"{self.payments_queue_prefix}.booking-events",
            f"{self.payments_queue_prefix}.catalog-events",
        ]


def _booking_environments(
    tmp_path: Path, databases: dict[str, str], amqp_url: str, names: EventNames, mailbox: Mailbox
) -> dict[str, dict[str, str]]:
    """The environment of each kind of process, as the Procfile maps it."""
    common = _environment(tmp_path, databases["catalog"]) | {"AMQP_URL": amqp_url}
    catalog_port, booking_port, payments_port = int(common["GRPC_PORT"]), free_port(), free_port()
    catalog = common | {
        "EVENTS_EXCHANGE": names.catalog_exchange,
        "BOOKING_EXCHANGE": names.booking_exchange,
        "QUEUE_PREFIX": names.catalog_queue_prefix,
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": str(mailbox.port),
    }
    booking = common | {
        "DATABASE_URL": databases["booking"],
        "GRPC_PORT": str(booking_port),
        "CATALOG_ADDR": f"127.0.0.1:{catalog_port}",
        "EVENTS_EXCHANGE": names.booking_exchange,
        "CATALOG_EXCHANGE": names.catalog_exchange,
        "PAYMENTS_EXCHANGE": names.payments_exchange,
        "QUEUE_PREFIX": names.booking_queue_prefix,
        "SMTP_HOST": mailbox.host,
        "SMTP_PORT": str(mailbox.port),
        # Notifications to a local http receiver, retried within seconds.
        "NOTIFICATION_ALLOW_HTTP": "true",
        "NOTIFICATION_ALLOW_LOOPBACK": "true",
        "NOTIFICATION_FIRST_RETRY_SECONDS": "0.2",
        "NOTIFICATION_MAX_RETRY_SECONDS": "1",
        "NOTIFICATION_POLL_SECONDS": "0.2",
    }
    payments = common | {
        "DATABASE_URL": databases["payments"],
        "GRPC_PORT": str(payments_port),
        "CATALOG_ADDR": f"127.0.0.1:{catalog_port}",
        "EVENTS_EXCHANGE": names.payments_exchange,
        "BOOKING_EXCHANGE": names.booking_exchange,
        "CATALOG_EXCHANGE": names.catalog_exchange,
        "QUEUE_PREFIX": names.payments_queue_prefix,
    }
    gateway = common | {
        "UPSTREAMS": "catalog,booking,payments",
        "BOOKING_ADDR": f"127.0.0.1:{booking_port}",
        "PAYMENTS_ADDR": f"127.0.0.1:{payments_port}",
    }
    environments = {"catalog": catalog, "booking": booking, "payments": payments}
    if "importer" in databases:  # the import service and the fake Allociné it reads
        importer_port, allocine_port = free_port(), free_port()
        environments["importer"] = common | {
            "DATABASE_URL": databases["importer"],
            "GRPC_PORT": str(importer_port),
            "CATALOG_ADDR": f"127.0.0.1:{catalog_port}",
            "EVENTS_EXCHANGE": names.importer_exchange,
            "ALLOCINE_API_URL": f"http://127.0.0.1:{allocine_port}",
            "ALLOCINE_FAKE_PORT": str(allocine_port),
            "ALLOCINE_API_KEY": ALLOCINE_API_KEY,
            "TICKETING_SECRET_KEY": Fernet.generate_key().decode(),
            # Nothing listens there: a linked venue's sync fails fast, never leaves the machine.
            "CDS_API_URL": "http://127.0.0.1:9/cds/{account_id}/",
            "BOOST_API_URL": "http://127.0.0.1:9/boost/{cinema_id}/",
        }
        gateway |= {"UPSTREAMS": f"{gateway['UPSTREAMS']},importer"}
        gateway |= {"IMPORTER_ADDR": f"127.0.0.1:{importer_port}"}
        # The booking saga books the tickets of a ticketing system's showtimes there.
        environments["booking"] = booking | {"IMPORTER_ADDR": f"127.0.0.1:{importer_port}"}
        # Its many sign-ins hash passwords on a machine that runs other tests too.
        gateway |= {"UPSTREAM_TIMEOUT_SECONDS": "30"}
    return environments | {"gateway": gateway}


async def _wait_for_consumers(stack: Stack, amqp_url: str, queues: list[str]) -> None:
    """Until every worker consumes its queue: an event published before its queue is bound
    would reach no one."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    connection = await aio_pika.connect(amqp_url)
    try:
        for queue in queues:
            while True:
                _check_alive(stack)
                channel = await connection.channel()
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                    if declared.declaration_result.consumer_count > 0:
                        break
                except aio_pika.exceptions.ChannelClosed:
                    pass  # not declared yet
                finally:
                    if not channel.is_closed:
                        await channel.close()
                assert time.monotonic() < deadline, f"no consumer on {queue}"
                await asyncio.sleep(0.1)
    finally:
        await connection.close()


BOOKING_STACK_PROCESSES = (
    ("catalog", "catalog", ["-m", "catalog", "serve"]),
    ("catalog-relay", "catalog", ["-m", "catalog", "relay"]),
    ("catalog-worker", "catalog", ["-m", "catalog", "worker"]),
    ("booking", "booking", ["-m", "booking", "serve"]),
    ("booking-relay", "booking", ["-m", "booking", "relay"]),
    ("booking-worker", "booking", ["-m", "booking", "worker"]),
    ("payments", "payments", ["-m", "payments", "serve"]),
    ("payments-relay", "payments", ["-m", "payments", "relay"]),
    ("payments-worker", "payments", ["-m", "payments", "worker"]),
    ("gateway", "gateway", ["-m", "gateway"]),
)


@contextmanager
def _databases(pg_server_url: str, *names: str) -> Iterator[dict[str, str]]:
    """A fresh database per name, dropped on exit: name → SQLAlchemy URL."""
    urls = {
        name: make_url(pg_server_url)
        .set(database=f"e2e_{name}_{uuid.uuid4().hex[:12]}")
        .render_as_string(hide_password=False)
        for name in names
    }
    try:
        for url in urls.values():
            ensure_database(url)
        yield urls
    finally:
        for url in urls.values():
            drop_database(url)


async def _delete_topology(amqp_url: str, names: EventNames) -> None:
    """Deletes the stack's queues (with their dead-letter parts) and exchanges."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for queue in names.consumer_queues():
            await channel.queue_delete(queue)
            await channel.queue_delete(f"{queue}.dlq")
            await channel.exchange_delete(f"{queue}.dlx")
        exchanges = (names.catalog_exchange, names.booking_exchange, names.payments_exchange)
        for exchange in (*exchanges, names.importer_exchange):
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()


IMPORTER_PROCESS = ("importer", "importer", ["-m", "importer", "serve"])
ALLOCINE_API_KEY = "e2e-allocine-key"


@asynccontextmanager
async def _running_stack(
    pg_server_url: str,
    amqp_url: str,
    mailbox: Mailbox,
    tmp_path: Path,
    environment: dict[str, dict[str, str]],
    *,
    importer: bool,
) -> AsyncIterator[Stack]:
    """Every process of `make run` but the import service's (with `importer`, its server and
    the fake Allociné too); `environment` adds variables to the processes of each kind."""
    names = EventNames(uuid.uuid4().hex[:8])
    kinds = ("catalog", "booking", "payments", *(("importer",) if importer else ()))
    with _databases(pg_server_url, *kinds) as databases:
        envs = _booking_environments(tmp_path, databases, amqp_url, names, mailbox)
        for kind, extra in environment.items():
            envs[kind] = envs[kind] | extra
        _run(["-m", "catalog", "migrate"], envs["catalog"])
        _run(["-m", "catalog", "create-admin"], envs["catalog"])
        for kind in kinds[1:]:
            _run(["-m", kind, "migrate"], envs[kind])
        processes = ((IMPORTER_PROCESS,) if importer else ()) + BOOKING_STACK_PROCESSES
        stack = Stack(f"http://127.0.0.1:{envs['gateway']['HTTP_PORT']}", ADMIN)
        allocine = None
        if importer:  # the demo programme, as `make run`'s allocine-fake serves it
            port = int(envs["importer"]["ALLOCINE_FAKE_PORT"])
            allocine = FakeAllocine(DEMO_FEEDS, ALLOCINE_API_KEY, rebase=True, port=port).start()
        try:
            for name, kind, args in processes:
                stack.processes.append(_start(name, args, envs[kind], tmp_path))
            await asyncio.to_thread(_wait_until_ready, stack)
            await _wait_for_consumers(stack, amqp_url, names.consumer_queues())
            yield stack
        finally:
            # The gateway first, the catalog last: each drains while what it calls answers.
            codes = {process.name: _stop(process) for process in reversed(stack.processes)}
            _dump(stack.processes)
            await _delete_topology(amqp_url, names)
            if allocine is not None:
                allocine.stop()
    assert codes == dict.fromkeys(codes, 0), f"unclean exits: {codes}"


@pytest.fixture(scope="module")
def stack_environment() -> dict[str, dict[str, str]]:
    """Variables added to the stack's processes, by kind (catalog, booking, payments, importer,
    gateway); a test module overrides it (e.g. to export traces)."""
    return {}


@pytest.fixture(scope="module")
async def booking_stack(
    pg_server_url, amqp_url, mailbox, stack_environment, tmp_path_factory
) -> AsyncIterator[Stack]:
    """Every process of `make run` but the import service's, shared by the tests of a module
    (each makes its own accounts, so they never see each other's data)."""
    tmp_path = tmp_path_factory.mktemp("booking-stack")
    async with _running_stack(
        pg_server_url, amqp_url, mailbox, tmp_path, stack_environment, importer=False
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def full_stack(
    pg_server_url, amqp_url, mailbox, stack_environment, tmp_path_factory
) -> AsyncIterator[Stack]:
    """The booking stack with the import service and a fake Allociné: every route answers."""
    tmp_path = tmp_path_factory.mktemp("full-stack")
    async with _running_stack(
        pg_server_url, amqp_url, mailbox, tmp_path, stack_environment, importer=True
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, for the pages' tests."""
    async with chromium() as launched:
        yield launched
