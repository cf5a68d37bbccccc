"""Initial event index schema: meta, blocks, events, datasets (+ full-text index), listings, orders.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_meta", sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text, nullable=False)
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(66), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("block_number", sa.BigInteger, nullable=False, index=True),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False, index=True),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("args", sa.Text, nullable=False),
        sa.UniqueConstraint("block_hash", "log_index", name="uq_event_position"),
    )
    op.create_table(
        "datasets",
        sa.Column("token_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(42), nullable=False, index=True),
        sa.Column("publisher", sa.String(42), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("domain", sa.String(64), nullable=False, index=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("dcat_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("published_block", sa.BigInteger, nullable=False),
        sa.Column("published_tx", sa.String(66), nullable=False),
        sa.Column("listing_id", sa.BigInteger, nullable=True),
        sa.Column("price", sa.String(78), nullable=True),
        sa.Column("price_eth", sa.BigInteger, nullable=True),
        sa.Column("sale_kind", sa.String(16), nullable=True),
    )
    op.create_index("ix_datasets_price", "datasets", ["price_eth"])
    op.create_table(
        "listings",
        sa.Column("listing_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("token_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("seller", sa.String(42), nullable=False, index=True),
        sa.Column("price", sa.String(78), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("listing_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("buyer", sa.String(42), nullable=False, index=True),
        sa.Column("price", sa.String(78), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivery_hash", sa.String(66), nullable=True),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE datasets_fts USING fts5(name, domain, attributes, content='datasets', "
            "content_rowid='token_id', tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE datasets ADD COLUMN search tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple', name || ' ' || domain || ' ' || attributes)) STORED"
        )
        op.execute("CREATE INDEX ix_datasets_fts ON datasets USING GIN (search)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS datasets_fts")
    for table in ("orders", "listings", "datasets", "events", "blocks", "index_meta"):
        op.drop_table(table)
