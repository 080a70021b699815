"""ticketing_links: a venue's link to its ticketing system (CDS, BOOST), its secret encrypted;
syncs and offer fingerprints are a venue's, whichever its source (no longer Allociné's only);
external_bookings: each booking's tickets in the system

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticketing_links",
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("system", sa.String(length=16), nullable=False),
        sa.Column("cinema_id", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
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
        sa.PrimaryKeyConstraint("venue_id"),
        sa.UniqueConstraint("system", "account_id", "cinema_id", name="uq_ticketing_links_cinema"),
    )
    op.create_table(
        "external_bookings",
        sa.Column("booking_id", sa.UUID(), nullable=False),
        sa.Column("venue_id", sa.UUID(), nullable=False),
        sa.Column("stock_reference", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "tickets",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
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
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.drop_constraint("syncs_venue_id_fkey", "syncs", type_="foreignkey")
    op.drop_constraint("offer_fingerprints_venue_id_fkey", "offer_fingerprints", type_="foreignkey")


def downgrade() -> None:
    op.drop_table("external_bookings")
    for table in ("syncs", "offer_fingerprints"):
        op.create_foreign_key(
            f"{table}_venue_id_fkey", table, "allocine_venues", ["venue_id"], ["venue_id"]
        )
    op.drop_table("ticketing_links")
