"""Retiring a dataset (issue 17, item 4): the owner's node cancels its open listings, ``Catalog.retire`` burns the
token and emits ``Retired``, the owner's ciphertexts and data keys are destroyed, and every route about it answers
410 Gone. Open paid orders complete or refund first; prepaid use-rights refund when their window ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.api.client import RemoteError
from datagora.domain.errors import AccessDenied, Conflict, DatasetRetired
from datagora.domain.models import ListingState
from datagora.index import EventIndexer, open_engine
from datagora.index.search import SearchQuery, search
from datagora.services import catalog, market, publishing, retire, use_rights
from datagora.services.audit import audit_trail
from tests.kits.node_fixtures import EMBEDDED, Net, base_url
from tests.world import ETHER, World, write_table

pytestmark = EMBEDDED


def _publish(world: World, path: Path, name: str = "Survey") -> tuple[int, publishing.PreparedDataset]:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, path, name=name, domain="health")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    return token_id, prepared


def test_retire_cancels_listings_shreds_the_store_and_records_the_event(world: World, tmp_path: Path) -> None:
    c = world.contracts
    token_id, prepared = _publish(world, write_table(tmp_path / "survey.csv"))
    other, _ = _publish(world, write_table(tmp_path / "other.csv"), name="Other survey")
    use_listing, _ = use_rights.list_use_right(c, world.seller, token_id, 10**16, max_queries=5)
    prepaid, _ = use_rights.buy_queries(c, world.buyer, use_listing, 3)
    sale_listing, _ = market.list_dataset(c, world.seller, token_id, ETHER)  # the NFT goes into the Market's escrow
    own_blob = prepared.blob
    assert world.seller.store.has(own_blob)
    assert world.seller.paths.record("policies", str(use_listing)).is_file()

    done = retire.retire(c, world.seller, token_id)

    assert done.cancelled_listings == [sale_listing, use_listing]
    assert done.refunding_orders == [prepaid]
    assert own_blob in done.shredded.blobs
    assert not world.seller.store.has(own_blob)
    assert not world.seller.paths.record("datasets", prepared.description.content_hash.hex()).exists()
    assert not world.seller.paths.record("policies", str(use_listing)).exists()
    assert retire.holds_nothing(world.seller, prepared.description.content_hash, [own_blob])
    # the blob store holds nothing that still decrypts to it: every remaining blob belongs to the other dataset
    assert len(list(world.seller.store)) == 1
    # on chain: Retired, the token burned, both listings cancelled
    assert c.catalog.is_retired(token_id) and not c.catalog.is_retired(other)
    retired = [e for e in done.txs[-1].events if e.name == "Retired"]
    assert len(retired) == 1 and retired[0].args["token_id"] == token_id
    assert retired[0].args["owner"] == world.seller.address
    assert c.market.listing(sale_listing).state == ListingState.CANCELLED
    assert c.market.listing(use_listing).state == ListingState.CANCELLED
    assert c.catalog.owner_of(other) == world.seller.address
    # nothing about it works any more; keyword search leaves it out
    with pytest.raises(DatasetRetired, match=f"dataset {token_id} was retired"):
        c.catalog.dataset(token_id)
    with pytest.raises(DatasetRetired):
        market.list_dataset(c, world.seller, token_id, ETHER)
    with pytest.raises(DatasetRetired):
        use_rights.list_use_right(c, world.seller, token_id, 10**16)
    assert [h.token_id for h in catalog.search(c, world.buyer.address)] == [other]
    # the index drops it from search; the audit trail says what happened
    engine = open_engine("sqlite://")
    try:
        indexer = EventIndexer(c, engine)
        indexer.sync()
        assert [h.token_id for h in search(engine, SearchQuery(keyword="survey")).hits] == [other]
        assert search(engine, SearchQuery(token_id=token_id, limit=1)).hits == []
        trail = audit_trail(indexer, token_id=token_id)
    finally:
        engine.dispose()
    lines = [r.detail for r in trail if r.action == "Retired"]
    assert len(lines) == 1 and lines[0].startswith(f"retired dataset #{token_id}")
    assert "buyers keep their copies" in lines[0]


def test_prepaid_use_rights_refund_after_retiring(world: World, tmp_path: Path) -> None:
    c = world.contracts
    token_id, _ = _publish(world, write_table(tmp_path / "survey.csv"))
    listing_id, _ = use_rights.list_use_right(c, world.seller, token_id, 10**16, max_queries=5, usage_window=86_400)
    order_id, _ = use_rights.buy_queries(c, world.buyer, listing_id, 2)
    retire.retire(c, world.seller, token_id)
    world.chain.advance_time(86_401)
    c.use_rights.expire(world.buyer.account, order_id)
    assert c.use_rights.pending_withdrawal(world.buyer.address) == 2 * 10**16


def test_a_paid_order_holds_retiring_until_it_settles(world: World, tmp_path: Path) -> None:
    """The token is in the Market's escrow for the buyer: retiring is refused (nothing cancelled, nothing
    shredded); once the sale completes the token is the buyer's, and the seller may no longer retire it."""
    c = world.contracts
    token_id, prepared = _publish(world, write_table(tmp_path / "survey.csv"))
    listing_id, _ = market.list_dataset(c, world.seller, token_id, ETHER)
    order_id, _ = market.buy(c, world.buyer, listing_id)
    with pytest.raises(Conflict, match=f"sold under listing {listing_id}"):
        retire.retire(c, world.seller, token_id)
    assert world.seller.store.has(prepared.blob)
    market.deliver(c, world.seller, order_id, tmp_path / "out")
    market.confirm(c, world.buyer, order_id)
    with pytest.raises(AccessDenied, match="only the owner"):
        retire.retire(c, world.seller, token_id)
    assert c.catalog.owner_of(token_id) == world.buyer.address


