"""Distributed tracing (OpenTelemetry), set up once by each process's entry point.

The SDK reads the standard variables itself (the distro's configurator): `OTEL_SERVICE_NAME`
(default: the process's name, `booking`, `booking-worker`, ...), `OTEL_TRACES_EXPORTER`,
`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc` or `http/protobuf`),
`OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_PROPAGATORS`, ...

Tracing is on when an exporter is named (`OTEL_TRACES_EXPORTER`, other than `none`) or, with
none named, when an OTLP endpoint is given (the exporter is then `otlp`). With nothing set, or
`OTEL_SDK_DISABLED=true`, nothing is installed: no instrumentation, no span, no per-request
work (the SDK's own default, exporting to localhost:4317, would cost every process a failing
export every few seconds).

Across the broker, the context travels with the event: the outbox row keeps the writer's
(`outbox_context`), the relay publishes it as W3C `traceparent`/`tracestate` AMQP headers
under a PRODUCER span, and the consumer's CONSUMER span is a child of it (not a link), so that
one booking is one trace.
"""

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opentelemetry import propagate, trace
from opentelemetry.context import Context

log = logging.getLogger(__name__)

# Health probes and scrapes: thousands of root spans a day that say nothing.
GATEWAY_EXCLUDED_URLS = "healthz,readyz,metrics"

_active = False


def is_active() -> bool:
    """Whether this process traces (setup() found an exporter)."""
    return _active


def set_active(active: bool) -> None:
    """What setup() records; tests that install their own TracerProvider call it too."""
    global _active
    _active = active


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup(process: str, *, database: bool = True) -> bool:
    """Configures the SDK from the environment and instruments gRPC (aio server and client),
    httpx and, unless `database` is False, psycopg (SQLAlchemy's connections included). Call it
    before any server, channel or connection is made. Returns whether tracing is on."""
    if not wanted():
        return False
    # Imported here: a process that does not trace never loads the SDK.
    from opentelemetry.distro import OpenTelemetryConfigurator
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    os.environ.setdefault("OTEL_SERVICE_NAME", process)
    if not os.environ.get("OTEL_TRACES_EXPORTER"):
        os.environ["OTEL_TRACES_EXPORTER"] = "otlp"
    OpenTelemetryConfigurator().configure()
    GrpcAioInstrumentorServer().instrument()
    GrpcAioInstrumentorClient().instrument()
    HTTPXClientInstrumentor().instrument(
        request_hook=_redact_url_secrets, async_request_hook=_redact_url_secrets_async
    )
    if database:
        PsycopgInstrumentor().instrument(enable_commenter=False, skip_dep_check=True)
    set_active(True)
    log.info("tracing on", extra={"otel_service_name": os.environ["OTEL_SERVICE_NAME"]})
    return True


# Query parameters whose values are secrets (CDS takes its API token as `api_token`): the httpx
# instrumentation redacts only the cloud providers' signatures.
SECRET_PARAMETER = re.compile(r"token|key|secret|password|signature|sig", re.IGNORECASE)
URL_ATTRIBUTES = ("url.full", "http.url")


def redacted(url: str) -> str:
    """The URL with the values of its secret-looking query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (name, "REDACTED" if SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redact_url_secrets(span: trace.Span, request: Any) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        if name in attributes:
            span.set_attribute(name, redacted(str(attributes[name])))


async def _redact_url_secrets_async(span: trace.Span, request: Any) -> None:
    _redact_url_secrets(span, request)


def outbox_context() -> dict[str, str] | None:
    """The current trace context as W3C headers (`traceparent`, `tracestate`), to be stored
    with an outbox row; None outside a span, and when tracing is off."""
    if not _active or not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def extract(headers: Mapping[str, object] | None) -> Context:
    """The context carried by a message's headers (or a stored outbox context)."""
    carrier = {}
    for key, value in (headers or {}).items():
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if isinstance(value, str):
            carrier[key] = value
    return propagate.extract(carrier)


def process_name(service: str, command: str) -> str:
    """The default service name of a process: `booking` for the server, `booking-relay`,
    `booking-worker`, `booking-auto-use`, ..."""
    return service if command == "serve" else f"{service}-{command}"


def setup_command(service: str, command: str) -> bool:
    """setup() for `python -m <service> <command>`. A relay's queries are not traced: it polls
    the outbox all day long, each poll would be a trace of its own; its publish spans are."""
    return setup(process_name(service, command), database=command != "relay")


@contextmanager
def job_span(name: str) -> Iterator[None]:
    """The root span of a scheduled job's run, or of a unit of a background loop's work: its
    queries and calls are children, one trace per run."""
    with trace.get_tracer(__name__).start_as_current_span(name):
        yield


@contextmanager
def untraced() -> Iterator[None]:
    """No instrumentation spans inside: for a background loop's polling, which would otherwise
    make a trace of each poll."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield
