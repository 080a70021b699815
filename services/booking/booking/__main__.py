"""Commands of the booking service.

python -m booking serve      the gRPC server
python -m booking relay      the outbox relay (publishes events to RabbitMQ);
                             trims expired inbox rows and idempotency keys
python -m booking worker     event consumers (catalog events, emails, payments' reimbursements)
                             and the saga reconciler
python -m booking auto-use   marks USED the bookings 48h after their showtime (scheduled)
python -m booking remind-tomorrow
                             the day-before reminders: one email per CONFIRMED booking of the
                             venue's next local day (scheduled at 10:00 Europe/Paris)
python -m booking migrate    creates the database if missing, applies migrations, declares the
                             worker's queues (and retires those no worker consumes any more)
"""

import argparse
import logging
from pathlib import Path

from booking.app import build_server, databases
from booking.jobs import auto_use, remind_tomorrow
from booking.settings import BookingSettings
from booking.upstreams import upstreams
from booking.worker import consumers, retired_queues, run_worker
from pclib import aio, migrations, retention, tracing
from pclib.auth import TokenVerifier
from pclib.db import make_engine
from pclib.grpc_server import serve_until_stopped, start_metrics_server, stop_event_on_signals
from pclib.inbox import declare_queues
from pclib.logs import configure_logging
from pclib.relay import run_relay_process

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("booking")


async def serve(settings: BookingSettings) -> None:
    engine, pool = databases(settings)
    clients = upstreams(settings)
    server = build_server(
        engine, pool, TokenVerifier.from_file(settings.jwt_public_key_file), clients, settings
    )
    start_metrics_server(settings.metrics_port)
    try:
        async with pool:
            await serve_until_stopped(
                server, settings.grpc_port, settings.grpc_drain_seconds, stop_event_on_signals()
            )
    finally:
        await clients.close()
        await engine.dispose()


async def relay(settings: BookingSettings) -> None:
    await run_relay_process(
        settings,
        settings.events_exchange,
        [retention.INBOX, retention.IDEMPOTENCY_KEYS, *retention.SIGN_IN],
    )


async def worker(settings: BookingSettings) -> None:
    engine, pool = databases(settings)
    clients = upstreams(settings)
    start_metrics_server(settings.metrics_port)
    try:
        async with pool:
            await run_worker(engine, pool, clients, settings, stop_event_on_signals())
    finally:
        await clients.close()
        await engine.dispose()


async def declare_consumer_queues(settings: BookingSettings) -> None:
    """The worker's queues, declared before any producer publishes: a topic exchange drops the
    events no queue is bound to yet."""
    engine, pool = databases(settings)  # neither connects: declaring needs only the broker
    try:
        await declare_queues(
            settings.amqp_url, consumers(engine, pool, settings), retired_queues(settings)
        )
    finally:
        await engine.dispose()


async def run_auto_use(settings: BookingSettings) -> None:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with tracing.job_span("auto-use"):
            used = await auto_use(engine)
        log.info("auto-use finished", extra={"bookings_used": used})
    finally:
        await engine.dispose()


async def run_remind_tomorrow(settings: BookingSettings) -> None:
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        recorded = await remind_tomorrow(engine)
        log.info("remind-tomorrow finished", extra={"reminders_recorded": recorded})
    finally:
        await engine.dispose()


RUNNERS = {
    "serve": serve,
    "relay": relay,
    "worker": worker,
    "auto-use": run_auto_use,
    "remind-tomorrow": run_remind_tomorrow,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m booking")
    parser.add_argument("command", choices=[*RUNNERS, "migrate"])
    command = parser.parse_args().command
    settings = BookingSettings()
    configure_logging("booking", settings.log_level)
    tracing.setup_command("booking", command)
    if command == "migrate":
        migrations.upgrade(MIGRATIONS, settings.database_url)
        aio.run(declare_consumer_queues(settings))
        return
    aio.run(RUNNERS[command](settings))


if __name__ == "__main__":
    main()
