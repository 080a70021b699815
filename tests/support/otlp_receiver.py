"""A local OTLP receiver for tests: what a collector would receive from the processes, over
OTLP/HTTP (`http/protobuf`, POST /v1/traces) and OTLP/gRPC (TraceService/Export), decoded with
the `opentelemetry-proto` package; and the check that a trace holds together."""

import gzip
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

KINDS = {value: name.removeprefix("SPAN_KIND_") for name, value in trace_pb2.Span.SpanKind.items()}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    #: "" for a root span.
    parent_span_id: str
    name: str
    kind: str
    attributes: dict[str, object]
    #: Nanoseconds since the epoch.
    start: int = 0


def _value(any_value: Any) -> object:
    return getattr(any_value, any_value.WhichOneof("value") or "string_value")


def decode(request: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        service=str(resource.get("service.name", "")),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=KINDS.get(span.kind, str(span.kind)),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        start=span.start_time_unix_nano,
                    )
                )
    return spans


class SpanStore:
    """Every span received, from any protocol (thread-safe: the servers run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self.http_endpoint = ""
        self.grpc_endpoint = ""

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        spans = decode(request)
        with self._lock:
            self._spans += spans

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.spans() if span.trace_id == trace_id]


def _http_handler(store: SpanStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            store.add(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
            answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: SpanStore) -> None:
        self._store = store

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self._store.add(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@contextmanager
def receiving() -> Iterator[SpanStore]:
    """Both receivers on free local ports (`http_endpoint`, `grpc_endpoint`) until exit."""
    store = SpanStore()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _http_handler(store))
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(store), server)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    store.http_endpoint = f"http://127.0.0.1:{http.server_address[1]}"
    store.grpc_endpoint = f"http://127.0.0.1:{grpc_port}"
    try:
        yield store
    finally:
        server.stop(grace=None)
        http.shutdown()
        http.server_close()
        thread.join()


def trace_problems(spans: Iterable[ReceivedSpan], services: Iterable[str]) -> list[str]:
    """What is wrong with one trace's spans: not exactly one root, a parent that is not a span of
    the trace, a service with no span in it. Empty when it holds together."""
    spans = list(spans)
    problems = []
    ids = {span.span_id for span in spans}
    roots = [span for span in spans if not span.parent_span_id]
    if len(roots) != 1:
        problems.append(f"{len(roots)} root spans: {[(s.service, s.name) for s in roots]}")
    if len({span.trace_id for span in spans}) > 1:
        problems.append("spans of several traces")
    problems += [
        f"{span.service} {span.name!r}: its parent {span.parent_span_id} is not in the trace"
        for span in spans
        if span.parent_span_id and span.parent_span_id not in ids
    ]
    missing = sorted(set(services) - {span.service for span in spans})
    if missing:
        problems.append(f"no span of {missing}")
    return problems


def tree(spans: Iterable[ReceivedSpan]) -> str:
    """The trace as an indented tree of `service: name (kind)` lines."""
    spans = list(spans)
    children: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        children.setdefault(span.parent_span_id, []).append(span)
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda span: span.start):
            lines.append(f"{'  ' * depth}{span.service}: {span.name} ({span.kind})")
            walk(span.span_id, depth + 1)

    walk("", 0)
    return "\n".join(lines)
