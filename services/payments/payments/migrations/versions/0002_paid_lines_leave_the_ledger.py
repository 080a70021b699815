"""paid lines leave the ledger for payment_lines, keyed by booking: ledger_lines.payment_id goes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANY_PAYMENT_LINE = "SELECT EXISTS (SELECT FROM payment_lines)"


def upgrade() -> None:
    # A line was marked once (payment_id IS NULL before): one payment line per booking.
    op.drop_constraint("payment_lines_pkey", "payment_lines", type_="primary")
    op.create_primary_key("payment_lines_pkey", "payment_lines", ["booking_id"])
    op.create_index(op.f("ix_payment_lines_payment_id"), "payment_lines", ["payment_id"])
    op.execute("DELETE FROM ledger_lines WHERE payment_id IS NOT NULL")
    op.drop_index("ix_ledger_lines_to_pay", table_name="ledger_lines")
    op.drop_index("ix_ledger_lines_unpaid_stock", table_name="ledger_lines")
    op.drop_column("ledger_lines", "payment_id")
    op.create_index(
        "ix_ledger_lines_to_pay",
        "ledger_lines",
        ["scale_key", "used_year", "used_at", "booking_id"],
        postgresql_where=sa.text("state = 'USED'"),
    )
    op.create_index(op.f("ix_ledger_lines_stock_id"), "ledger_lines", ["stock_id"])


def downgrade() -> None:
    if op.get_bind().scalar(sa.text(ANY_PAYMENT_LINE)):
        raise RuntimeError("paid lines left the ledger: 0001 cannot hold them again")
    op.drop_index(op.f("ix_ledger_lines_stock_id"), table_name="ledger_lines")
    op.drop_index("ix_ledger_lines_to_pay", table_name="ledger_lines")
    op.add_column("ledger_lines", sa.Column("payment_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_ledger_lines_unpaid_stock",
        "ledger_lines",
        ["stock_id"],
        postgresql_where=sa.text("payment_id IS NULL"),
    )
    op.create_index(
        "ix_ledger_lines_to_pay",
        "ledger_lines",
        ["scale_key", "used_year", "used_at", "booking_id"],
        postgresql_where=sa.text("state = 'USED' AND payment_id IS NULL"),
    )
    op.drop_index(op.f("ix_payment_lines_payment_id"), table_name="payment_lines")
    op.drop_constraint("payment_lines_pkey", "payment_lines", type_="primary")
    op.create_primary_key("payment_lines_pkey", "payment_lines", ["payment_id", "booking_id"])
