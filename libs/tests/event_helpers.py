"""Tables of the event plumbing tests, and reading a metric."""

from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, Table, Text

from pclib.inbox import inbox_table
from pclib.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
# What test handlers change, to check their effect commits with the inbox row.
counters = Table(
    "counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Integer, nullable=False),
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
