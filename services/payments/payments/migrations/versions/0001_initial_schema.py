"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:22:19.780332
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_accounts",
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("offerer_id", sa.UUID(), nullable=False),
        sa.Column("iban", sa.Text(), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("offerer_siren", sa.Text(), nullable=False),
        sa.Column("venue_siret", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('ACCEPTED')", name="status_known"),
        sa.PrimaryKeyConstraint("venue_id"),
    )
    op.create_index(
        op.f("ix_bank_accounts_offerer_id"), "bank_accounts", ["offerer_id"], unique=False
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("routing_key", sa.Text(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_table(
        "invoice_sequences",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "ledger_lines",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("offerer_id", sa.UUID(), nullable=False),
        sa.Column("offerer_siren", sa.Text(), nullable=False),
        sa.Column("venue_siret", sa.Text(), nullable=False),
        sa.Column("stock_id", sa.UUID(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scale_key", sa.Text(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_year", sa.Integer(), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("state IN ('USED', 'UNUSED', 'CANCELLED')", name="state_known"),
        sa.CheckConstraint("total_cents >= 0", name="total_not_negative"),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.create_index(
        "ix_ledger_lines_to_pay",
        "ledger_lines",
        ["scale_key", "used_year", "used_at", "booking_id"],
        unique=False,
        postgresql_where=sa.text("state = 'USED' AND payment_id IS NULL"),
    )
    op.create_index(
        "ix_ledger_lines_unpaid_stock",
        "ledger_lines",
        ["stock_id"],
        unique=False,
        postgresql_where=sa.text("payment_id IS NULL"),
    )
    op.create_table(
        "offerers",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("siren", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("routing_key", sa.Text(), nullable=False),
        sa.Column("message_type", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"], unique=False)
    op.create_table(
        "payment_batches",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("booking_count", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("sepa_xml", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cutoff"),
    )
    op.create_table(
        "payment_lines",
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("reimbursed_cents", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "booking_id"),
    )
    op.create_table(
        "scale_revenues",
        sa.Column("scale_key", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scale_key", "year"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("offerer_id", sa.UUID(), nullable=False),
        sa.Column("invoice_reference", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("booking_count", sa.Integer(), nullable=False),
        sa.Column("iban", sa.Text(), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=False),
        sa.Column("creditor_name", sa.Text(), nullable=False),
        sa.Column("offerer_siren", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["payment_batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_reference"),
    )
    op.create_index(op.f("ix_payments_batch_id"), "payments", ["batch_id"], unique=False)
    op.create_index(
        "ix_payments_offerer_created", "payments", ["offerer_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_payments_offerer_created", table_name="payments")
    op.drop_index(op.f("ix_payments_batch_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_table("scale_revenues")
    op.drop_table("payment_lines")
    op.drop_table("payment_batches")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("offerers")
    op.drop_index(
        "ix_ledger_lines_unpaid_stock",
        table_name="ledger_lines",
        postgresql_where=sa.text("payment_id IS NULL"),
    )
    op.drop_index(
        "ix_ledger_lines_to_pay",
        table_name="ledger_lines",
        postgresql_where=sa.text("state = 'USED' AND payment_id IS NULL"),
    )
    op.drop_table("ledger_lines")
    op.drop_table("invoice_sequences")
    op.drop_table("inbox")
    op.drop_index(op.f("ix_bank_accounts_offerer_id"), table_name="bank_accounts")
    op.drop_table("bank_accounts")
