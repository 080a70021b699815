"""price categories (tariffs): each stock names one, and its price is the category's

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 08:00:00

Existing stocks get their offer's categories: one per distinct price, "Tarif unique" for the
cheapest, then "Tarif 2", "Tarif 3"…
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_categories",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("offer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price_cents BETWEEN 0 AND 30000", name="price_category_price_range"),
        sa.CheckConstraint(
            "char_length(label) BETWEEN 1 AND 50", name="price_category_label_length"
        ),
        sa.ForeignKeyConstraint(["offer_id"], ["offers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id", "price_cents", name="uq_price_categories_id_price"),
    )
    op.create_index("ix_price_categories_offer_id", "price_categories", ["offer_id"])
    op.create_index(
        "uq_price_categories_offer_label",
        "price_categories",
        ["offer_id", "label"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.add_column("stocks", sa.Column("price_category_id", postgresql.UUID(as_uuid=True)))
    op.execute("""
        INSERT INTO price_categories (id, offer_id, label, price_cents)
        SELECT gen_random_uuid(), offer_id,
               CASE WHEN rank = 1 THEN 'Tarif unique' ELSE 'Tarif ' || rank END, price_cents
        FROM (
            SELECT offer_id, price_cents,
                   row_number() OVER (PARTITION BY offer_id ORDER BY price_cents) AS rank
            FROM (SELECT DISTINCT offer_id, price_cents FROM stocks) prices
        ) ranked
    """)
    op.execute("""
        UPDATE stocks s SET price_category_id = c.id
        FROM price_categories c
        WHERE c.offer_id = s.offer_id AND c.price_cents = s.price_cents
    """)
    op.alter_column("stocks", "price_category_id", nullable=False)
    op.create_foreign_key(
        "fk_stocks_price_category",
        "stocks",
        "price_categories",
        ["price_category_id", "price_cents"],
        ["id", "price_cents"],
        onupdate="CASCADE",
    )
    op.create_index("ix_stocks_price_category", "stocks", ["price_category_id"])


def downgrade() -> None:
    op.drop_index("ix_stocks_price_category", table_name="stocks")
    op.drop_constraint("fk_stocks_price_category", "stocks", type_="foreignkey")
    op.drop_column("stocks", "price_category_id")
    op.drop_index("uq_price_categories_offer_label", table_name="price_categories")
    op.drop_index("ix_price_categories_offer_id", table_name="price_categories")
    op.drop_table("price_categories")
