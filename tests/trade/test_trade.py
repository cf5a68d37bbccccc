"""One service-level suite, written once, run on both backends (embedded EVM and Anvil)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from datagora.crypto.envelope import decrypt_file
from datagora.domain.errors import (
    AccessDenied,
    CryptoError,
    NotFoundError,
    NoveltyRefused,
    TamperedError,
    TransactionReverted,
    ValidationError,
)
from datagora.domain.models import ListingState, OrderState, OrgStatus, Ruling
from datagora.scenarios import trade as trade_scenario
from datagora.services import audit, catalog, market, publishing, registry, reputation
from tests.world import ETHER, World, write_table

PRICE = ETHER // 2


def _publish(world: World, path: Path, name: str = "Survey") -> int:
    assert world.attestor is not None
    prepared = publishing.prepare(world.seller, path, name=name, domain="health")
    token_id, _, _ = publishing.publish(world.contracts, world.seller, prepared, world.attestor)
    return token_id


def _listed(world: World, tmp_path: Path, **windows: int) -> tuple[int, int, Path]:
    path = write_table(tmp_path / "survey.csv")
    token_id = _publish(world, path)
    listing_id, _ = market.list_dataset(world.contracts, world.seller, token_id, PRICE, **windows)
    return token_id, listing_id, path


def _paid(world: World, tmp_path: Path, **windows: int) -> tuple[int, int, Path]:
    token_id, listing_id, path = _listed(world, tmp_path, **windows)
    order_id, _ = market.buy(world.contracts, world.buyer, listing_id)
    return token_id, order_id, path


def test_full_trade_moves_data_money_and_ownership(world: World, tmp_path: Path) -> None:
    """The trade of ``datagora demo`` (:func:`datagora.scenarios.trade.trade`) on this backend's world."""
    c = world.contracts
    assert world.attestor is not None
    people = {p.label: p for p in (world.supervisor, world.platform, world.seller, world.buyer)}
    stage = trade_scenario.TradeStage(world.chain, c, people, world.attestor, tmp_path)
    seller_before = world.chain.balance(world.seller.address)
    buyer_before = world.chain.balance(world.buyer.address)
    result, token_ids, received = trade_scenario.trade(stage)
    assert result.failed_checks() == []  # ownership and hashes, custody and collateral while listed, escrow, copy
    assert result.ok and result.outcome == "CONFIRMED"
    token_id, listing_id, order_id = token_ids["table"], result.ids["listing"], result.ids["order"]
    price = trade_scenario.PRICES["table"]
    path = tmp_path / "data" / "breast_cancer_wisconsin.csv"
    ds = c.catalog.dataset(token_id)
    assert ds.content_hash == hashlib.sha256(path.read_bytes()).digest()
    assert c.market.listing(listing_id).collateral == price  # the default double deposit: 100 % of the price
    assert catalog.search(c, world.buyer.address, "no-such-keyword") == []

    tx = result.step("buy").txs[0]
    assert tx.event("OrderPaid").args["amount"] == price
    assert tx.event("OrderPaid").args["collateral"] == price
    assert (
        c.market.order(order_id).delivery_hash == result.step("deliver").txs[0].event("Delivered").args["delivery_hash"]
    )
    assert received.read_bytes() == path.read_bytes()
    assert c.catalog.owner_of(token_id) == world.buyer.address
    assert c.market.listing(listing_id).state == ListingState.SOLD
    assert c.market.order(order_id).state == OrderState.COMPLETED
    fee = price * c.market.fee_bps() // 10_000
    withdrawn = {
        s.actor: s.txs[0].event("Withdrawn").args["amount"] for s in result.steps if s.name.startswith("withdraw")
    }
    assert withdrawn == {"seller": 2 * price - fee, "buyer": price, "platform": fee}  # price less fee + collateral
    photo_collateral = c.market.listing(result.ids["photo_listing"]).collateral
    assert c.market.escrowed() == photo_collateral  # only the photo, still for sale
    # Balances, net of the gas each paid: the buyer paid the price; the seller got the price less the fee and
    # still has the photo's collateral in escrow.
    gas: dict[str, int] = {}
    for sent in result.txs:
        receipt = world.chain.w3.eth.get_transaction_receipt(sent.tx_hash)  # type: ignore[arg-type]
        gas[receipt["from"]] = gas.get(receipt["from"], 0) + receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert world.chain.balance(world.buyer.address) == buyer_before - price - gas[world.buyer.address]
    assert world.chain.balance(world.seller.address) == (
        seller_before + price - fee - photo_collateral - gas[world.seller.address]
    )

    trail = audit.audit_trail(c)
    actions = [r.action for r in trail]
    for expected in ("DatasetPublished", "Listed", "OrderPaid", "Delivered", "Settled", "Withdrawn"):
        assert expected in actions
    assert actions.index("OrderPaid") < actions.index("Delivered") < actions.index("Settled")
    settled = trail[actions.index("Settled")]
    assert settled.actor == world.buyer.address
    assert f"settled order #{order_id}: the buyer confirmed receipt" in settled.detail


