"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 04:01:36.251512
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
        "allocine_venues",
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("theater_id", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("is_duo", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
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
        sa.CheckConstraint("price_cents > 0 AND price_cents <= 30000", name="price_range"),
        sa.CheckConstraint(
            "quantity IS NULL OR quantity BETWEEN 0 AND 1000000", name="quantity_range"
        ),
        sa.PrimaryKeyConstraint("venue_id"),
        sa.UniqueConstraint("theater_id"),
    )
    op.create_index(
        op.f("ix_allocine_venues_enabled"), "allocine_venues", ["enabled"], unique=False
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
        "offer_fingerprints",
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("provider_reference", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["allocine_venues.venue_id"],
        ),
        sa.PrimaryKeyConstraint("venue_id", "provider_reference"),
    )
    op.create_table(
        "syncs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "heartbeat_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("offers_created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("offers_updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stocks_created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stocks_updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("showtimes_imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("showtimes_skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("movies_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "rejected_movies",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("feed_fingerprint", sa.LargeBinary(), nullable=True),
        sa.Column("feed_unchanged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["allocine_venues.venue_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_syncs_venue_created", "syncs", ["venue_id", "created_at"], unique=False)
    op.create_index(
        "uq_syncs_active_venue",
        "syncs",
        ["venue_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_syncs_active_venue",
        table_name="syncs",
        postgresql_where=sa.text("status IN ('PENDING', 'RUNNING')"),
    )
    op.drop_index("ix_syncs_venue_created", table_name="syncs")
    op.drop_table("syncs")
    op.drop_table("offer_fingerprints")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_allocine_venues_enabled"), table_name="allocine_venues")
    op.drop_table("allocine_venues")
