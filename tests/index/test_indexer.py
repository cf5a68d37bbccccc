"""The event index on both backends: sync, resume after restart, survive a reorganisation, verify against the
chain, and always equal a fresh re-index from block 0."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from datagora.crypto.hashing import keccak256
from datagora.domain.models import Ruling
from datagora.index import EventIndexer, open_engine
from datagora.index.indexer import PROJECTION_VERSION
from datagora.index.schema import bids, datasets, events, listings, meta, offers, orders
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
            "offers": [tuple(r) for r in conn.execute(select(offers).order_by(offers.c.offer_id))],
            "bids": [tuple(r) for r in conn.execute(select(bids).order_by(bids.c.block_number, bids.c.log_index))],
        }


def fresh_dump(world: World, new_db: Callable[[], str]) -> dict[str, list[tuple[Any, ...]]]:
    engine = open_engine(new_db())
    EventIndexer(world.contracts, engine).sync()
    return dump(engine)


def publish(world: World, tmp_path: Path, name: str) -> int:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, write_table(tmp_path / f"{name}.csv"), name=name, domain="finance")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    return token_id


def publish_and_list(world: World, tmp_path: Path, name: str, price: int = ETHER) -> tuple[int, int]:
    token_id = publish(world, tmp_path, name)
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
        order = conn.execute(select(orders).where(orders.c.order_id == order_id)).one()
        assert (order.state, order.outcome, int(order.amount), int(order.collateral)) == (
            "completed",
            "confirmed",
            ETHER,
            ETHER,  # the default double deposit: 100 % of the price
        )
        fee = ETHER * world.contracts.market.fee_bps() // 10_000
        assert (int(order.seller_credit), int(order.buyer_credit), int(order.fee)) == (2 * ETHER - fee, ETHER, fee)
        listing = conn.execute(select(listings).where(listings.c.listing_id == listing_id)).one()
        assert (listing.state, listing.kind, listing.pricing, int(listing.collateral)) == (
            "sold",
            "ownership",
            "fixed",
            ETHER,
        )
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


def test_index_projects_negotiation_auctions_disputes_and_use_rights(
    world: World, tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    idx = EventIndexer(c, open_engine(db_factory()))

    # negotiation: an offer, a counter accepted by the buyer, delivery, a dispute resolved for the seller
    negotiated = publish(world, tmp_path, "Negotiated")
    neg_listing, _ = market.list_negotiable(c, seller, negotiated, ETHER, collateral=ETHER // 10)
    withdrawn, _ = market.make_offer(c, platform, neg_listing, ETHER // 4)
    market.withdraw_offer(c, platform, withdrawn)
    offer_id, _ = market.make_offer(c, buyer, neg_listing, 8 * ETHER // 10)
    market.counter_offer(c, seller, offer_id, 9 * ETHER // 10)
    disputed_order, _ = market.accept_counter(c, buyer, offer_id, 9 * ETHER // 10)
    market.deliver(c, seller, disputed_order)
    market.dispute(c, buyer, disputed_order, "the rows are not the ones described")
    idx.sync()
    with idx.engine.connect() as conn:
        assert conn.execute(select(orders.c.state).where(orders.c.order_id == disputed_order)).scalar_one() == (
            "disputed"
        )
    c.market.resolve(platform.account, disputed_order, Ruling.FOR_SELLER, keccak256(b"fingerprints match"))

    # an English auction with two bidders, won but never delivered: refunded after the delivery deadline
    auctioned = publish(world, tmp_path, "Auctioned")
    auc_listing, _ = market.list_auction(
        c, seller, auctioned, ETHER, min_increment=ETHER // 10, duration=3600, delivery_window=600
    )
    market.bid(c, buyer, auc_listing, ETHER)
    opened_end = c.market.auction(auc_listing).end_time
    world.chain.advance_time(3600 - 120)
    market.bid(c, platform, auc_listing, 12 * ETHER // 10)  # in the last 10 minutes: the end moves (soft close)
    extended_end = c.market.auction(auc_listing).end_time
    assert extended_end > opened_end
    world.chain.advance_time(extended_end - opened_end + 121)
    won_order, _ = market.settle_auction(c, buyer, auc_listing)
    world.chain.advance_time(601)
    market.refund(c, buyer, won_order)

    # use-rights: three queries prepaid, none used, the credit expires back to the buyer
    used = publish(world, tmp_path, "Queried")
    policy_hash = keccak256(b"odrl policy")
    use_listing, _ = c.use_rights.list_use_right(seller.account, used, ETHER // 100, 10, 3600, policy_hash)
    use_order, _ = c.use_rights.buy_queries(buyer.account, use_listing, 3, 3 * ETHER // 100)
    world.chain.advance_time(3601)
    market.expire(c, buyer, use_order)

    idx.sync()
    with idx.engine.connect() as conn:

        def listing(listing_id: int) -> Any:
            return conn.execute(select(listings).where(listings.c.listing_id == listing_id)).one()

        def order(order_id: int) -> Any:
            return conn.execute(select(orders).where(orders.c.order_id == order_id)).one()

        assert (listing(neg_listing).pricing, listing(neg_listing).state) == ("negotiated", "sold")
        assert (order(disputed_order).state, order(disputed_order).outcome, int(order(disputed_order).amount)) == (
            "completed",
            "for-seller",
            9 * ETHER // 10,
        )
        assert [(r.offer_id, r.state, r.counter, r.order_id) for r in conn.execute(select(offers))] == [
            (withdrawn, "withdrawn", None, None),
            (offer_id, "accepted", str(9 * ETHER // 10), disputed_order),
        ]

        auction = listing(auc_listing)
        assert (auction.pricing, auction.state, auction.highest_bidder, int(auction.highest_bid)) == (
            "auction",
            "closed",
            platform.address,
            12 * ETHER // 10,
        )
        assert int(auction.min_increment) == ETHER // 10 and auction.auction_end == extended_end
        assert [(r.bidder, int(r.amount)) for r in conn.execute(select(bids).order_by(bids.c.block_number))] == [
            (buyer.address, ETHER),
            (platform.address, 12 * ETHER // 10),
        ]
        assert (order(won_order).buyer, order(won_order).state, order(won_order).outcome) == (
            platform.address,
            "refunded",
            "not-delivered",
        )
        assert int(order(won_order).buyer_credit) == 12 * ETHER // 10 + 2 * ETHER  # refund and both deposits

        rights = listing(use_listing)
        assert (rights.kind, rights.state, rights.max_queries, rights.policy_hash) == (
            "use-right",
            "active",  # a use-right listing keeps selling
            10,
            "0x" + keccak256(b"odrl policy").hex(),
        )
        expired = order(use_order)
        assert (expired.state, expired.outcome, expired.queries_total, expired.queries_left, expired.amount) == (
            "refunded",
            "use-right-expired",
            3,
            3,
            "0",
        )
        row = conn.execute(select(datasets).where(datasets.c.token_id == used)).one()
        assert (row.listing_id, row.sale_kind, row.pricing) == (use_listing, "use-right", "fixed")
    assert [h.token_id for h in search(idx.engine, SearchQuery(sale_kind="use-right")).hits] == [used]
    assert dump(idx.engine) == fresh_dump(world, db_factory)
    assert idx.verify().ok


def test_projections_are_rebuilt_when_their_code_changes(
    world: World, tmp_path: Path, db_factory: Callable[[], str]
) -> None:
    db = db_factory()
    idx = EventIndexer(world.contracts, open_engine(db))
    _, listing_id = publish_and_list(world, tmp_path, "Rebuilt")
    market.buy(world.contracts, world.buyer, listing_id)
    idx.sync()
    expected = dump(idx.engine)
    with idx.engine.begin() as conn:  # an index written by an older projection code
        conn.execute(update(orders).values(collateral="0", amount="0"))
        conn.execute(update(datasets).values(pricing=None))
        conn.execute(update(meta).where(meta.c.key == "projections").values(value="1"))
    EventIndexer(world.contracts, open_engine(db))
    assert dump(idx.engine) == expected
    with idx.engine.connect() as conn:
        assert conn.execute(select(meta.c.value).where(meta.c.key == "projections")).scalar_one() == (
            PROJECTION_VERSION
        )


@pytest.mark.parametrize("first", [True, False], ids=["empty index", "indexed before"])
def test_two_writers_on_one_index_never_store_a_block_twice(
    world: World, tmp_path: Path, db_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch, first: bool
) -> None:
    """A node and an ``audit`` command may sync the same database at once: the one that read the cursor before
    the other stored the same blocks drops its batch, and the index stays what a single writer builds."""
    db = db_factory()
    node, command = EventIndexer(world.contracts, open_engine(db)), EventIndexer(world.contracts, open_engine(db))
    if not first:
        node.sync()
    publish_and_list(world, tmp_path, "Raced")
    stale = command.cursor()  # what the command read just before the node stored the new blocks
    node.sync()
    monkeypatch.setattr(command, "cursor", lambda: stale)
    report = command.sync()
    assert report.events == 0
    assert dump(command.engine) == dump(node.engine) == fresh_dump(world, db_factory)
    monkeypatch.undo()
    world.chain.fund(world.outsider.address, 1)
    assert command.sync().events == 0 and command.cursor() == node.cursor()  # resumes from the node's cursor


def test_a_crash_mid_batch_leaves_no_half_batch(
    world: World, tmp_path: Path, db_factory: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose projection fails after its ``events`` rows went in leaves nothing behind: not those rows, not
    its block hashes, not the cursor; the batches before it stand, and the next sync indexes as a single run."""
    db = db_factory()
    idx = EventIndexer(world.contracts, open_engine(db), batch=1)
    start = idx.sync().to_block
    publish_and_list(world, tmp_path, "Crashed")
    head = world.chain.block_number()
    assert head >= start + 2  # publish and list: at least two batches of one block
    real_write = EventIndexer._write
    written: list[int] = []

    def crash_on_second(self: EventIndexer, conn: Any, page: Any) -> None:
        real_write(self, conn, page)  # the rows are in the transaction …
        written.append(len(page.events))
        if len(written) == 2:
            raise RuntimeError("power cut")  # … and the process dies before the commit

    monkeypatch.setattr(EventIndexer, "_write", crash_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        idx.sync()
    monkeypatch.undo()
    cursor = idx.cursor()
    assert cursor is not None and cursor[0] == start + 1  # the first batch committed, the second did not
    with idx.engine.connect() as conn:
        assert conn.execute(select(events.c.block_number).where(events.c.block_number > start + 1)).first() is None
        assert conn.execute(text("SELECT count(*) FROM blocks WHERE number > :n"), {"n": start + 1}).scalar_one() == 0
    assert idx.sync().to_block == head
    assert dump(idx.engine) == fresh_dump(world, db_factory)
