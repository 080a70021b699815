"""Tracing across the broker: the outbox row keeps the writer's trace context, the relay publishes
it as a W3C `traceparent` header under its own PRODUCER span, the consumer's CONSUMER span is a
child of that; JSON log lines inside a span carry its ids; the environment decides whether a
process traces at all."""

import asyncio
import io
import json
import logging
import os
import subprocess
import sys

import pytest
from aio_pika import Message
from event_helpers import outbox
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection
from sqlalchemy import select

from pclib import tracing
from pclib.db import libpq_dsn, make_session_factory
from pclib.inbox import EventConsumer, EventMeta
from pclib.logs import TraceJsonFormatter
from pclib.outbox import OUTBOX_COLUMNS, OUTBOX_VALUES, OutboxRelay, add_event, outbox_params
from pclib.topology import declare_consumer_queue, declare_exchange
from tests.support.pclib_fixtures import eventually, observe, receive

tracer = trace.get_tracer(__name__)


def hex_ids(span) -> tuple[str, str]:
    context = span.get_span_context()
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def traceparent_of(span) -> str:
    trace_id, span_id = hex_ids(span)
    return f"00-{trace_id}-{span_id}-{span.get_span_context().trace_flags:02x}"


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "booking"}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_the_environment_decides_whether_a_process_traces(environ, wanted):
    assert tracing.wanted(environ) is wanted


def test_process_names():
    assert tracing.process_name("booking", "serve") == "booking"
    assert tracing.process_name("booking", "worker") == "booking-worker"
    assert tracing.process_name("importer", "sync-all") == "importer-sync-all"


def test_the_outbox_context_is_the_current_spans(spans):
    assert tracing.outbox_context() is None
    with tracer.start_as_current_span("request") as span:
        assert tracing.outbox_context() == {"traceparent": traceparent_of(span)}


async def stored_contexts(engine) -> list[dict | None]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.trace_context).order_by(outbox.c.created_at))
        return [row.trace_context for row in rows]


async def test_add_event_stores_the_writers_trace_context(engine, spans):
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        with tracer.start_as_current_span("request") as span:
            await add_event(session, "thing.changed", StringValue(value="traced"))
        await add_event(session, "thing.changed", StringValue(value="outside any span"))
    assert await stored_contexts(engine) == [{"traceparent": traceparent_of(span)}, None]


async def test_outbox_params_store_the_writers_trace_context(engine, spans):
    statement = f"INSERT INTO outbox {OUTBOX_COLUMNS} VALUES ({OUTBOX_VALUES})"  # noqa: S608
    async with await AsyncConnection.connect(libpq_dsn(str(engine.url)), autocommit=True) as conn:
        with tracer.start_as_current_span("request") as span:
            await conn.execute(statement, outbox_params("thing.changed", StringValue(value="a")))
        await conn.execute(statement, outbox_params("thing.changed", StringValue(value="b")))
    assert await stored_contexts(engine) == [{"traceparent": traceparent_of(span)}, None]


async def test_the_relay_publishes_a_traceparent_under_its_own_span(
    engine, amqp_url, broker, unique_name, spans
):
    exchange = f"tracing-test-{unique_name}"
    queue = await observe(broker, exchange)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        with tracer.start_as_current_span("request") as request:
            await add_event(session, "thing.changed", StringValue(value="traced"))
        await add_event(session, "thing.changed", StringValue(value="untraced"))
    spans.clear()
    relay = OutboxRelay(engine, amqp_url, exchange)
    try:
        assert await relay.publish_pending() == 2
    finally:
        await relay.close()

    traced, untraced = await receive(queue, 2)
    [publish] = spans.get_finished_spans()
    assert (publish.name, publish.kind) == ("publish thing.changed", SpanKind.PRODUCER)
    assert publish.parent.span_id == request.get_span_context().span_id
    assert publish.attributes["messaging.destination.name"] == exchange
    assert publish.attributes["messaging.message.id"] == traced.message_id
    # The consumer's parent is the relay's span, in the request's trace.
    assert traced.headers["traceparent"] == traceparent_of(publish)
    assert hex_ids(publish)[0] == hex_ids(request)[0]
    # Negative control: an event written outside any span travels without a trace.
    assert "traceparent" not in untraced.headers


async def test_a_relay_that_does_not_trace_passes_the_stored_context_on(
    engine, amqp_url, broker, unique_name, spans
):
    exchange = f"tracing-test-{unique_name}"
    queue = await observe(broker, exchange)
    async with make_session_factory(engine).begin() as session:
        with tracer.start_as_current_span("request") as request:
            await add_event(session, "thing.changed", StringValue(value="traced"))
    tracing.set_active(False)
    spans.clear()
    relay = OutboxRelay(engine, amqp_url, exchange)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
    [message] = await receive(queue, 1)
    assert message.headers["traceparent"] == traceparent_of(request)
    assert spans.get_finished_spans() == ()


class SpanRecorder:
    """A handler that records the span it runs in."""

    def __init__(self) -> None:
        self.seen: list[trace.SpanContext] = []

    async def __call__(self, session, event: StringValue, meta: EventMeta) -> None:
        self.seen.append(trace.get_current_span().get_span_context())


async def publish(exchange, message_id: str, headers: dict) -> None:
    body = StringValue(value=message_id).SerializeToString()
    await exchange.publish(Message(body, message_id=message_id, headers=headers), "thing.created")


