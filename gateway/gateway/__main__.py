"""python -m gateway: serves the HTTP API with uvicorn until SIGTERM/SIGINT."""

import gc
import os
import signal
from types import FrameType
from typing import NoReturn

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from pclib import tracing
from pclib.logs import configure_logging

# The instrumentation's standard variable, with the gateway's default.
EXCLUDED_URLS = "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS"


def _exit_cleanly(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(0)


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    tracing_on = tracing.setup("gateway", database=False)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the
    # handler it found: this one, so that a requested stop exits with status 0.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    app = create_app(settings)
    # The app's routes, models and schemas live as long as the process: out of the collector's
    # reach, a full collection no longer walks them (half the gateway's time in the collector,
    # measured with gc.callbacks under make bench).
    gc.freeze()
    if tracing_on:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            excluded_urls=os.environ.get(EXCLUDED_URLS, tracing.GATEWAY_EXCLUDED_URLS),
            # A span per ASGI message ("http send", "http receive") says nothing more.
            exclude_spans=["receive", "send"],
        )
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        # The app reads forwarded headers itself, from FORWARDED_ALLOW_IPS only (uvicorn's
        # default would believe any sent from 127.0.0.1).
        proxy_headers=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
    )


if __name__ == "__main__":
    main()
