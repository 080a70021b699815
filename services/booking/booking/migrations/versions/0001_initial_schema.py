"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 03:04:57.143602
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "beneficiaries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone_number", sa.Text(), nullable=False),
        sa.Column("postal_code", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "counter_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_counter_failures_user_at", "counter_failures", ["user_id", "at"], unique=False
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("caller", "method", "key"),
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
        "venues",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("offerer_id", sa.UUID(), nullable=False),
        sa.Column("offerer_siren", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("siret", sa.Text(), nullable=False),
        sa.Column("booking_email", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "credits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("beneficiary_id", sa.UUID(), nullable=False),
        sa.Column("initial_cents", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.Text(), nullable=False),
        sa.CheckConstraint("initial_cents > 0", name="positive_credit"),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("beneficiary_id"),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("beneficiary_id", sa.UUID(), nullable=False),
        sa.Column("credit_id", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("countermark", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("stock_id", sa.UUID(), nullable=False),
        sa.Column("offer_id", sa.UUID(), nullable=False),
        sa.Column("offer_title", sa.Text(), nullable=False),
        sa.Column("features", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("offerer_id", sa.UUID(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancellation_limit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validated_by", sa.String(length=16), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=16), nullable=True),
        sa.Column("reimbursed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=32), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_cents BETWEEN 0 AND 30000", name="amount_range"),
        sa.CheckConstraint("quantity IN (1, 2)", name="quantity_one_or_two"),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiaries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["credit_id"],
            ["credits.id"],
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("beneficiary_id", "idempotency_key"),
        sa.UniqueConstraint("countermark"),
    )
    op.create_index(
        "ix_bookings_beneficiary_booked", "bookings", ["beneficiary_id", "booked_at"], unique=False
    )
    op.create_index(
        "ix_bookings_confirmed_starts",
        "bookings",
        ["starts_at"],
        unique=False,
        postgresql_where=sa.text("status = 'CONFIRMED'"),
    )
    op.create_index(
        "ix_bookings_offerer_booked", "bookings", ["offerer_id", "booked_at"], unique=False
    )
    op.create_index(
        "ix_bookings_pending",
        "bookings",
        ["booked_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index("ix_bookings_stock", "bookings", ["stock_id"], unique=False)
    op.create_index(
        "uq_bookings_one_active_per_offer",
        "bookings",
        ["beneficiary_id", "offer_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'CONFIRMED', 'USED', 'REIMBURSED')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_bookings_one_active_per_offer",
        table_name="bookings",
        postgresql_where=sa.text("status IN ('PENDING', 'CONFIRMED', 'USED', 'REIMBURSED')"),
    )
    op.drop_index("ix_bookings_stock", table_name="bookings")
    op.drop_index(
        "ix_bookings_pending", table_name="bookings", postgresql_where=sa.text("status = 'PENDING'")
    )
    op.drop_index("ix_bookings_offerer_booked", table_name="bookings")
    op.drop_index(
        "ix_bookings_confirmed_starts",
        table_name="bookings",
        postgresql_where=sa.text("status = 'CONFIRMED'"),
    )
    op.drop_index("ix_bookings_beneficiary_booked", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("credits")
    op.drop_table("venues")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_counter_failures_user_at", table_name="counter_failures")
    op.drop_table("counter_failures")
    op.drop_table("beneficiaries")
