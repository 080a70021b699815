"""venues.location: the stored earth point, indexed for nearby search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_venues_earth", table_name="venues", postgresql_using="gist")
    op.execute(
        "ALTER TABLE venues ADD COLUMN location earth"
        " GENERATED ALWAYS AS (ll_to_earth(latitude, longitude)) STORED"
    )
    op.create_index("ix_venues_earth", "venues", ["location"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("ix_venues_earth", table_name="venues", postgresql_using="gist")
    op.drop_column("venues", "location")
    op.create_index(
        "ix_venues_earth",
        "venues",
        [sa.literal_column("ll_to_earth(latitude, longitude)")],
        postgresql_using="gist",
    )
