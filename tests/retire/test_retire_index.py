"""The index projection of ``Retired`` on SQLite and PostgreSQL: the dataset leaves keyword search (the FTS5 table
on SQLite, the tsvector column on PostgreSQL), a rebuild from the events gives the same tables, and every row still
verifies against the chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from datagora.index import EventIndexer, open_engine
from datagora.index.schema import datasets
from datagora.index.search import SearchQuery, search
from datagora.services import publishing, retire
from tests.world import World, write_table


@pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")
def test_retired_dataset_leaves_the_index(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> None:
    assert world.attestor is not None
    tokens = []
    for name in ("Income survey", "Income panel"):
        prepared = publishing.prepare(world.seller, write_table(tmp_path / f"{name}.csv"), name=name)
        tokens.append(publishing.publish(world.contracts, world.seller, prepared, world.attestor)[0])
    idx = EventIndexer(world.contracts, open_engine(db_factory()))
    try:
        idx.sync()
        assert sorted(h.token_id for h in search(idx.engine, SearchQuery("income")).hits) == tokens
        retire.retire(world.contracts, world.seller, tokens[0])
        idx.sync()
        assert [h.token_id for h in search(idx.engine, SearchQuery("income")).hits] == [tokens[1]]
        assert [h.token_id for h in search(idx.engine, SearchQuery("survey")).hits] == []
        with idx.engine.connect() as conn:
            assert [r.token_id for r in conn.execute(select(datasets.c.token_id))] == [tokens[1]]
        assert idx.verify().ok
        with idx.engine.begin() as conn:  # a rebuild from the stored events (a reorg, a new projection version)
            idx._rebuild_projections(conn)
        assert [h.token_id for h in search(idx.engine, SearchQuery("income")).hits] == [tokens[1]]
    finally:
        idx.engine.dispose()
