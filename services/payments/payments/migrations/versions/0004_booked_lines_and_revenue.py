"""booked lines (CONFIRMED, from booking.created) and the ledger read by offerer (revenue)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("state_known", "ledger_lines", type_="check")
    op.create_check_constraint(
        "state_known", "ledger_lines", "state IN ('CONFIRMED', 'USED', 'UNUSED', 'CANCELLED')"
    )
    op.create_index(op.f("ix_ledger_lines_offerer_id"), "ledger_lines", ["offerer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_lines_offerer_id"), table_name="ledger_lines")
    op.execute("DELETE FROM ledger_lines WHERE state = 'CONFIRMED'")
    op.drop_constraint("state_known", "ledger_lines", type_="check")
    op.create_check_constraint(
        "state_known", "ledger_lines", "state IN ('USED', 'UNUSED', 'CANCELLED')"
    )