def test_only_the_owner_retires_and_only_once(world: World, tmp_path: Path) -> None:
    c = world.contracts
    token_id, _ = _publish(world, write_table(tmp_path / "survey.csv"))
    with pytest.raises(AccessDenied):
        retire.retire(c, world.buyer, token_id)
    retire.retire(c, world.seller, token_id)
    with pytest.raises(DatasetRetired):
        retire.retire(c, world.seller, token_id)


def test_routes_about_a_retired_dataset_answer_410(net: Net, tmp_path: Path) -> None:
    world = net.world
    token_id, prepared = _publish(world, write_table(tmp_path / "survey.csv"))
    seller = net.client("seller")
    assert seller.dataset(token_id).token_id == token_id
    listing_id = seller.list_use_right(token_id, 10**16)["offer"]["listing_id"]
    buyer = net.client("buyer")
    order_id = buyer.buy(listing_id, queries=2)["order"]["order_id"]
    with pytest.raises(RemoteError) as stranger:
        net.client("seller", as_="buyer").retire_dataset(token_id)
    assert stranger.value.status == 403

    done = seller.retire_dataset(token_id)
    assert done.token_id == token_id and done.shredded_blobs == 1 and done.txs
    assert not world.seller.store.has(prepared.blob)

    for call in (
        lambda: net.client("buyer").dataset(token_id),
        lambda: seller.dataset(token_id),
        lambda: seller.retire_dataset(token_id),
        lambda: seller.list_offer(token_id, ETHER),
        lambda: seller.list_use_right(token_id, 10**16),
        lambda: buyer.ask_query(order_id, {"select": [{"aggregate": "count", "as": "n"}]}, base_url("seller")),
    ):
        with pytest.raises(RemoteError) as gone:
            call()
        assert gone.value.status == 410, gone.value
        assert f"dataset {token_id} was retired" in str(gone.value)
    raw = net.http["seller"].get(
        f"/datasets/{token_id}", headers={"Authorization": f"Bearer {net.client('seller').token()}"}
    )
    assert raw.status_code == 410 and raw.headers["content-type"] == "application/problem+json"
    assert raw.json()["token_id"] == token_id and raw.json()["title"] == "Gone"
    assert seller.search(q="survey").hits == []
    assert done.cancelled_listings == [listing_id] and done.refunding_orders == [order_id]
    assert buyer.order(order_id).queries_left == 2  # the prepaid order is still readable, to be expired later
