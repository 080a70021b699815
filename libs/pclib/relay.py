"""A service's relay process (`python -m <service> relay`): the outbox relay, and the retention
of the service's bookkeeping tables, until SIGTERM."""

import asyncio

from pclib import retention
from pclib.db import libpq_dsn, make_engine
from pclib.grpc_server import start_metrics_server, stop_event_on_signals
from pclib.outbox import OutboxRelay, Wakeups
from pclib.settings import BaseServiceSettings


async def run_relay_process(
    settings: BaseServiceSettings, exchange: str, retentions: list[retention.Retention]
) -> None:
    engine = make_engine(settings.database_url, pool_size=2)
    start_metrics_server(settings.metrics_port)
    stop = stop_event_on_signals()
    wakeups = Wakeups(libpq_dsn(settings.database_url))
    try:
        await asyncio.gather(
            wakeups.run(stop),
            OutboxRelay(engine, settings.amqp_url, exchange, wakeups=wakeups).run(stop),
            retention.run(engine, retentions, stop),
        )
    finally:
        await engine.dispose()
