"""A seller that registered a fake fingerprint when it published (Wu et al. section IV.A.3): not one of the demo's
market scenarios, so it keeps its own story here, on both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datagora.crypto.envelope import encrypt_file
from datagora.domain.errors import ValidationError
from datagora.domain.models import ListingState, OrderState, Outcome, TxResult
from datagora.services import disputes, market
from datagora.services.publishing import fingerprint_of
from datagora.services.relay import SendReceiveBoard
from datagora.services.sample_data import write_photo
from tests.kits.market_kit import (
    attestor,
    make_board,
    publish_with_fake_fingerprint,
    receive_and_report,
    relay_delivery,
    withdraw_exactly,
)
from tests.world import ETHER, World

PRICE = ETHER // 2


@pytest.fixture
def board(world: World, tmp_path: Path) -> SendReceiveBoard:
    return make_board(world, tmp_path / "relay")


def _settled(tx: TxResult) -> dict[str, Any]:
    return dict(tx.event("Settled").args)


def _disputed(world: World, board: SendReceiveBoard, order_id: int) -> disputes.DeliveryCheck:
    """The platform's comparison finds the fingerprints inconsistent and disputes the order on chain."""
    check = disputes.check_delivery(world.contracts, world.platform, board, order_id)
    assert (check.action, check.consistent) == ("dispute", False)
    assert check.tx is not None
    assert check.tx.event("Disputed").args["by"] == world.platform.address
    assert world.contracts.market.order(order_id).state == OrderState.DISPUTED
    # the reason on chain is the hash of the evidence document, recomputed from it as JSON text (float included)
    assert check.evidence is not None and isinstance(check.evidence["similarity"], float)
    received = json.loads(json.dumps(check.evidence))
    assert check.tx.event("Disputed").args["reason_hash"] == disputes.evidence_hash(received)
    return check


def _evidence_on_chain(resolution: disputes.Resolution) -> None:
    """The ruling's evidence hash on chain is the hash of the evidence document sent as JSON text."""
    received = json.loads(json.dumps(resolution.evidence))
    assert isinstance(received["similarity"], float) and received["ruling"] == resolution.ruling.name
    on_chain = resolution.tx.event("Resolved").args["evidence_hash"]
    assert on_chain == resolution.evidence_hash == disputes.evidence_hash(received)


def _market_is_empty(world: World) -> None:
    assert world.contracts.market.escrowed() == 0
    assert world.chain.balance(world.contracts.addresses["Market"]) == 0


def test_inconsistent_fingerprint_fake_seller_fingerprint(
    world: World, board: SendReceiveBoard, tmp_path: Path
) -> None:
    """IV.A.3, fake f_S registered in step 4: every transaction of that seller fails. Its re-upload of the real
    data does not match the registered fingerprint, nor does fabricated data that matches the fake fingerprint
    match the dataset: each time the buyer is refunded and receives the seller's collateral."""
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    photo = write_photo(tmp_path / "astronaut.png", "astronaut")
    decoy = write_photo(tmp_path / "coffee.png", "coffee")
    fake = fingerprint_of(decoy)
    token_id = publish_with_fake_fingerprint(world, photo, "Astronaut", fake)
    assert attestor(world).fingerprint_of(token_id) == fake

    def sell_and_dispute() -> int:
        listing_id, _ = market.list_dataset(c, seller, token_id, PRICE)
        order_id, _ = market.buy(c, buyer, listing_id)
        relay_delivery(world, board, seller, order_id, fingerprint=fake)  # real data, f_S = the fake one
        receive_and_report(world, board, buyer, order_id, tmp_path / f"got-{order_id}.png")
        _disputed(world, board, order_id)
        return order_id

    # 1. The seller re-uploads its real data: f_{D',P} is not the registered f_{D,P}.
    first = sell_and_dispute()
    reupload = disputes.reupload_for_arbitration(c, seller, first, tmp_path / "reupload.dge")
    resolution = disputes.arbitrate(c, platform, attestor(world), board, first, reupload)
    assert (resolution.seller_honest, resolution.content_match, resolution.buyer_copy) == (False, True, None)
    _evidence_on_chain(resolution)
    assert _settled(resolution.tx)["outcome"] == Outcome.FOR_BUYER
    assert _settled(resolution.tx)["buyer_credit"] == PRICE + 2 * PRICE
    assert c.catalog.owner_of(token_id) == seller.address  # the NFT returns, the listing closes
    assert c.market.listing(c.market.order(first).listing_id).state == ListingState.CLOSED

    # 2. Next sale: it re-uploads data matching the fake fingerprint, which is not the dataset.
    second = sell_and_dispute()
    encrypt_file(decoy, tmp_path / "fabricated.dge", {platform.address: platform.public_key})
    resolution = disputes.arbitrate(c, platform, attestor(world), board, second, tmp_path / "fabricated.dge")
    assert (resolution.seller_honest, resolution.content_match) == (False, False)
    assert _settled(resolution.tx) == {
        "order_id": second,
        "listing_id": c.market.order(second).listing_id,
        "outcome": Outcome.FOR_BUYER,
        "seller_credit": 0,
        "buyer_credit": PRICE + 2 * PRICE,
        "fee": 0,
    }
    assert c.catalog.owner_of(token_id) == seller.address
    withdraw_exactly(world, None, buyer, 2 * (PRICE + 2 * PRICE))  # both payments and both seller collaterals
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(c, seller)
    _market_is_empty(world)
