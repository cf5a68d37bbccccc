"""Keyword search with filters and pagination over the index (SQLite FTS5 and PostgreSQL tsvector)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from datagora.domain.errors import ValidationError
from datagora.index import EventIndexer, open_engine
from datagora.index.search import SearchQuery, search
from datagora.services import market, publishing
from tests.world import ETHER, World, write_table


@pytest.fixture
def indexed(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> EventIndexer:
    assert world.attestor is not None
    specs = [
        ("Income survey 2026", "finance", ETHER),
        ("Hospital admissions", "health", 2 * ETHER),
        ("Income tax returns", "finance", 3 * ETHER),
        ("Retail basket data", "retail", 0),
    ]
    for i, (name, domain, price) in enumerate(specs):
        prepared = publishing.prepare(world.seller, write_table(tmp_path / f"d{i}.csv"), name=name, domain=domain)
        token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
        if price:
            market.list_dataset(world.contracts, world.seller, token_id, price)
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
        assert MigrationContext.configure(conn).get_current_revision() == "0001"
        diff = [
            d
            for d in compare_metadata(MigrationContext.configure(conn), metadata)
            if "fts" not in str(d) and "'search'" not in str(d)
        ]
    assert diff == []
    assert {"events", "datasets", "listings", "orders", "blocks", "index_meta"} <= set(
        inspect(engine).get_table_names()
    )
    open_engine(str(engine.url))  # idempotent on an up-to-date database


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
