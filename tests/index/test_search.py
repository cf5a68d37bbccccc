"""Keyword search with filters and pagination over the index (SQLite FTS5 and PostgreSQL tsvector)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from datagora.domain.errors import ValidationError
from datagora.index import EventIndexer, open_engine
from datagora.index.search import SearchQuery, search
from datagora.services import market, publishing
from datagora.services.attestation import NoveltyAttestor
from tests.world import ETHER, World, write_table


@pytest.fixture(scope="module")
def listed(world_base: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Four datasets the seller publishes (three listed), once per module and backend. ``world`` snapshots the chain
    after them, so every test starts from the same four and its own changes are reverted."""
    home = tmp_path_factory.mktemp("search-data")
    attestor = NoveltyAttestor(world_base.contracts, world_base.platform.account, home / "dc.sqlite")
    specs = [
        ("Income survey 2026", "finance", ETHER),
        ("Hospital admissions", "health", 2 * ETHER),
        ("Income tax returns", "finance", 3 * ETHER),
        ("Retail basket data", "retail", 0),
    ]
    for i, (name, domain, price) in enumerate(specs):
        prepared = publishing.prepare(world_base.seller, write_table(home / f"d{i}.csv"), name=name, domain=domain)
        token_id, _, _ = publishing.publish(world_base.contracts, world_base.seller, prepared, attestor)
        if price:
            market.list_dataset(world_base.contracts, world_base.seller, token_id, price)
    return world_base


@pytest.fixture
def indexed(listed: World, world: World, db_factory: Callable[[], str]) -> EventIndexer:
    """A new index (of the parametrised database) synced with the four datasets of ``listed``."""
    idx = EventIndexer(world.contracts, open_engine(db_factory()))
    idx.sync()
    return idx


def names(page) -> set[str]:  # type: ignore[no-untyped-def]
    return {h.name for h in page.hits}


def test_keyword_matches_name_domain_and_attributes(indexed: EventIndexer) -> None:
    e = indexed.engine
    assert names(search(e, SearchQuery("income survey"))) == {"Income survey 2026"}  # every word must match
    assert names(search(e, SearchQuery("returns"))) == {"Income tax returns"}
    assert names(search(e, SearchQuery("health"))) == {"Hospital admissions"}  # domain
    assert search(e, SearchQuery("region")).total == 4  # attribute (column name) of every table
    assert names(search(e, SearchQuery("hosp*"))) == {"Hospital admissions"}  # explicit prefix
    assert search(e, SearchQuery("hosp")).total == 0  # whole words otherwise
    assert search(e, SearchQuery("nothing-like-this")).total == 0
    assert search(e, SearchQuery("")).total == 4


def test_filters_and_pagination(indexed: EventIndexer) -> None:
    e = indexed.engine
    assert names(search(e, SearchQuery("income", domain="finance", max_price=ETHER))) == {"Income survey 2026"}
    assert names(search(e, SearchQuery("income", domain="finance"))) == {"Income survey 2026", "Income tax returns"}
    assert names(search(e, SearchQuery(min_price=2 * ETHER))) == {"Hospital admissions", "Income tax returns"}
    assert search(e, SearchQuery(sale_kind="ownership")).total == 3
    first = search(e, SearchQuery(limit=3))
    second = search(e, SearchQuery(limit=3, offset=3))
    assert first.total == second.total == 4
    assert len(first.hits) == 3 and len(second.hits) == 1
    assert not names(first) & names(second)
    with pytest.raises(ValidationError):
        search(e, SearchQuery(limit=0))


def test_schema_is_migrated_by_alembic_and_matches_the_models(db_factory: Callable[[], str]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from datagora.index.schema import metadata

    engine = open_engine(db_factory())
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _head()
        diff = [
            d
            for d in compare_metadata(MigrationContext.configure(conn), metadata)
            if "fts" not in str(d) and "'search'" not in str(d)
        ]
    assert diff == []
    assert {"events", "datasets", "listings", "orders", "offers", "bids", "blocks", "index_meta"} <= set(
        inspect(engine).get_table_names()
    )
    open_engine(str(engine.url))  # idempotent on an up-to-date database


def _head() -> str:
    """The newest revision of the index's migrations (alembic raises when two revisions claim to be newest)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from datagora.index.schema import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def _alembic(engine: Engine, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from datagora.index.schema import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_revision_0002_upgrades_a_0001_index_and_downgrades_again(db_factory: Callable[[], str]) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, inspect, text

    from datagora.index.schema import metadata

    url = db_factory()
    old = create_engine(url)
    _alembic(old, "upgrade", "0001")
    with old.begin() as conn:  # a listing and an order indexed by the foundation's code
        conn.execute(
            text("INSERT INTO listings (listing_id, token_id, seller, price, state) VALUES (1, 1, :s, '5', 'pending')"),
            {"s": "0x" + "1" * 40},
        )
        conn.execute(
            text("INSERT INTO orders (order_id, listing_id, buyer, price, state) VALUES (1, 1, :b, '5', 'paid')"),
            {"b": "0x" + "2" * 40},
        )
    engine = open_engine(url)  # migrates to the newest revision
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _head()
        diff = [
            d
            for d in compare_metadata(MigrationContext.configure(conn), metadata)
            if "fts" not in str(d) and "'search'" not in str(d)
        ]
        assert diff == []
        listing = conn.execute(text("SELECT kind, pricing, collateral, payment_token FROM listings")).one()
        assert tuple(listing) == ("ownership", "fixed", "0", "0x" + "0" * 40)
        assert tuple(conn.execute(text("SELECT amount, fee_bps, queries_total FROM orders")).one()) == ("0", 0, 0)
    _alembic(engine, "downgrade", "0001")
    tables = set(inspect(engine).get_table_names())
    assert "offers" not in tables and "bids" not in tables
    assert "collateral" not in {c["name"] for c in inspect(engine).get_columns("orders")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 1
    _alembic(engine, "upgrade", "head")
    assert {"offers", "bids"} <= set(inspect(engine).get_table_names())


def test_uncounted_pages_say_whether_more_follow(indexed: EventIndexer) -> None:
    e = indexed.engine
    first = search(e, SearchQuery(limit=3, count=False))
    assert first.total is None and first.has_more and len(first.hits) == 3
    last = search(e, SearchQuery(limit=3, offset=3, count=False))
    assert not last.has_more and len(last.hits) == 1


@pytest.mark.parametrize("window", [0, 1, 2, 3])
def test_newest_rows_probe_returns_the_same_pages(
    indexed: EventIndexer, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datagora.index.search as search_module

    e = indexed.engine
    queries = [SearchQuery("region", limit=1), SearchQuery("region", limit=2, offset=1), SearchQuery("income", limit=1)]
    monkeypatch.setattr(search_module, "PROBE_WINDOW", 10**9)  # never probe: the reference
    expected = [search(e, q) for q in queries]
    monkeypatch.setattr(search_module, "PROBE_WINDOW", window)
    assert [search(e, q) for q in queries] == expected