def test_refund_after_delivery_deadline(world: World, tmp_path: Path) -> None:
    c = world.contracts
    token_id, order_id, _ = _paid(world, tmp_path, delivery_window=3600)
    with pytest.raises(TransactionReverted, match="market: delivery deadline not passed"):
        market.refund(c, world.buyer, order_id)
    world.chain.advance_time(3601)
    with pytest.raises(TransactionReverted, match="market: delivery deadline passed"):
        market.deliver(c, world.seller, order_id)
    market.refund(c, world.buyer, order_id)
    assert c.market.order(order_id).state == OrderState.REFUNDED
    assert c.catalog.owner_of(token_id) == world.seller.address
    amount, _ = market.withdraw(c, world.buyer)
    assert amount == 3 * PRICE  # the price, its collateral and the seller's forfeited collateral
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(c, world.seller)


def test_release_after_confirm_deadline(world: World, tmp_path: Path) -> None:
    c = world.contracts
    token_id, order_id, _ = _paid(world, tmp_path, confirm_window=600)
    market.deliver(c, world.seller, order_id)
    with pytest.raises(TransactionReverted, match="market: confirm deadline not passed"):
        market.release(c, world.seller, order_id)
    world.chain.advance_time(601)
    market.release(c, world.seller, order_id)
    assert c.catalog.owner_of(token_id) == world.buyer.address
    assert c.market.pending_withdrawal(world.seller.address) > 0


