"""Spans recorded in the test process: one SDK TracerProvider for the session (OpenTelemetry
lets a process set its global provider once), with an in-memory exporter cleared per test."""

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pclib import tracing

_exporter = InMemorySpanExporter()


def _install() -> None:
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_exporter))
    trace.set_tracer_provider(provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """This process traces during the test (pclib.tracing.is_active()); the spans it ended."""
    _install()
    _exporter.clear()
    tracing.set_active(True)
    try:
        yield _exporter
    finally:
        tracing.set_active(False)
        _exporter.clear()
