"""Customer data in streams and consent per purpose (issue 12): streams, stream items by key (with their erasure),
consents and every access recorded or refused under them.

Projections are derived from the ``events`` table, so the indexer fills these tables from the stored events when
it opens an index whose projections predate its own (:data:`datagora.index.indexer.PROJECTION_VERSION`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "streams",
        sa.Column("stream_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(42), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
    )
    op.create_table(
        "stream_items",
        sa.Column("item_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("item_key", sa.String(128), nullable=False, index=True),
        sa.Column("publisher", sa.String(42), nullable=False),
        sa.Column("item_hash", sa.String(66), nullable=False),
        sa.Column("location", sa.String(256), nullable=False),
        sa.Column("erased", sa.Integer, nullable=False, server_default="0"),
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.Column("published_tx", sa.String(66), nullable=False),
        sa.Column("erased_at", sa.BigInteger, nullable=True),
        sa.Column("erased_tx", sa.String(66), nullable=True),
    )
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.String(42), nullable=False, index=True),
        sa.Column("organisation_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(128), nullable=False),
        sa.Column("purpose_hash", sa.String(66), nullable=False),
        sa.Column("expiry", sa.BigInteger, nullable=False),
        sa.Column("reward", sa.String(78), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("granted_at", sa.BigInteger, nullable=False),
        sa.Column("granted_tx", sa.String(66), nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_tx", sa.String(66), nullable=True),
    )
    op.create_table(
        "consent_accesses",
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("consent_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("consumer", sa.String(42), nullable=False, index=True),
        sa.Column("subject", sa.String(42), nullable=False, index=True),
        sa.Column("item_id", sa.BigInteger, nullable=False),
        sa.Column("purpose_hash", sa.String(66), nullable=False),
        sa.Column("reward", sa.String(78), nullable=False),
        sa.Column("refusal", sa.Integer, nullable=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
    )


def downgrade() -> None:
    for table in ("consent_accesses", "consents", "stream_items", "streams"):
        op.drop_table(table)
