"""credits.spent_cents: what the credit's active bookings hold, kept by the booking path

A booking now reserves its credit with one conditional UPDATE of this counter (as the catalog
reserves seats), instead of locking the credit row and summing the bookings.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "credits",
        sa.Column("spent_cents", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(
        """
        UPDATE credits c SET spent_cents = s.total
        FROM (SELECT credit_id, sum(amount_cents * quantity) AS total FROM bookings
              WHERE status IN ('PENDING', 'CONFIRMED', 'USED', 'REIMBURSED')
              GROUP BY credit_id) s
        WHERE s.credit_id = c.id
        """
    )
    op.create_check_constraint(
        "spent_within_credit", "credits", "spent_cents BETWEEN 0 AND initial_cents"
    )


def downgrade() -> None:
    op.drop_constraint("spent_within_credit", "credits", type_="check")
    op.drop_column("credits", "spent_cents")
