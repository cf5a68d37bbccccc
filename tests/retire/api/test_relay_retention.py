"""The platform keeps a relayed ciphertext only while it may be needed (issue 17, item 4): once its order is
settled and the Market's dispute window has passed, the sweep deletes it from the platform's store; the
send-receive board keeps the signed notices (hashes and times, no data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from datagora.domain.errors import NotFoundError
from datagora.domain.models import Ruling
from datagora.services import disputes, market, publishing
from datagora.services.arbitration import ArbitrationInbox
from tests.kits.market_kit import make_board, receive_and_report, relay_delivery
from tests.kits.node_fixtures import Net
from tests.world import ETHER, World, write_table


def _relayed_sale(world: World, tmp_path: Path) -> tuple[int, int]:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, write_table(tmp_path / "survey.csv"), name="Survey")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    listing_id, _ = market.list_dataset(world.contracts, world.seller, token_id, ETHER)
    order_id, _ = market.buy(world.contracts, world.buyer, listing_id)
    return token_id, order_id


def test_relayed_ciphertext_is_gone_after_settlement_and_the_dispute_window(world: World, tmp_path: Path) -> None:
    c = world.contracts
    board = make_board(world, tmp_path / "platform")
    _, order_id = _relayed_sale(world, tmp_path)
    relay_delivery(world, board, world.seller, order_id)
    blob = c.market.order(order_id).delivery_hash.hex()
    assert board.store.has(blob)
    assert board.sweep() == []  # delivered, not settled: kept

    receive_and_report(world, board, world.buyer, order_id, tmp_path / "bought.csv")
    market.confirm(c, world.buyer, order_id)
    assert board.sweep() == []  # settled, but the dispute window has not passed: kept
    window = c.market.dispute_window()
    assert window == 7 * 86_400
    world.chain.advance_time(window - 60)
    assert board.sweep() == [] and board.store.has(blob)

    world.chain.advance_time(61)
    assert board.sweep() == [order_id]
    assert not board.store.has(blob) and list(board.store) == []
    assert board.relayed(order_id) is None
    with pytest.raises(NotFoundError, match=r"deleted the relayed delivery of order \d+ after the order settled"):
        board.open_relayed(c.market.order(order_id))
    kinds = [e.notice.kind for e in board.entries(order_id)]  # the signed notices stay: the evidence, without data
    assert kinds == ["sent", "received"]
    assert board.sweep() == []  # nothing left to sweep


def test_an_order_released_by_its_deadline_is_swept_too(world: World, tmp_path: Path) -> None:
    c = world.contracts
    board = make_board(world, tmp_path / "platform")
    _, delivered = _relayed_sale(world, tmp_path)
    relay_delivery(world, board, world.seller, delivered)
    # the buyer never confirms; after the confirmation window the seller is paid (release): settled
    world.chain.advance_time(c.market.order(delivered).deadline - c.chain.now() + 1)
    market.release(c, world.seller, delivered)
    world.chain.advance_time(c.market.dispute_window() + 1)
    assert board.sweep() == [delivered]


def test_dispute_evidence_is_swept_with_the_ciphertext(world: World, tmp_path: Path) -> None:
    """The seller's re-upload (readable by the platform) leaves the platform's store with the relayed
    ciphertext once the disputed order is settled and the window has passed; the record of the dispute stays."""
    c = world.contracts
    board = make_board(world, tmp_path / "platform")
    inbox = ArbitrationInbox(board, tmp_path / "platform" / "arbitration", world.platform.private_key)
    _, order_id = _relayed_sale(world, tmp_path)
    relay_delivery(world, board, world.seller, order_id)
    market.dispute(c, world.buyer, order_id, "not what was described")
    reupload = disputes.reupload_for_arbitration(c, world.seller, order_id, tmp_path / "reupload.dge")
    held = inbox.staging_file()
    held.write_bytes(reupload.read_bytes())
    inbox.accept_reupload(order_id, held, world.seller.address)
    assert inbox.reupload(order_id) is not None
    c.market.resolve(world.platform.account, order_id, Ruling.FOR_SELLER, bytes(32))
    assert inbox.sweep() == []  # inside the window
    world.chain.advance_time(c.market.dispute_window() + 1)
    assert inbox.sweep() == [order_id] and board.sweep() == [order_id]
    assert inbox.reupload(order_id) is None
    assert "purged_at" in inbox.files.read(order_id)


@pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")
def test_the_platform_node_sweeps_when_it_starts(net: Net, tmp_path: Path) -> None:
    world = net.world
    app = net.apps["platform"]
    board = app.state.board
    _, order_id = _relayed_sale(world, tmp_path)
    relay_delivery(world, board, world.seller, order_id)
    blob = world.contracts.market.order(order_id).delivery_hash.hex()
    market.confirm(world.contracts, world.buyer, order_id)
    world.chain.advance_time(world.contracts.market.dispute_window() + 1)
    assert board.store.has(blob)
    with TestClient(app, base_url="http://platform.test") as client:  # the node (re)starts: lifespan sweeps
        assert client.get("/health").status_code == 200
    assert not board.store.has(blob) and board.relayed(order_id) is None
