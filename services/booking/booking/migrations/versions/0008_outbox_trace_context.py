"""outbox_trace_context: the trace context (W3C traceparent, tracestate) of the span that wrote
each outbox row, which the relay publishes as AMQP headers (pclib.tracing)

Nullable: rows written without tracing have none.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("trace_context", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "trace_context")
