"""a booking records its tariff's label (the price category it was made at)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bookings",
        sa.Column("price_category_label", sa.Text(), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("bookings", "price_category_label")
