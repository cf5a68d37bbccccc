"""Brand points: each brand of ``Points.vy`` with its ERC-20 token (``brands``), every movement of a brand's
points on that token, issued, spent or transferred between holders (``point_transfers``), and the emitting
contract's address on each stored event (``events.address``), which tells one brand's token from another's.

The two tables are projections: the indexer fills them from the stored events when it opens an index whose
projections predate its own (``index_meta`` key ``projections``); a brand token's events indexed before this
revision are fetched once by the next sync (``index_meta`` key ``instances``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("address", sa.String(42), nullable=True))
    op.create_table(
        "brands",
        sa.Column("brand_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("token", sa.String(42), nullable=False, unique=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(8), nullable=False),
        sa.Column("admin", sa.String(42), nullable=False),
        sa.Column("registered_block", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "point_transfers",
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("brand_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("sender", sa.String(42), nullable=False, index=True),
        sa.Column("receiver", sa.String(42), nullable=False, index=True),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("point_transfers")
    op.drop_table("brands")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("address")
