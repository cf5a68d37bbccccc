"""Shop orders (issue 12): one row per cart order of ``Shop.vy`` (paid, delivered, settled), so a shop node's
order history and a customer's orders are read from the index.

The table is a projection: the indexer fills it from the stored events when it opens an index whose projections
predate its own (``index_meta`` key ``projections``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shop_orders",
        sa.Column("order_hash", sa.String(66), primary_key=True),
        sa.Column("buyer", sa.String(42), nullable=False, index=True),
        sa.Column("seller", sa.String(42), nullable=False, index=True),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("collateral", sa.String(78), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.BigInteger, nullable=False),
        sa.Column("delivery_hash", sa.String(66), nullable=True),
        sa.Column("paid_block", sa.BigInteger, nullable=False),
        sa.Column("paid_tx", sa.String(66), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("seller_credit", sa.String(78), nullable=True),
        sa.Column("buyer_credit", sa.String(78), nullable=True),
        sa.Column("bond_returned", sa.String(78), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("shop_orders")
