"""Commands of the payments service.

python -m payments serve     the gRPC server
python -m payments relay     the outbox relay (publishes booking.reimbursed to RabbitMQ);
                             trims expired inbox rows and idempotency keys
python -m payments worker    the ledger's event consumers (booking and catalog events)
python -m payments batch     the payment batch (scheduled on the 1st and 16th, Europe/Paris)
python -m payments migrate   creates the database if missing, applies migrations, declares
                             the consumers' queues
"""

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from payments.app import build_server, catalog_client, debtor
from payments.batch.run import create_batch
from payments.settings import PaymentsSettings
from payments.worker import consumers, run_worker
from pclib import aio, migrations, retention, tracing
from pclib.auth import TokenVerifier
from pclib.db import make_engine, make_pool
from pclib.errors import DomainError
from pclib.grpc_server import serve_until_stopped, start_metrics_server, stop_event_on_signals
from pclib.inbox import declare_queues
from pclib.logs import configure_logging
from pclib.metrics_push import push_metrics
from pclib.relay import run_relay_process

MIGRATIONS = Path(__file__).parent / "migrations"
BATCH_JOB = "payments-batch"
log = logging.getLogger("payments")


async def serve(settings: PaymentsSettings) -> None:
    engine = make_engine(settings.database_url, settings.db_pool_size)
    start_metrics_server(settings.metrics_port)
    try:
        async with catalog_client(settings) as catalog:
            verifier = TokenVerifier.from_file(settings.jwt_public_key_file)
            server = build_server(engine, verifier, catalog, settings)
            await serve_until_stopped(
                server, settings.grpc_port, settings.grpc_drain_seconds, stop_event_on_signals()
            )
    finally:
        await engine.dispose()


async def relay(settings: PaymentsSettings) -> None:
    await run_relay_process(settings, settings.events_exchange, [retention.INBOX])


async def worker(settings: PaymentsSettings) -> None:
    # The booking events (one per booking) on the psycopg pool; the catalog's few (moved
    # showtimes, venues) on the engine's two connections. No overflow: a burst of events would
    # open and close connections, at a PostgreSQL backend's cost each; the handlers wait instead.
    engine = make_engine(settings.database_url, 2, max_overflow=0)
    start_metrics_server(settings.metrics_port)
    try:
        async with make_pool(settings.database_url, settings.db_pool_size) as pool:
            await run_worker(engine, pool, settings, stop_event_on_signals())
    finally:
        await engine.dispose()


async def declare_consumer_queues(settings: PaymentsSettings) -> None:
    # Neither connects: declaring needs only the broker.
    engine, pool = (
        make_engine(settings.database_url, pool_size=1),
        make_pool(settings.database_url, 1),
    )
    try:
        await declare_queues(settings.amqp_url, consumers(engine, pool, settings))
    finally:
        await engine.dispose()


async def batch(settings: PaymentsSettings, cutoff: datetime | None) -> int:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with tracing.job_span("batch"):
            outcome = await create_batch(engine, debtor(settings), cutoff)
    except DomainError as error:
        print(f"batch refused: {error.reason}: {error.message}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
        push_metrics(settings.pushgateway_url, BATCH_JOB)
    made = outcome.batch
    verb = "made" if outcome.created else "already made"
    print(
        f"batch {made.id} {verb}: {made.label}, {made.payment_count} payments,"
        f" {made.booking_count} bookings, {made.total_cents} cents"
    )
    return 0


def _cutoff(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError("give the cutoff with its offset, e.g. +01:00")
    return parsed


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m payments",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "relay", "worker", "migrate"):
        commands.add_parser(name)
    batch_command = commands.add_parser("batch", help="make the payment batch")
    batch_command.add_argument(
        "--cutoff", type=_cutoff, help="ISO 8601 with offset (default: today 00:00 Paris)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = PaymentsSettings()
    configure_logging("payments", settings.log_level)
    tracing.setup_command("payments", args.command)
    if args.command == "migrate":
        migrations.upgrade(MIGRATIONS, settings.database_url)
        aio.run(declare_consumer_queues(settings))
        return 0
    if args.command == "batch":
        return aio.run(batch(settings, args.cutoff))
    runners = {"serve": serve, "relay": relay, "worker": worker}
    aio.run(runners[args.command](settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
