"""The event index on both backends: sync, resume after restart, survive a reorganisation, verify against the
chain, and always equal a fresh re-index from block 0."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from datagora.index import EventIndexer, open_engine
from datagora.index.schema import datasets, events, listings, orders
from datagora.index.search import SearchQuery, search
from datagora.services import market, publishing
from tests.world import ETHER, World, write_table


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            "events": [
                tuple(r)
                for r in conn.execute(
                    select(
                        events.c.block_number,
                        events.c.block_hash,
                        events.c.tx_hash,
                        events.c.log_index,
                        events.c.name,
                        events.c.args,
                        events.c.timestamp,
                    ).order_by(events.c.block_number, events.c.log_index)
                )
            ],
            "datasets": [tuple(r) for r in conn.execute(select(datasets).order_by(datasets.c.token_id))],
            "listings": [tuple(r) for r in conn.execute(select(listings).order_by(listings.c.listing_id))],
            "orders": [tuple(r) for r in conn.execute(select(orders).order_by(orders.c.order_id))],
        }


def fresh_dump(world: World, new_db: Callable[[], str]) -> dict[str, list[tuple[Any, ...]]]:
    engine = open_engine(new_db())
    EventIndexer(world.contracts, engine).sync()
    return dump(engine)


def publish_and_list(world: World, tmp_path: Path, name: str, price: int = ETHER) -> tuple[int, int]:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, write_table(tmp_path / f"{name}.csv"), name=name, domain="finance")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    listing_id, _ = market.list_dataset(world.contracts, world.seller, token_id, price)
    return token_id, listing_id


def test_index_projects_a_trade_and_resumes_after_restart(
    world: World, tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    db = db_factory()
    idx = EventIndexer(world.contracts, open_engine(db))
    token_id, listing_id = publish_and_list(world, tmp_path, "Income survey")
    first = idx.sync()
    assert first.events > 0
    with idx.engine.connect() as conn:
        row = conn.execute(select(datasets).where(datasets.c.token_id == token_id)).one()
        assert row.listing_id == listing_id and int(row.price) == ETHER and row.owner == world.seller.address
    assert [h.token_id for h in search(idx.engine, SearchQuery("survey")).hits] == [token_id]

    # Restart: a new indexer on the same file resumes from its cursor.
    order_id, _ = market.buy(world.contracts, world.buyer, listing_id)
    market.deliver(world.contracts, world.seller, order_id)
    market.confirm(world.contracts, world.buyer, order_id)
    idx2 = EventIndexer(world.contracts, open_engine(db))
    assert idx2.cursor() == idx.cursor()
    second = idx2.sync()
    assert second.from_block == first.to_block + 1
    with idx2.engine.connect() as conn:
        row = conn.execute(select(datasets).where(datasets.c.token_id == token_id)).one()
        assert row.owner == world.buyer.address and row.listing_id is None
        assert conn.execute(select(orders.c.state).where(orders.c.order_id == order_id)).scalar_one() == "completed"
    assert dump(idx2.engine) == fresh_dump(world, db_factory)
    assert idx2.verify().ok


def test_confirmations_hold_back_recent_blocks(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> None:
    idx = EventIndexer(world.contracts, open_engine(db_factory()), confirmations=3)
    publish_and_list(world, tmp_path, "recent")
    report = idx.sync()
    assert report.to_block == world.chain.block_number() - 3
    assert idx.count() < len(world.contracts.events())


def test_index_survives_a_reorg(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> None:
    idx = EventIndexer(world.contracts, open_engine(db_factory()))
    publish_and_list(world, tmp_path, "kept")
    idx.sync()
    fork_point = world.chain.snapshot()
    publish_and_list(world, tmp_path, "orphaned")
    idx.sync()
    with idx.engine.connect() as conn:
        assert {r[0] for r in conn.execute(select(datasets.c.name))} == {"kept", "orphaned"}
    world.chain.revert(fork_point)
    # The canonical chain now grows differently from the fork point.
    world.chain.advance_time(13)
    publish_and_list(world, tmp_path, "canonical", price=2 * ETHER)
    report = idx.sync()
    assert report.reorg_depth > 0
    with idx.engine.connect() as conn:
        assert {r[0] for r in conn.execute(select(datasets.c.name))} == {"kept", "canonical"}
    assert dump(idx.engine) == fresh_dump(world, db_factory)
    assert idx.verify().ok


def test_verify_reports_a_tampered_row(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> None:
    idx = EventIndexer(world.contracts, open_engine(db_factory()))
    publish_and_list(world, tmp_path, "honest")
    idx.sync()
    with idx.engine.begin() as conn:
        conn.execute(text("UPDATE events SET args = replace(args, 'honest', 'forged') WHERE name = 'DatasetPublished'"))
    report = idx.verify()
    assert report.checked == idx.count()
    assert [d.kind for d in report.differences] == ["args"]


def test_index_refuses_another_deployment(world: World, tmp_path: Path, db_factory: Callable[[], str]) -> None:
    from datagora.chain.contracts import Contracts

    db = db_factory()
    EventIndexer(world.contracts, open_engine(db)).sync()
    other = Contracts.deploy(world.chain, world.supervisor.account, world.platform.account)
    with pytest.raises(ValueError, match="another chain or deployment"):
        EventIndexer(other, open_engine(db))
