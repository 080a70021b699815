"""What tracing adds to the hot path when it is off (no OTEL_* variable: pclib.tracing.setup
installs nothing), per call, beside the same work without the tracing code:

- each outbox row (`outbox_params`: the trace context looked up, none found);
- each JSON log line (the formatter looks for a current span);
- each consumed event, each published row, each email (`tracing.is_active()`; the line below
  shows what an unguarded no-op span would cost instead).

    PYTHONPATH=gen:libs python -m bench.tracing_overhead
"""

import logging
import time
import uuid
from collections.abc import Callable

from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from pclib import tracing
from pclib.logs import TraceJsonFormatter
from pclib.outbox import outbox_params

ROUNDS = 200_000


def per_call_ns(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    """The best of five runs' CPU time per call, in nanoseconds."""
    best = float("inf")
    for _ in range(5):
        start = time.process_time_ns()
        for _ in range(rounds):
            work()
        best = min(best, (time.process_time_ns() - start) / rounds)
    return best


def outbox_params_before(routing_key: str, message: StringValue) -> dict[str, object]:
    """outbox_params as it was before tracing."""
    return {
        "event_id": uuid.uuid4(),
        "routing_key": routing_key,
        "message_type": message.DESCRIPTOR.full_name,
        "payload": message.SerializeToString(),
    }


def main() -> None:
    assert not tracing.wanted(), "unset the OTEL_* variables: this measures tracing off"
    event = StringValue(value="booking")
    record = logging.LogRecord("booking", logging.INFO, __file__, 1, "booked", None, None)
    plain, traced = (
        JsonFormatter("{message}", style="{"),
        TraceJsonFormatter("{message}", style="{"),
    )
    tracer = trace.get_tracer(__name__)

    def no_op_span() -> None:
        with tracer.start_as_current_span("smtp send"):
            pass

    rows = [
        ("outbox row", lambda: outbox_params_before("k", event), lambda: outbox_params("k", event)),
        ("log line", lambda: plain.format(record), lambda: traced.format(record)),
        ("consumed event, row, email", lambda: None, tracing.is_active),
        # What the guard of each saves: a span of the API's no-op tracer.
        ("(unguarded no-op span)", lambda: None, no_op_span),
    ]
    print(f"{'per call, tracing off':<32} {'before ns':>10} {'now ns':>10} {'added ns':>10}")
    for name, before, now in rows:
        old, new = per_call_ns(before), per_call_ns(now)
        print(f"{name:<32} {old:>10.0f} {new:>10.0f} {new - old:>10.0f}")


if __name__ == "__main__":
    main()