async def test_the_consumer_continues_the_publishers_trace(
    engine, amqp_url, broker, unique_name, spans
):
    handler = SpanRecorder()
    with tracer.start_as_current_span("relay publish") as publisher:
        headers = {"message_type": "google.protobuf.StringValue"}
        headers |= tracing.outbox_context() or {}
    exchange = await declare_exchange(broker.channel, f"tracing-test-{unique_name}")
    broker.exchanges.append(exchange.name)
    queue, bindings = f"tracing-test-{unique_name}.consumer", {exchange.name: ["thing.*"]}
    broker.consumer_queue(queue)
    await declare_consumer_queue(broker.channel, queue, bindings)
    await publish(exchange, "with-header", headers)
    await publish(exchange, "without-header", {})
    consumer = EventConsumer(
        engine, amqp_url, queue, bindings, {"thing.created": (StringValue, handler)}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: len(handler.seen) == 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

    process = {
        span.attributes["messaging.message.id"]: span
        for span in spans.get_finished_spans()
        if span.kind == SpanKind.CONSUMER
    }
    continued, fresh = process["with-header"], process["without-header"]
    assert continued.name == "process thing.created"
    assert continued.parent.span_id == publisher.get_span_context().span_id
    assert continued.context.trace_id == publisher.get_span_context().trace_id
    assert continued.attributes["passculture.event.outcome"] == "handled"
    # The handler (and the queries under it) runs in the consumer's span.
    assert {handler.seen[0].span_id, handler.seen[1].span_id} == {
        continued.context.span_id,
        fresh.context.span_id,
    }
    # Negative control: without the header the event starts a trace of its own.
    assert fresh.parent is None
    assert fresh.context.trace_id != publisher.get_span_context().trace_id


def log_line(formatter: logging.Formatter) -> dict:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, "hello", None, None)
    return json.loads(formatter.format(record))


def test_log_lines_inside_a_span_carry_its_ids(spans):
    formatter = TraceJsonFormatter("{message}", style="{")
    outside = log_line(formatter)
    assert "trace_id" not in outside and "span_id" not in outside
    with tracer.start_as_current_span("request") as span:
        inside = log_line(formatter)
    assert (inside["trace_id"], inside["span_id"]) == hex_ids(span)
    assert len(inside["trace_id"]) == 32 and len(inside["span_id"]) == 16


def test_configure_logging_uses_the_trace_formatter(spans, monkeypatch):
    from pclib.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("booking")
        stream = io.StringIO()
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        with tracer.start_as_current_span("request") as span:
            logging.getLogger("booking").info("booked")
        line = json.loads(stream.getvalue())
        assert (line["service"], line["message"]) == ("booking", "booked")
        assert (line["trace_id"], line["span_id"]) == hex_ids(span)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_untraced_work_makes_no_instrumentation_spans(engine, spans):
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    instrumentor = PsycopgInstrumentor()
    instrumentor.instrument(enable_commenter=False, skip_dep_check=True)
    try:
        dsn = libpq_dsn(str(engine.url))
        with tracing.job_span("reconcile"):
            async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
                with tracing.untraced():
                    await conn.execute("SELECT 1")
                await conn.execute("SELECT 2")
    finally:
        instrumentor.uninstrument()
    names = [span.name for span in spans.get_finished_spans()]
    # The poll (SELECT 1) leaves no span; the work after it is traced under the job's span.
    assert names.count("SELECT") == 1
    assert names[-1] == "reconcile"


SETUP_SCRIPT = """
import http.server, json, sys, threading
import httpx
from opentelemetry import trace
from pclib import tracing

class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
threading.Thread(target=server.serve_forever, daemon=True).start()
on = tracing.setup_command("booking", "worker")
httpx.get(f"http://127.0.0.1:{server.server_address[1]}/cinemas?api_token=s3cret&day=1")
print(json.dumps({"on": on, "active": tracing.is_active(),
                  "provider": type(trace.get_tracer_provider()).__name__}), file=sys.stderr)
"""


def run_setup(environ: dict[str, str]) -> tuple[dict, list[dict]]:
    """setup() in a process of its own (a process sets its tracer provider once), with the
    console exporter: what it reported, and the spans it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | environ
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    done = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    spans, depth, chunk = [], 0, ""
    for line in done.stdout.splitlines():  # the console exporter prints indented JSON objects
        if line.startswith("{") and not line.startswith('{"'):
            depth, chunk = 1, line
        elif depth:
            chunk += line
            if line == "}":
                spans.append(json.loads(chunk))
                depth = 0
    return report, spans


def test_setup_reads_the_standard_variables_and_instruments_httpx():
    report, spans = run_setup({"OTEL_TRACES_EXPORTER": "console"})
    assert report == {"on": True, "active": True, "provider": "TracerProvider"}
    [request] = [span for span in spans if span["kind"] == "SpanKind.CLIENT"]
    assert request["name"] == "GET"
    assert request["resource"]["attributes"]["service.name"] == "booking-worker"
    # A secret in the query string (CDS's api_token) never reaches the span.
    [url] = [v for k, v in request["attributes"].items() if k in tracing.URL_ATTRIBUTES]
    assert url.endswith("/cinemas?api_token=REDACTED&day=1")

    report, spans = run_setup({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "other"})
    assert spans[0]["resource"]["attributes"]["service.name"] == "other"


def test_with_nothing_set_setup_installs_nothing():
    report, spans = run_setup({})
    assert report == {"on": False, "active": False, "provider": "ProxyTracerProvider"}
    assert spans == []


def test_secret_looking_query_parameters_are_redacted():
    assert tracing.redacted("https://cds.example/api/shows?api_token=t0k&day=2") == (
        "https://cds.example/api/shows?api_token=REDACTED&day=2"
    )
    assert tracing.redacted("https://x.example/a?Signature=s&key=k") == (
        "https://x.example/a?Signature=REDACTED&key=REDACTED"
    )
    assert tracing.redacted("https://x.example/a") == "https://x.example/a"
