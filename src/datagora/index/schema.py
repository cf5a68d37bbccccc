"""SQL schema of the event index (SQLAlchemy Core). Works on SQLite (FTS5 for keyword search) and PostgreSQL
(a tsvector expression index)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)

metadata = MetaData()

meta = Table("index_meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))

blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(66), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("block_number", BigInteger, nullable=False, index=True),
    Column("block_hash", String(66), nullable=False),
    Column("tx_hash", String(66), nullable=False, index=True),
    Column("log_index", Integer, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("contract", String(32), nullable=False),
    Column("name", String(64), nullable=False, index=True),
    Column("args", Text, nullable=False),
    UniqueConstraint("block_hash", "log_index", name="uq_event_position"),
    # revision 0005: the emitting contract, lower-case (NULL on rows stored before; a brand token's events need it)
    Column("address", String(42), nullable=True),
)

datasets = Table(
    "datasets",
    metadata,
    Column("token_id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner", String(42), nullable=False, index=True),
    Column("publisher", String(42), nullable=False),
    Column("name", Text, nullable=False),
    Column("domain", String(64), nullable=False, index=True),
    Column("attributes", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_hash", LargeBinary(32), nullable=False),
    Column("dcat_hash", LargeBinary(32), nullable=False),
    Column("published_block", BigInteger, nullable=False),
    Column("published_tx", String(66), nullable=False),
    Column("listing_id", BigInteger, nullable=True),
    Column("price", String(78), nullable=True),  # wei as decimal text: exceeds 64-bit integers
    Column("price_eth", BigInteger, nullable=True),  # price in gwei for range filters
    Column("sale_kind", String(16), nullable=True),  # ownership | use-right
    # revision 0002 (issue 4: pricing and payment tokens)
    Column("pricing", String(16), nullable=True),  # fixed | negotiated | auction
    Column("payment_token", String(42), nullable=True),  # ETHER (zero address) or an ERC-20
)
Index("ix_datasets_price", datasets.c.price_eth)

ZERO_ADDRESS = "0x" + "0" * 40

listings = Table(
    "listings",
    metadata,
    Column("listing_id", BigInteger, primary_key=True, autoincrement=False),
    Column("token_id", BigInteger, nullable=False, index=True),
    Column("seller", String(42), nullable=False, index=True),
    Column("price", String(78), nullable=False),  # fixed price, ask, reserve or price per query
    Column("state", String(16), nullable=False),  # active | pending | sold | cancelled | closed
    # revision 0002
    Column("kind", String(16), nullable=False, server_default="ownership"),
    Column("pricing", String(16), nullable=False, server_default="fixed"),
    Column("collateral", String(78), nullable=False, server_default="0"),
    Column("payment_token", String(42), nullable=False, server_default=ZERO_ADDRESS),
    Column("max_queries", BigInteger, nullable=True),  # use-right
    Column("policy_hash", String(66), nullable=True),  # use-right: keccak256 of the ODRL policy
    Column("auction_end", BigInteger, nullable=True),  # auction: Unix seconds
    Column("min_increment", String(78), nullable=True),
    Column("highest_bid", String(78), nullable=True),
    Column("highest_bidder", String(42), nullable=True),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False, index=True),
    Column("buyer", String(42), nullable=False, index=True),
    Column("price", String(78), nullable=False),  # amount paid (the price, or all prepaid queries)
    Column("state", String(16), nullable=False),  # paid | delivered | disputed | completed | refunded
    Column("delivery_hash", String(66), nullable=True),
    # revision 0002
    Column("amount", String(78), nullable=False, server_default="0"),  # escrowed now (use-right: credit left)
    Column("collateral", String(78), nullable=False, server_default="0"),  # the buyer's deposit
    Column("fee_bps", Integer, nullable=False, server_default="0"),
    Column("queries_total", BigInteger, nullable=False, server_default="0"),
    Column("queries_left", BigInteger, nullable=False, server_default="0"),
    Column("deadline", BigInteger, nullable=True),  # delivery, confirmation, dispute or usage deadline
    Column("outcome", String(24), nullable=True),  # datagora.domain.models.Outcome, lower-case, "-" for "_"
    Column("seller_credit", String(78), nullable=True),
    Column("buyer_credit", String(78), nullable=True),
    Column("fee", String(78), nullable=True),
)

offers = Table(
    "offers",
    metadata,
    Column("offer_id", BigInteger, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False, index=True),
    Column("buyer", String(42), nullable=False, index=True),
    Column("amount", String(78), nullable=False),
    Column("counter", String(78), nullable=True),
    Column("expiry", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),  # open | countered | accepted | rejected | withdrawn
    Column("order_id", BigInteger, nullable=True),
)

bids = Table(
    "bids",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("listing_id", BigInteger, nullable=False, index=True),
    Column("bidder", String(42), nullable=False, index=True),
    Column("amount", String(78), nullable=False),
    Column("tx_hash", String(66), nullable=False),
)

shop_orders = Table(  # revision 0004 (issue 12): Shop.vy's cart orders
    "shop_orders",
    metadata,
    Column("order_hash", String(66), primary_key=True),  # the cart's hash, 0x-hex
    Column("buyer", String(42), nullable=False, index=True),  # lower-case
    Column("seller", String(42), nullable=False, index=True),  # lower-case
    Column("amount", String(78), nullable=False),  # wei
    Column("collateral", String(78), nullable=False),  # wei, each side
    Column("state", String(16), nullable=False),  # paid | delivered | completed | refunded
    Column("deadline", BigInteger, nullable=False),  # delivery deadline while paid, confirmation once delivered
    Column("delivery_hash", String(66), nullable=True),
    Column("paid_block", BigInteger, nullable=False),
    Column("paid_tx", String(66), nullable=False),
    Column("outcome", String(24), nullable=True),  # confirmed | released | not-delivered
    Column("seller_credit", String(78), nullable=True),
    Column("buyer_credit", String(78), nullable=True),
    Column("bond_returned", String(78), nullable=True),
)

# revision 0003 (issue 12: customer data in streams, consent per purpose)
streams_table = Table(
    "streams",
    metadata,
    Column("stream_id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner", String(42), nullable=False, index=True),
    Column("name", String(64), nullable=False),
)

stream_items = Table(
    "stream_items",
    metadata,
    Column("item_id", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", BigInteger, nullable=False, index=True),
    Column("item_key", String(128), nullable=False, index=True),  # MultiChain's stream key (pseudonymous)
    Column("publisher", String(42), nullable=False),
    Column("item_hash", String(66), nullable=False),  # SHA-256 of the encrypted item, 0x-hex
    Column("location", String(256), nullable=False),
    Column("erased", Integer, nullable=False, server_default="0"),
    Column("published_at", BigInteger, nullable=False),  # Unix seconds
    Column("published_tx", String(66), nullable=False),
    Column("erased_at", BigInteger, nullable=True),
    Column("erased_tx", String(66), nullable=True),
)

consents = Table(
    "consents",
    metadata,
    Column("consent_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(42), nullable=False, index=True),
    Column("organisation_id", BigInteger, nullable=False, index=True),
    Column("category", String(64), nullable=False),
    Column("purpose", String(128), nullable=False),  # W3C DPV purpose IRI
    Column("purpose_hash", String(66), nullable=False),
    Column("expiry", BigInteger, nullable=False),  # Unix seconds
    Column("reward", String(78), nullable=False),  # RewardToken units per access
    Column("state", String(16), nullable=False),  # active | revoked
    Column("granted_at", BigInteger, nullable=False),
    Column("granted_tx", String(66), nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("revoked_tx", String(66), nullable=True),
)

consent_accesses = Table(
    "consent_accesses",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("consent_id", BigInteger, nullable=False, index=True),
    Column("consumer", String(42), nullable=False, index=True),
    Column("subject", String(42), nullable=False, index=True),
    Column("item_id", BigInteger, nullable=False),
    Column("purpose_hash", String(66), nullable=False),
    Column("reward", String(78), nullable=False),  # paid; "0" for a refusal
    Column("refusal", Integer, nullable=True),  # None: recorded and paid; else datagora.domain.models.AccessRefusal
    Column("at", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),
)

# revision 0005: brand points (Points.vy's brands and their ERC-20 tokens' transfers)
brands = Table(
    "brands",
    metadata,
    Column("brand_id", BigInteger, primary_key=True, autoincrement=False),
    Column("token", String(42), nullable=False, unique=True),  # the brand's BrandPoints ERC-20, lower-case
    Column("name", String(32), nullable=False),
    Column("symbol", String(8), nullable=False),
    Column("admin", String(42), nullable=False),  # lower-case
    Column("registered_block", BigInteger, nullable=False),
)

point_transfers = Table(
    "point_transfers",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("brand_id", BigInteger, nullable=False, index=True),
    Column("sender", String(42), nullable=False, index=True),  # lower-case; the zero address for points issued
    Column("receiver", String(42), nullable=False, index=True),  # lower-case; the zero address for points spent
    Column("amount", String(78), nullable=False),  # whole points (the tokens have 0 decimals)
    Column("kind", String(8), nullable=False),  # issued | spent | transfer
    Column("at", BigInteger, nullable=False),  # Unix seconds
    Column("tx_hash", String(66), nullable=False),
)

PROJECTION_TABLES: tuple[Table, ...] = (datasets, listings, orders, offers, bids, shop_orders)
"""The tables derived from events (emptied and rebuilt when the projections change or a reorg strikes)."""
PROJECTION_TABLES += (streams_table, stream_items, consents, consent_accesses)  # issue 12
PROJECTION_TABLES += (brands, point_transfers)  # brand points


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db`` or ``postgresql+psycopg://…``), migrated to the newest
    schema with Alembic. SQLite gets WAL mode and an FTS5 table ``datasets_fts`` (name, domain, attributes);
    PostgreSQL a stored generated ``search`` tsvector column (simple configuration over name, domain and attributes)
    with a GIN index."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return engine
