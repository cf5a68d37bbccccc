"""The full market (issue 4): sale kind, pricing, collateral and payment token of listings, auction and use-right
terms; amount, collateral, fee, query counts, deadline and settlement outcome of orders; negotiation offers and
auction bids.

Projections are derived from the ``events`` table: the new columns start at their defaults, and the indexer
rebuilds every projection from the stored events when it opens an index whose projections predate its own
(``index_meta`` key ``projections``, :data:`datagora.index.indexer.PROJECTION_VERSION`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ZERO_ADDRESS = "0x" + "0" * 40


def dataset_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("pricing", sa.String(16), nullable=True),
        sa.Column("payment_token", sa.String(42), nullable=True),
    )


def listing_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("kind", sa.String(16), nullable=False, server_default="ownership"),
        sa.Column("pricing", sa.String(16), nullable=False, server_default="fixed"),
        sa.Column("collateral", sa.String(78), nullable=False, server_default="0"),
        sa.Column("payment_token", sa.String(42), nullable=False, server_default=ZERO_ADDRESS),
        sa.Column("max_queries", sa.BigInteger, nullable=True),
        sa.Column("policy_hash", sa.String(66), nullable=True),
        sa.Column("auction_end", sa.BigInteger, nullable=True),
        sa.Column("min_increment", sa.String(78), nullable=True),
        sa.Column("highest_bid", sa.String(78), nullable=True),
        sa.Column("highest_bidder", sa.String(42), nullable=True),
    )


def order_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("amount", sa.String(78), nullable=False, server_default="0"),
        sa.Column("collateral", sa.String(78), nullable=False, server_default="0"),
        sa.Column("fee_bps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("queries_total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("queries_left", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("deadline", sa.BigInteger, nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("seller_credit", sa.String(78), nullable=True),
        sa.Column("buyer_credit", sa.String(78), nullable=True),
        sa.Column("fee", sa.String(78), nullable=True),
    )


def upgrade() -> None:
    # Plain ADD COLUMN (nullable or with a constant default) on both dialects: no table copy, so SQLite's FTS5
    # table over ``datasets`` and PostgreSQL's generated ``search`` column stay as they are.
    for table, columns in (
        ("datasets", dataset_columns()),
        ("listings", listing_columns()),
        ("orders", order_columns()),
    ):
        for column in columns:
            op.add_column(table, column)
    op.create_table(
        "offers",
        sa.Column("offer_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("listing_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("buyer", sa.String(42), nullable=False, index=True),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("counter", sa.String(78), nullable=True),
        sa.Column("expiry", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("order_id", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "bids",
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("listing_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("bidder", sa.String(42), nullable=False, index=True),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bids")
    op.drop_table("offers")
    for table, columns in (
        ("orders", order_columns()),
        ("listings", listing_columns()),
        ("datasets", dataset_columns()),
    ):
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)
