"""The check of tests/test_e2e_tracing.py, on made-up traces: it must fail on a broken one."""

from tests.support.otlp_receiver import ReceivedSpan, trace_problems, tree

TRACE = "ab" * 16


def span(service: str, span_id: str, parent: str = "", name: str = "work") -> ReceivedSpan:
    return ReceivedSpan(service, TRACE, span_id, parent, name, "INTERNAL", {})


BOOKING = [
    span("gateway", "01", name="POST /v1/bookings"),
    span("booking", "02", "01"),
    span("catalog", "03", "02"),
    span("booking-relay", "04", "02", name="publish booking.created"),
    span("booking-worker", "05", "04", name="process booking.created"),
]
SERVICES = {"gateway", "booking", "catalog", "booking-relay", "booking-worker"}


def test_a_whole_trace_holds_together():
    assert trace_problems(BOOKING, SERVICES) == []
    last = "      booking-worker: process booking.created (INTERNAL)"
    assert tree(BOOKING).splitlines()[-1] == last


def test_a_consumer_without_the_header_is_missing_from_the_trace():
    assert trace_problems(BOOKING[:-1], SERVICES) == ["no span of ['booking-worker']"]


def test_a_parent_outside_the_trace_or_a_second_root_is_found():
    orphan = span("booking-worker", "05", "99")
    problems = trace_problems([*BOOKING[:-1], orphan], SERVICES)
    assert problems == ["booking-worker 'work': its parent 99 is not in the trace"]
    second_root = span("booking-worker", "05")
    assert trace_problems([*BOOKING[:-1], second_root], SERVICES)[0].startswith("2 root spans")
