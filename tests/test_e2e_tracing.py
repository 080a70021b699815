"""End to end: one booking is one trace. Every process of `make run` runs for real (see
conftest.booking_stack), exporting its spans to a local OTLP receiver (tests/support/
otlp_receiver.py): the catalog's processes over OTLP/gRPC, the others over OTLP/HTTP
(`http/protobuf`). The booking's trace must hold the spans of the gateway, the booking server,
the catalog, the booking relay and the booking worker (the venue's email), with one root and
every parent a span of the trace; its cancellation's trace, the consumers of the catalog and of
the payments service too.
"""

import uuid

import httpx
import pytest
from e2e_helpers import (
    WAIT_SECONDS,
    eventually,
    ok,
    publish_cinema,
    publish_showtime,
    sign_up_young,
)
from e2e_helpers import token as sign_in

from tests.support.otlp_receiver import SpanStore, receiving, trace_problems, tree

pytestmark = pytest.mark.e2e

SERVICES = {"gateway", "booking", "catalog", "booking-relay", "booking-worker"}
# booking.cancelled is consumed by the catalog's worker (the seats), the payments' (the ledger)
# and the booking worker (the venue's email).
CANCELLATION_SERVICES = {"gateway", "booking", "booking-relay"} | {
    "catalog-worker",
    "payments-worker",
    "booking-worker",
}


@pytest.fixture(scope="module")
def otlp():
    with receiving() as store:
        yield store


@pytest.fixture(scope="module")
def stack_environment(otlp: SpanStore) -> dict[str, dict[str, str]]:
    """Each process names itself (no OTEL_SERVICE_NAME) and exports within 100 ms."""
    common = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_TRACES_SAMPLER": "parentbased_always_on"}
    http = common | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.http_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    grpc = common | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.grpc_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
    }
    return {"gateway": http, "booking": http, "payments": http, "catalog": grpc}


def gateway_trace_id(otlp: SpanStore, name: str) -> str | None:
    """The trace of the gateway's request `name` (each is made once in this module)."""
    for span in otlp.spans():
        if span.service == "gateway" and span.kind == "SERVER" and span.name == name:
            return span.trace_id
    return None


async def whole_trace(otlp: SpanStore, name: str, services: set[str]) -> list:
    """The spans of the trace of the gateway's request `name`, once it holds together (spans
    come in batches from each process)."""
    trace_id = await eventually(lambda: gateway_trace_id(otlp, name))
    try:
        await eventually(lambda: not trace_problems(otlp.trace(trace_id), services), WAIT_SECONDS)
    finally:
        print(f"{name}: trace {trace_id}:\n{tree(otlp.trace(trace_id))}")
    return otlp.trace(trace_id)


async def test_one_booking_is_one_trace_across_the_services_and_the_broker(
    booking_stack, mailbox, otlp
):
    booking_email = f"resa-{uuid.uuid4().hex[:8]}@champo.example.com"
    async with httpx.AsyncClient(base_url=booking_stack.base_url, timeout=15) as http:
        admin = await sign_in(http, "/v1/pro/auth/token", **booking_stack.admin)
        pro, venue = await publish_cinema(http, admin, booking_email)
        # In five days: cancellable by the young person for 48 hours.
        _, stock = await publish_showtime(http, pro, venue, "Playtime", 120, quantity=10)
        _, me = await sign_up_young(http, admin)
        booking = await ok(
            http.post(
                "/v1/bookings",
                json={"stock_id": stock["id"], "quantity": 1},
                headers=me | {"Idempotency-Key": str(uuid.uuid4())},
            ),
            201,
        )
        await eventually(lambda: mailbox.to(booking_email))

        spans = await whole_trace(otlp, "POST /v1/bookings", SERVICES)
        await ok(http.post(f"/v1/bookings/{booking['id']}/cancel", headers=me))
        cancellation = await whole_trace(
            otlp, "POST /v1/bookings/{booking_id}/cancel", CANCELLATION_SERVICES
        )

    by_id = {span.span_id: span for span in spans}

    # The path across the broker: booking server → outbox → relay → RabbitMQ → worker → SMTP.
    # The worker consumes booking.created twice (emails, notifications): the emails' is the one
    # sending.
    consumers = [s for s in spans if s.service == "booking-worker" and s.kind == "CONSUMER"]
    assert {s.name for s in consumers} == {"process booking.created"}
    [email] = [
        s
        for s in consumers
        if any(c.parent_span_id == s.span_id and c.name == "smtp send" for c in spans)
    ]
    publish = by_id[email.parent_span_id]
    assert (publish.service, publish.kind, publish.name) == (
        "booking-relay",
        "PRODUCER",
        "publish booking.created",
    )
    assert by_id[publish.parent_span_id].service == "booking"
    smtp = [s for s in spans if s.parent_span_id == email.span_id and s.name == "smtp send"]
    assert smtp and smtp[0].kind == "CLIENT"
    # The gateway's call, the booking server's call to the catalog, and their queries.
    [root] = [s for s in spans if not s.parent_span_id]
    assert (root.service, root.kind) == ("gateway", "SERVER")
    assert any(s.service == "catalog" and s.kind == "SERVER" for s in spans)
    assert any(s.service == "booking" and s.attributes.get("db.system") for s in spans) or any(
        s.service == "booking" and s.attributes.get("db.system.name") for s in spans
    )

    # Negative control: had the relay published no traceparent, the worker's span would start a
    # trace of its own, with everything under it (what pclib.inbox does without the header): the
    # check finds the booking's trace without the worker (both of its consumers cut off).
    moved, grown = {consumer.span_id for consumer in consumers}, True
    while grown:
        below = {span.span_id for span in spans if span.parent_span_id in moved}
        grown, moved = not below <= moved, moved | below
    cut = [span for span in spans if span.span_id not in moved]
    assert trace_problems(cut, SERVICES) == ["no span of ['booking-worker']"]

    # The cancellation's consumers continue its trace too.
    consumers = {s.service: s for s in cancellation if s.name == "process booking.cancelled"}
    assert set(consumers) == {"catalog-worker", "payments-worker", "booking-worker"}
    cancellation_ids = {s.span_id: s for s in cancellation}
    for consumer in consumers.values():
        assert cancellation_ids[consumer.parent_span_id].service == "booking-relay"
