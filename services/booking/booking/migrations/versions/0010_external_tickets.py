"""bookings of showtimes sold through a ticketing system: the system's reference of the showtime,
the tickets it issued (barcodes, seats), and whether they must still be cancelled there

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("ticketing_reference", sa.Text(), nullable=True))
    for column in ("external_barcodes", "external_seats"):
        op.add_column(
            "bookings",
            sa.Column(column, postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        )
    op.add_column(
        "bookings",
        sa.Column("tickets_to_cancel", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.create_index(
        "ix_bookings_external_barcodes",
        "bookings",
        ["external_barcodes"],
        postgresql_using="gin",
    )
    op.create_index(
        "ix_bookings_tickets_to_cancel",
        "bookings",
        ["updated_at"],
        postgresql_where=sa.text("tickets_to_cancel"),
    )


def downgrade() -> None:
    op.drop_index("ix_bookings_tickets_to_cancel", table_name="bookings")
    op.drop_index("ix_bookings_external_barcodes", table_name="bookings")
    for column in ("tickets_to_cancel", "external_seats", "external_barcodes"):
        op.drop_column("bookings", column)
    op.drop_column("bookings", "ticketing_reference")
