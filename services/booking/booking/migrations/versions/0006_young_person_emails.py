"""the venue's address (for the young person's emails) and the day-before reminders sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDRESS_COLUMNS = ("address", "postal_code", "city")


def upgrade() -> None:
    for name in ADDRESS_COLUMNS:
        op.add_column("venues", sa.Column(name, sa.Text(), server_default="", nullable=False))
    op.create_table(
        "booking_reminders",
        sa.Column("booking_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.PrimaryKeyConstraint("booking_id"),
    )


def downgrade() -> None:
    op.drop_table("booking_reminders")
    for name in ADDRESS_COLUMNS:
        op.drop_column("venues", name)