def test_tampered_ciphertext_is_refused_and_nothing_written(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, order_id, _ = _paid(world, tmp_path)
    delivery = market.deliver(c, world.seller, order_id, out_dir=tmp_path / "outbox")
    blob = bytearray(delivery.path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    bad = tmp_path / "bad.dge"
    bad.write_bytes(bytes(blob))
    out = tmp_path / "got.csv"
    with pytest.raises(TamperedError, match="delivery hash"):
        market.receive(c, world.buyer, order_id, bad, out)
    assert not out.exists()
    assert c.market.order(order_id).state == OrderState.DELIVERED


def test_wrong_key_cannot_decrypt_a_delivery(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, order_id, _ = _paid(world, tmp_path)
    delivery = market.deliver(c, world.seller, order_id, out_dir=tmp_path / "outbox")
    out = tmp_path / "stolen.csv"
    with pytest.raises(CryptoError):
        decrypt_file(delivery.path, out, world.outsider.private_key)
    assert not out.exists()
    with pytest.raises(AccessDenied):
        market.receive(c, world.outsider, order_id, delivery.path, out)


def test_unknown_ids_are_clear_errors(world: World) -> None:
    c = world.contracts
    with pytest.raises(NotFoundError, match="unknown dataset id 999"):
        market.list_dataset(c, world.seller, 999, PRICE)
    with pytest.raises(NotFoundError, match="unknown listing id 999"):
        market.buy(c, world.buyer, 999)
    with pytest.raises(NotFoundError, match="unknown order id 999"):
        market.deliver(c, world.seller, 999)


def test_buying_own_listing_reverts_without_state_change(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, listing_id, _ = _listed(world, tmp_path)
    before = world.chain.balance(world.seller.address)
    with pytest.raises(TransactionReverted, match="market: own listing"):
        market.buy(c, world.seller, listing_id)
    assert world.chain.balance(world.seller.address) == before
    assert c.market.listing(listing_id).state == ListingState.ACTIVE


def test_wrong_value_reverts_without_state_change(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, listing_id, _ = _listed(world, tmp_path)
    before = world.chain.balance(world.buyer.address)
    for value in (PRICE, 2 * PRICE - 1, 2 * PRICE + 1):  # the price alone, without the collateral, is short
        with pytest.raises(TransactionReverted, match="market: wrong value"):
            market.buy(c, world.buyer, listing_id, value)
    assert world.chain.balance(world.buyer.address) == before
    assert c.market.escrowed() == PRICE  # only the seller's collateral


def test_confirming_twice_reverts(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, order_id, _ = _paid(world, tmp_path)
    market.deliver(c, world.seller, order_id)
    market.confirm(c, world.buyer, order_id)
    owed = c.market.pending_withdrawal(world.seller.address)
    with pytest.raises(TransactionReverted, match="market: order not delivered"):
        market.confirm(c, world.buyer, order_id)
    assert c.market.pending_withdrawal(world.seller.address) == owed


def test_unaudited_organisation_cannot_publish(world: World, tmp_path: Path) -> None:
    c = world.contracts
    assert world.attestor is not None
    prepared = publishing.prepare(world.outsider, write_table(tmp_path / "x.csv"), name="x")
    with pytest.raises(TransactionReverted, match="catalog: publisher not audited"):
        publishing.publish(c, world.outsider, prepared, world.attestor)
    assert c.catalog.dataset_count() == 0
    with pytest.raises(AccessDenied):
        catalog.search(c, world.outsider.address, "")


def test_suspended_organisation_cannot_trade(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, listing_id, _ = _listed(world, tmp_path)
    registry.set_status(c, world.supervisor.account, world.orgs["buyer"], OrgStatus.SUSPENDED)
    with pytest.raises(TransactionReverted, match="market: buyer not audited"):
        market.buy(c, world.buyer, listing_id)
    with pytest.raises(AccessDenied):
        catalog.search(c, world.buyer.address, "")
    registry.set_status(c, world.supervisor.account, world.orgs["buyer"], OrgStatus.AUDITED)
    registry.set_status(c, world.supervisor.account, world.orgs["seller"], OrgStatus.SUSPENDED)
    with pytest.raises(TransactionReverted, match="market: seller not audited"):
        market.buy(c, world.buyer, listing_id)
    assert c.market.listing(listing_id).state == ListingState.ACTIVE
    assert c.market.escrowed() == PRICE


def test_suspension_mid_trade_leaves_no_money_stuck(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, order_id, _ = _paid(world, tmp_path)
    registry.set_status(c, world.supervisor.account, world.orgs["seller"], OrgStatus.SUSPENDED)
    market.deliver(c, world.seller, order_id)
    market.confirm(c, world.buyer, order_id)
    amount, _ = market.withdraw(c, world.seller)
    assert amount > 0


def test_platform_refuses_duplicate_content(world: World, tmp_path: Path) -> None:
    path = write_table(tmp_path / "survey.csv")
    token_id = _publish(world, path)
    with pytest.raises(NoveltyRefused, match=f"dataset {token_id}") as info:
        _publish(world, path, "renamed copy")
    assert info.value.matching_token_id == token_id


def test_publishing_bad_files_is_a_clear_error(world: World, tmp_path: Path) -> None:
    from datagora.domain.errors import ValidationError

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError, match="empty"):
        publishing.prepare(world.seller, empty)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValidationError, match="not a readable image"):
        publishing.prepare(world.seller, broken)
    with pytest.raises(ValidationError, match="no such file"):
        publishing.prepare(world.seller, tmp_path / "missing.csv")


def test_joining_an_organisation_needs_a_members_approval(world: World, tmp_path: Path) -> None:
    from eth_account import Account

    from datagora.domain.models import AccountKind
    from datagora.services.participant import Participant

    c = world.contracts
    newcomer = Participant("newcomer", Account.create(), tmp_path / "newcomer")
    world.chain.fund(newcomer.address, 10 * ETHER)
    org, tx = registry.register_organisation(c, newcomer, "Seller Org")
    assert org.id == world.orgs["seller"] and tx.event("MembershipRequested").args["account"] == newcomer.address
    assert c.registry.account_kind(newcomer.address) == AccountKind.PENDING
    assert not c.registry.is_audited(newcomer.address)
    with pytest.raises(TransactionReverted, match="registry: not a member of that organisation"):
        registry.approve_member(c, world.buyer.account, newcomer.address)
    org, tx = registry.approve_member(c, world.seller.account, newcomer.address)
    assert tx.event("MemberJoined").args["account"] == newcomer.address and org.members == 2
    assert c.registry.is_audited(newcomer.address)


def test_both_parties_rate_a_completed_trade_once(world: World, tmp_path: Path) -> None:
    c = world.contracts
    _, order_id, _ = _paid(world, tmp_path)
    with pytest.raises(TransactionReverted, match="reputation: order not completed"):
        reputation.rate(c, world.buyer, order_id, 5)
    market.deliver(c, world.seller, order_id)
    market.confirm(c, world.buyer, order_id)
    with pytest.raises(ValidationError, match="score must be"):
        reputation.rate(c, world.buyer, order_id, 6)

    tx = reputation.rate(c, world.buyer, order_id, 5)
    assert tx.event("Rated").args == {
        "order_id": order_id,
        "rater": world.buyer.address,
        "ratee": world.seller.address,
        "score": 5,
    }
    reputation.rate(c, world.seller, order_id, 4)
    assert c.reputation.totals(world.seller.address) == (5, 1)
    assert c.reputation.totals(world.buyer.address) == (4, 1)
    assert c.reputation.average_x100(world.buyer.address) == 400
    assert reputation.reputation_of(c, world.seller.address) == (5.0, 1)
    assert reputation.reputation_of(c, world.outsider.address) == (None, 0)
    with pytest.raises(TransactionReverted, match="reputation: already rated"):
        reputation.rate(c, world.buyer, order_id, 1)
    with pytest.raises(TransactionReverted, match="reputation: not a party"):
        reputation.rate(c, world.outsider, order_id, 3)
    assert c.reputation.totals(world.seller.address) == (5, 1)
    assert "Rated" in [r.action for r in audit.audit_trail(c)]


def test_audit_trail_tells_negotiations_auctions_disputes_and_parameters(world: World, tmp_path: Path) -> None:
    from datagora.crypto.hashing import keccak256
    from datagora.services import platform

    c, seller, buyer = world.contracts, world.seller, world.buyer
    platform.set_market_parameters(c, world.platform, management_fee=ETHER // 1000)
    token_id = _publish(world, write_table(tmp_path / "n.csv"), "Negotiated")
    listing_id, _ = market.list_negotiable(c, seller, token_id, PRICE, collateral=PRICE // 5)
    offer_id, _ = market.make_offer(c, buyer, listing_id, PRICE // 2)
    market.counter_offer(c, seller, offer_id, 3 * PRICE // 4)
    order_id, _ = market.accept_counter(c, buyer, offer_id, 3 * PRICE // 4)
    market.deliver(c, seller, order_id)
    market.dispute(c, buyer, order_id, "not the data described")
    c.market.resolve(world.platform.account, order_id, Ruling.FOR_BUYER, keccak256(b"fingerprints differ"))
    auctioned = _publish(world, write_table(tmp_path / "a.csv"), "Auctioned")
    auction_id, _ = market.list_auction(c, seller, auctioned, PRICE, min_increment=PRICE // 10, duration=600)
    world.chain.advance_time(601)
    assert market.settle_auction(c, buyer, auction_id)[0] == 0

    trail = audit.audit_trail(c)
    by_action: dict[str, list[audit.AuditRecord]] = {}
    for record in trail:
        by_action.setdefault(record.action, []).append(record)
    changed = by_action["ParametersChanged"][0]
    assert (
        changed.actor == world.platform.address and "the management fee to 0.001000 ETH per listing" in changed.detail
    )
    listed = by_action["Listed"][0].detail
    assert "ownership for negotiation, asking 0.500000 ETH" in listed and "collateral 0.100000 ETH" in listed
    assert "management fee 0.001000 ETH" in listed
    assert by_action["OfferMade"][0].actor == buyer.address
    countered = by_action["OfferCountered"][0]
    assert countered.actor == seller.address and "asks 0.375000 ETH instead of 0.250000 ETH" in countered.detail
    accepted = by_action["OfferAccepted"][0]
    assert accepted.actor == buyer.address and f"accepted the seller's counter on offer #{offer_id}" in accepted.detail
    assert by_action["Disputed"][0].actor == buyer.address
    resolved = by_action["Resolved"][0]
    assert resolved.actor == world.platform.address and "for the buyer" in resolved.detail
    settled = by_action["Settled"][0]
    assert settled.actor == buyer.address
    assert f"settled order #{order_id} for the buyer after a dispute" in settled.detail
    assert "buyer owed 0.575000 ETH" in settled.detail  # its payment, its collateral and the seller's
    assert "opened an English auction" in by_action["AuctionOpened"][0].detail
    assert by_action["AuctionSettled"][0].actor == seller.address
    assert "without bids" in by_action["AuctionSettled"][0].detail

    # the dataset filter follows the listing to its offers, orders and settlement; the account filter finds
    # the events that name no account through their order's parties
    of_dataset = [r.action for r in audit.audit_trail(c, token_id=token_id)]
    assert {"OfferMade", "OfferCountered", "OfferAccepted", "Disputed", "Resolved", "Settled"} <= set(of_dataset)
    assert "AuctionOpened" not in of_dataset
    of_seller = {r.action for r in audit.audit_trail(c, account=seller.address)}
    assert {"OfferCountered", "Settled", "Resolved", "AuctionOpened"} <= of_seller
