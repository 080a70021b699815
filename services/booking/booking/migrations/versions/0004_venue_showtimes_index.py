"""an index of bookings by venue and showtime start, for the revoked tickets of a venue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Concurrently: the bookings table takes writes while the index is built.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_bookings_venue_starts",
            "bookings",
            ["venue_id", "starts_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_bookings_venue_starts",
            table_name="bookings",
            postgresql_concurrently=True,
            if_exists=True,
        )
