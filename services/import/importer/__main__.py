"""Commands of the import service.

python -m importer serve          the gRPC server (on-demand syncs run in its background)
python -m importer relay          the outbox relay (publishes sync.finished to RabbitMQ);
                                  trims expired inbox rows and idempotency keys
python -m importer sync-all       the daily sync of every enabled venue (scheduled at 23:00)
python -m importer migrate        creates the database if missing, applies migrations
python -m importer fake-allocine  a local Allociné API serving feed files (tests, demo)
python -m importer demo           a demo cinema imported through a running suite (make demo)
"""

import argparse
import logging
import sys
from pathlib import Path

from importer import demo, fake_allocine
from importer.app import build_server, wiring
from importer.background import BackgroundSyncs
from importer.daily import sync_all
from importer.settings import ImporterSettings
from pclib import aio, migrations, retention, tracing
from pclib.auth import TokenVerifier
from pclib.db import make_engine
from pclib.grpc_server import serve_until_stopped, start_metrics_server, stop_event_on_signals
from pclib.logs import configure_logging
from pclib.metrics_push import push_metrics
from pclib.relay import run_relay_process

MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: ImporterSettings) -> None:
    engine = make_engine(settings.database_url, settings.db_pool_size)
    start_metrics_server(settings.metrics_port)
    try:
        async with wiring(engine, settings) as wired:
            background = BackgroundSyncs(wired.syncer, settings.sync_concurrency)
            server = build_server(
                wired, background, TokenVerifier.from_file(settings.jwt_public_key_file)
            )
            try:
                await serve_until_stopped(
                    server, settings.grpc_port, settings.grpc_drain_seconds, stop_event_on_signals()
                )
            finally:
                await background.stop(settings.grpc_drain_seconds)
    finally:
        await engine.dispose()


async def relay(settings: ImporterSettings) -> None:
    await run_relay_process(settings, settings.events_exchange, [retention.IDEMPOTENCY_KEYS])


async def run_sync_all(settings: ImporterSettings, args: argparse.Namespace) -> int:
    engine = make_engine(settings.database_url, pool_size=settings.sync_concurrency + 2)
    try:
        async with wiring(engine, settings) as wired:
            with tracing.job_span("sync-all"):
                report = await sync_all(
                    engine,
                    wired.syncer,
                    concurrency=settings.sync_concurrency,
                    timezones=tuple(args.timezone or ()),
                    full=args.full,
                )
    finally:
        await engine.dispose()
        push_metrics(settings.pushgateway_url, "importer-sync-all")
    if report is None:
        return 0
    print(
        f"sync-all: {len(report.succeeded)} succeeded, {len(report.failed)} failed,"
        f" {len(report.busy)} already under way"
    )
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m importer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "relay", "migrate"):
        commands.add_parser(name)
    daily = commands.add_parser("sync-all", help="sync every enabled venue")
    daily.add_argument(
        "--timezone",
        action="append",
        help="only venues of this IANA timezone (repeatable), for one CronJob per timezone",
    )
    daily.add_argument(
        "--full", action="store_true", help="send every offer, even those unchanged since"
    )
    fake_allocine.add_arguments(commands.add_parser("fake-allocine", help="a local Allociné API"))
    demo.add_arguments(commands.add_parser("demo", help="make a demo cinema (make demo)"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = ImporterSettings()
    configure_logging("importer", settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # else one line per Allociné request
    if args.command not in ("fake-allocine", "demo"):
        tracing.setup_command("importer", args.command)
    if args.command == "migrate":
        migrations.upgrade(MIGRATIONS, settings.database_url)
        return 0
    if args.command == "fake-allocine":
        return fake_allocine.main(args, settings.allocine_api_key)
    if args.command == "demo":
        return aio.run(demo.run(args))
    if args.command == "sync-all":
        return aio.run(run_sync_all(settings, args))
    runners = {"serve": serve, "relay": relay}
    aio.run(runners[args.command](settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
