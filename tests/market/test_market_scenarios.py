"""Every market scenario of ``datagora demo market`` (:mod:`datagora.scenarios.market`), run once per backend
(embedded EVM and Anvil) and checked exactly: the outcome and the scenario's own checks, the events, who is
credited what, NFT ownership, balances net of gas, and a Market that holds nothing once everyone has withdrawn.

The market is set up once per backend (participants, contracts, ten published datasets); each test reverts the
chain to that point and opens a fresh relay and attestation store, then plays its scenario(s)."""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import AccessDenied, NoveltyRefused, TransactionReverted, ValidationError
from datagora.domain.models import ETHER, ListingState, OrderState, Outcome, Ruling, TxResult
from datagora.scenarios import market as scenarios
from datagora.scenarios.market import sales
from datagora.scenarios.market.stage import MANAGEMENT_FEE, TOKEN_MINT, MarketStage
from datagora.scenarios.records import WEI, ScenarioResult
from datagora.services import market, publishing, reputation
from datagora.services.attestation import NoveltyAttestor
from datagora.services.publishing import fingerprint_of
from datagora.services.relay import DeliveryNotice
from datagora.services.sample_data import write_pirated_copy
from tests.conftest import BACKENDS, make_chain

DAY = 86_400
ATTESTOR_FILES = ("data-contract.sqlite", "data-contract-fingerprints.sqlite")


@pytest.fixture(scope="module", params=BACKENDS)
def market_base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[MarketStage, Path]:
    chain = make_chain(request.param, request)
    stage = scenarios.setup(chain, tmp_path_factory.mktemp(f"market-{request.param}"))
    pristine = tmp_path_factory.mktemp(f"attestor-{request.param}")
    home = stage.p("platform").home
    for name in ATTESTOR_FILES:
        _copy_db(home / name, pristine / name)
    return stage, pristine


def _copy_db(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


@pytest.fixture
def stage(market_base: tuple[MarketStage, Path], tmp_path: Path) -> Iterator[MarketStage]:
    """The set-up market, with the chain reverted to its post-setup snapshot after the test and a fresh relay
    and attestation store (order ids are reused after a revert)."""
    base, pristine = market_base
    snap = base.chain.snapshot()
    for name in ATTESTOR_FILES:
        _copy_db(pristine / name, tmp_path / name)
    base.attestor = NoveltyAttestor(base.contracts, base.p("platform").account, tmp_path / ATTESTOR_FILES[0])
    base.open_relay(tmp_path)
    base.withdrawn = {}
    try:
        yield base
    finally:
        base.chain.revert(snap)


# -- helpers ------------------------------------------------------------------------------------------------------


def _passed(result: ScenarioResult) -> None:
    assert result.failed_checks() == [], result.failed_checks()
    assert result.outcome == result.expected
    assert result.ok


def _tx(result: ScenarioResult, step: str) -> TxResult:
    (tx,) = result.step(step).txs
    return tx


def _settled(tx: TxResult) -> dict[str, Any]:
    return dict(tx.event("Settled").args)


def _fee(stage: MarketStage, price: int) -> int:
    return price * stage.c.market.fee_bps() // 10_000


def _addr(stage: MarketStage, label: str) -> str:
    return stage.p(label).address


def _gas_paid(stage: MarketStage, txs: list[TxResult]) -> dict[str, int]:
    """Wei each sender paid for ``txs`` (gas used times effective gas price)."""
    paid: dict[str, int] = {}
    for tx in txs:
        receipt = stage.chain.w3.eth.get_transaction_receipt(tx.tx_hash)  # type: ignore[arg-type]
        sender = str(receipt["from"])
        paid[sender] = paid.get(sender, 0) + int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
    return paid


class Balances:
    """Ether balances when opened; ``net(label, txs)``: the change since, plus the gas ``label`` paid for ``txs``."""

    def __init__(self, stage: MarketStage, *labels: str) -> None:
        self.stage = stage
        self.start = {label: stage.chain.balance(_addr(stage, label)) for label in labels}

    def net(self, label: str, txs: list[TxResult]) -> int:
        address = _addr(self.stage, label)
        gas = _gas_paid(self.stage, txs).get(address, 0)
        return self.stage.chain.balance(address) - self.start[label] + gas


def _withdrawn(result: ScenarioResult, label: str, symbol: str = "ETH") -> int:
    """What ``label`` withdrew in the scenario's steps ``withdraw (label, symbol)`` (from the Market) and
    ``withdraw (label, symbol, UseRights)`` (one transaction each); their events name it."""
    steps = [s for s in result.steps if s.name.startswith(f"withdraw ({label}, {symbol}")]
    assert all(len(s.txs) == 1 for s in steps)
    return sum(int(tx.event("Withdrawn").args["amount"]) for s in steps for tx in s.txs)


def _withdraw_exactly(stage: MarketStage, label: str, expected: int, token: str = ETHER) -> TxResult:
    """``label`` withdraws from both sale contracts; amounts, events and balance change (net of gas for ether)
    all equal ``expected``. Returns the last withdrawal."""
    who = stage.p(label)
    c = stage.c
    assert market.owed_to(c, who.address, token) == expected
    ether = int(token, 16) == 0
    before = stage.chain.balance(who.address) if ether else c.tokens.balance(token, who.address)
    amount, txs = market.withdraw_all(c, who, token)
    assert amount == expected
    events = [tx.event("Withdrawn").args for tx in txs]
    assert all(e["account"] == who.address and e["payment_token"] == Web3.to_checksum_address(token) for e in events)
    assert sum(e["amount"] for e in events) == expected
    if ether:
        assert stage.chain.balance(who.address) == before + expected - _gas_paid(stage, txs)[who.address]
    else:
        assert c.tokens.balance(token, who.address) == before + expected
    assert market.owed_to(c, who.address, token) == 0
    return txs[-1]


def _market_is_empty(stage: MarketStage, token: str | None = None) -> None:
    """Neither sale contract holds anything: the Market (ownership) nor UseRights (prepaid queries)."""
    c = stage.c
    for binding in (c.market, c.use_rights):
        assert binding.escrowed() == 0
        assert stage.chain.balance(binding.address) == 0
        if token is not None:
            assert binding.escrowed(token) == 0
            assert c.tokens.balance(token, binding.address) == 0


# -- the platform as broker; then the seller tries to sell it again; everyone withdraws ----------------------------


def test_broker_sale_then_illegal_resale_then_settle_up(stage: MarketStage, tmp_path: Path) -> None:
    c, fee_bps = stage.c, stage.c.market.fee_bps()
    balances = Balances(stage, "seller", "buyer", "platform")
    result = scenarios.broker(stage)
    _passed(result)
    price, token_id = WEI // 5, stage.tokens["astronaut"]
    listing_id, order_id = result.ids["listing"], result.ids["order"]
    assert _tx(result, "list").event("Listed").args == {
        "listing_id": listing_id,
        "token_id": token_id,
        "seller": _addr(stage, "seller"),
        "kind": 1,
        "pricing": 1,
        "price": price,
        "collateral": price,
        "payment_token": "0x0000000000000000000000000000000000000000",
        "delivery_window": DAY,
        "confirm_window": DAY,
        "management_fee": MANAGEMENT_FEE,
    }
    buy = _tx(result, "buy")
    assert buy.event("OrderPaid").args == {
        "order_id": order_id,
        "listing_id": listing_id,
        "buyer": _addr(stage, "buyer"),
        "amount": price,
        "fee_bps": fee_bps,
        "collateral": price,
        "queries": 0,
        "deadline": stage.chain.block_timestamp(buy.block_number) + DAY,
    }
    assert "dispute" not in [s.name for s in result.steps]  # the platform's comparison found them consistent
    fee = _fee(stage, price)
    assert _settled(_tx(result, "confirm")) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": price - fee + price,
        "buyer_credit": price,
        "fee": fee,
    }
    assert c.catalog.owner_of(token_id) == _addr(stage, "buyer")
    assert c.market.listing(listing_id).state == ListingState.SOLD
    assert c.market.order(order_id).state == OrderState.COMPLETED
    assert _withdrawn(result, "seller") == 2 * price - fee
    assert _withdrawn(result, "buyer") == price  # its collateral back
    assert _withdrawn(result, "platform") == fee + MANAGEMENT_FEE
    assert balances.net("seller", result.txs) == price - fee - MANAGEMENT_FEE
    assert balances.net("buyer", result.txs) == -price
    assert balances.net("platform", result.txs) == fee + MANAGEMENT_FEE
    assert reputation.reputation_of(c, _addr(stage, "seller")) == (5.0, 1)
    assert reputation.reputation_of(c, _addr(stage, "buyer")) == (5.0, 1)
    _market_is_empty(stage)

    # Nobody can deny the sale: the chain names who listed, paid and confirmed; the board's signed notes name who
    # sent and who received which bytes, and cannot be re-attributed or altered.
    def sender_of(tx_hash: str) -> str:
        return str(stage.chain.w3.eth.get_transaction(tx_hash)["from"])  # type: ignore[arg-type]

    events = {
        e.name: e for e in c.events() if e.contract == "Market" and e.args.get("listing_id", listing_id) == listing_id
    }
    assert events["Listed"].args["seller"] == sender_of(events["Listed"].tx_hash) == _addr(stage, "seller")
    assert events["OrderPaid"].args["buyer"] == sender_of(events["OrderPaid"].tx_hash) == _addr(stage, "buyer")
    assert sender_of(_tx(result, "deliver").tx_hash) == _addr(stage, "seller")
    assert sender_of(_tx(result, "confirm").tx_hash) == _addr(stage, "buyer")  # only the buyer confirms
    delivery_hash = _tx(result, "deliver").event("Delivered").args["delivery_hash"]
    chain_id, market_address = stage.chain.chain_id, c.addresses["Market"]
    sent, received = stage.board.view(order_id, _addr(stage, "supervisor")).entries
    assert sent.notice.signer(sent.signature, chain_id, market_address) == _addr(stage, "seller")
    assert received.notice.signer(received.signature, chain_id, market_address) == _addr(stage, "buyer")
    assert sent.notice.delivery_hash == received.notice.delivery_hash == delivery_hash
    photo_fingerprint = keccak256(fingerprint_of(stage.files["astronaut"]))
    assert sent.notice.fingerprint_hash == received.notice.fingerprint_hash == photo_fingerprint
    assert sent.notice.timestamp <= received.notice.timestamp
    altered = DeliveryNotice.of(
        order_id, _addr(stage, "seller"), _addr(stage, "buyer"), bytes(32), received.notice.timestamp, True
    )
    assert altered.signer(received.signature, chain_id, market_address) != _addr(stage, "buyer")
    forged = DeliveryNotice.of(
        order_id, _addr(stage, "seller"), _addr(stage, "buyer"), delivery_hash, stage.chain.now(), True
    )
    with pytest.raises(AccessDenied, match="not by its buyer"):
        stage.board.record_received(forged, forged.sign(stage.p("mallory").private_key, chain_id, market_address))
    with pytest.raises(AccessDenied):
        stage.board.view(order_id, _addr(stage, "mallory"))

    # Selling it again: refused through the node, on chain and as an edited copy.
    count = c.catalog.dataset_count()
    resale = scenarios.resale(stage)
    _passed(resale)
    assert "market: not token owner" in resale.step("relist").action
    assert "market: not token owner" in resale.step("relist on chain").action
    assert f"near-duplicate of dataset {token_id}" in resale.step("refuse copy").action
    assert c.catalog.dataset_count() == count
    # The buyer cannot publish what it bought as new data either, edited or not.
    buyer = stage.p("buyer")
    bought = buyer.home / "received" / f"order-{order_id}.png"
    with pytest.raises(NoveltyRefused, match=f"near-duplicate of dataset {token_id}") as info:
        publishing.publish(
            c, buyer, publishing.prepare(buyer, write_pirated_copy(bought, tmp_path / "edit.jpg")), stage.attestor
        )
    assert info.value.matching_token_id == token_id
    with pytest.raises(NoveltyRefused, match=f"identical content is already dataset {token_id}"):
        publishing.publish(c, buyer, publishing.prepare(buyer, bought, name="copy"), stage.attestor)

    settled = scenarios.settle_up(stage)
    _passed(settled)
    assert settled.outcome == scenarios.ESCROW_EMPTY
    _market_is_empty(stage, stage.token)
    # The rightful owner may sell the ownership it bought.
    listing_id, _ = market.list_dataset(c, buyer, token_id, price)
    assert c.market.listing(listing_id).seller == buyer.address


# -- the platform as reseller --------------------------------------------------------------------------------------


def test_platform_buys_then_resells(stage: MarketStage) -> None:
    c = stage.c
    balances = Balances(stage, "seller", "carol", "platform")
    bought = scenarios.reseller_buy(stage)
    _passed(bought)
    price, token_id = WEI // 10, stage.tokens["coffee"]
    fee_1 = _fee(stage, price)
    assert _settled(_tx(bought, "confirm")) == {
        "order_id": bought.ids["order"],
        "listing_id": bought.ids["listing"],
        "outcome": Outcome.CONFIRMED,
        "seller_credit": price - fee_1 + price,
        "buyer_credit": price,
        "fee": fee_1,
    }
    assert c.catalog.owner_of(token_id) == _addr(stage, "platform")
    (sent, received) = stage.board.check(bought.ids["order"]).entries
    assert stage.board.fingerprint(sent) == stage.attestor.fingerprint_of(token_id)  # f_S is the attested one
    assert received.notice.sender == _addr(stage, "platform")

    resold = scenarios.reseller_sell(stage)
    _passed(resold)
    resale_price = 3 * WEI // 20
    fee_2 = _fee(stage, resale_price)
    order_id = resold.ids["order"]
    assert [e.notice.kind for e in stage.board.check(order_id).entries] == ["sent"]  # no note from carol
    assert _settled(_tx(resold, "confirm")) == {
        "order_id": order_id,
        "listing_id": resold.ids["listing"],
        "outcome": Outcome.CONFIRMED,
        "seller_credit": resale_price - fee_2 + resale_price,
        "buyer_credit": resale_price,
        "fee": fee_2,
    }
    assert c.catalog.owner_of(token_id) == _addr(stage, "carol")
    txs = bought.txs + resold.txs
    txs.append(_withdraw_exactly(stage, "seller", 2 * price - fee_1))
    txs.append(_withdraw_exactly(stage, "carol", resale_price))
    # as buyer: its collateral and its own fee; as seller: the resale price less the fee, its collateral and the
    # fee; and both listing fees (the seller's and its own)
    txs.append(_withdraw_exactly(stage, "platform", price + fee_1 + 2 * resale_price + 2 * MANAGEMENT_FEE))
    assert balances.net("seller", txs) == price - fee_1 - MANAGEMENT_FEE
    assert balances.net("carol", txs) == -resale_price
    assert balances.net("platform", txs) == resale_price - (price - fee_1) + MANAGEMENT_FEE  # pockets the difference
    _market_is_empty(stage)


# -- use-rights per query -----------------------------------------------------------------------------------------


def test_use_right_per_query(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.use_right(stage)
    _passed(result)
    price, token_id, order_id = sales.USE_RIGHT_PRICE, result.ids["token"], result.ids["order"]
    listed = _tx(result, "list use-right")
    policy = sales.use_right_policy(stage.chain.chain_id, _addr(stage, "seller"), token_id)
    assert listed.event("UseRightTerms").args == {
        "listing_id": result.ids["listing"],
        "max_queries": 10,
        "policy_hash": policy.policy_hash(),
    }
    assert _tx(result, "buy 4 queries").event("OrderPaid").args["amount"] == 4 * price
    fee = _fee(stage, price)
    answers = [_tx(result, f"answer query {n}").event("QueryAnswered").args for n in (1, 2, 3)]
    aggregates = [spec for title, spec in sales.USE_RIGHT_QUERIES if not title.startswith("raw")]
    assert [a["index"] for a in answers] == [0, 1, 2]  # the refused raw-row request took no index, nor money
    assert [a["query_hash"] for a in answers] == [spec.query_hash() for spec in aggregates]
    assert all((a["order_id"], a["seller_amount"], a["fee"]) == (order_id, price - fee, fee) for a in answers)
    with stage.files["breast_cancer"].open() as fh:
        diagnoses = [row["diagnosis"] for row in csv.DictReader(fh)]
    counted = result.step("answer query 1").action
    assert "differentially private, epsilon 1" in counted
    for diagnosis in set(diagnoses):  # noisy counts: discrete Laplace of scale 1, off by 20 with odds e**-20
        noisy = int(re.search(rf"diagnosis={diagnosis}, patients=(-?\d+)", counted)[1])  # type: ignore[index]
        assert abs(noisy - diagnoses.count(diagnosis)) <= 20
    assert "policy: raw rows not permitted" in result.step("refuse query").action
    assert _settled(_tx(result, "expire")) == {
        "order_id": order_id,
        "listing_id": result.ids["listing"],
        "outcome": Outcome.USE_RIGHT_EXPIRED,
        "seller_credit": 0,
        "buyer_credit": price,
        "fee": 0,
    }
    assert c.market.order(order_id).state == OrderState.COMPLETED
    assert c.catalog.owner_of(token_id) == _addr(stage, "seller")
    listing_fee = listed.event("Listed").args["management_fee"]
    _withdraw_exactly(stage, "buyer", price)
    _withdraw_exactly(stage, "seller", 3 * (price - fee))
    _withdraw_exactly(stage, "platform", 3 * fee + listing_fee)
    _market_is_empty(stage)


# -- pricing: negotiation and an English auction in an ERC-20 -----------------------------------------------------


def test_negotiation(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.negotiation(stage)
    _passed(result)
    ask, counter = WEI // 2, 2 * WEI // 5
    offer_id, order_id, listing_id = result.ids["offer"], result.ids["order"], result.ids["listing"]
    assert _tx(result, "counter").event("OfferCountered").args == {
        "offer_id": offer_id,
        "listing_id": listing_id,
        "counter": counter,
    }
    accepted = _tx(result, "accept counter")
    assert accepted.event("OfferAccepted").args == {"offer_id": offer_id, "order_id": order_id, "price": counter}
    assert accepted.event("OrderPaid").args["amount"] == counter
    assert c.market.offer(offer_id).state.name == "ACCEPTED"
    fee = _fee(stage, counter)
    assert _settled(_tx(result, "confirm")) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": counter - fee + ask,
        "buyer_credit": ask,
        "fee": fee,
    }
    assert c.market.listing(listing_id).state == ListingState.SOLD
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "carol")
    assert _tx(result, "reject").event("OfferClosed").args == {
        "offer_id": result.ids["rejected_offer"],
        "by": _addr(stage, "seller"),
        "rejected": True,
    }
    low, rival_bid = WEI // 5, WEI // 4
    _withdraw_exactly(stage, "dave", low + ask)  # the rejected offer and its collateral
    _withdraw_exactly(stage, "buyer", rival_bid + ask)  # the withdrawn offer and its collateral
    _withdraw_exactly(stage, "carol", ask)
    _withdraw_exactly(stage, "seller", counter - fee + ask)
    _withdraw_exactly(stage, "platform", fee + MANAGEMENT_FEE)
    _market_is_empty(stage)


def test_auction_in_a_token(stage: MarketStage) -> None:
    c, token = stage.c, stage.token
    result = scenarios.auction(stage)
    _passed(result)
    reserve = collateral = 10 * WEI
    listing_id, order_id = result.ids["listing"], result.ids["order"]
    outbid = "0x0000000000000000000000000000000000000000"
    for bidder, amount in sales.AUCTION_BIDS:
        assert _tx(result, f"bid ({bidder})").event("BidPlaced").args == {
            "listing_id": listing_id,
            "bidder": _addr(stage, bidder),
            "amount": amount,
            "outbid": outbid,
        }
        outbid = _addr(stage, bidder)
    winner, winning = sales.AUCTION_BIDS[-1]
    assert _tx(result, "settle").event("AuctionSettled").args == {
        "listing_id": listing_id,
        "winner": _addr(stage, winner),
        "amount": winning,
        "order_id": order_id,
    }
    with pytest.raises(TransactionReverted, match="market: auction"):
        market.bid(c, stage.p("buyer"), listing_id, winning + WEI)
    fee = _fee(stage, winning)
    assert _settled(_tx(result, "confirm")) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": winning - fee + collateral,
        "buyer_credit": collateral,
        "fee": fee,
    }
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, winner)
    for bidder, amount in sales.AUCTION_BIDS[:-1]:
        _withdraw_exactly(stage, bidder, amount + collateral, token)
    _withdraw_exactly(stage, winner, collateral, token)
    _withdraw_exactly(stage, "seller", winning - fee + reserve, token)
    _withdraw_exactly(stage, "platform", fee, token)
    balances = {
        label: c.tokens.balance(token, _addr(stage, label))
        for label in ("buyer", "carol", "dave", "seller", "platform")
    }
    assert balances == {
        "buyer": TOKEN_MINT,
        "carol": TOKEN_MINT,
        "dave": TOKEN_MINT - winning,
        "seller": TOKEN_MINT + winning - fee,
        "platform": fee,
    }
    _withdraw_exactly(stage, "platform", MANAGEMENT_FEE)  # the listing fee, in ether
    _market_is_empty(stage, token)


# -- someone cheats or walks away ----------------------------------------------------------------------------------


def _nothing_to_withdraw(stage: MarketStage, label: str) -> None:
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(stage.c, stage.p(label))


def test_fabricated_data_refunds_the_buyer(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.fabricated(stage)
    _passed(result)
    price = WEI // 5
    assert "content hash" in result.step("receive").action  # the buyer's node refused the fake data
    ruling = _tx(result, "arbitrate")
    assert ruling.event("Resolved").args["ruling"] == Ruling.FOR_BUYER
    assert _settled(ruling) == {
        "order_id": result.ids["order"],
        "listing_id": result.ids["listing"],
        "outcome": Outcome.FOR_BUYER,
        "seller_credit": 0,
        "buyer_credit": price + 2 * price,
        "fee": 0,
    }
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "mallory")
    assert c.market.listing(result.ids["listing"]).state == ListingState.CLOSED
    # refunded after a delivery (of fabricated data): the buyer's rating counts
    assert _tx(result, "rate mallory").event("Rated").args["score"] == 1
    assert reputation.reputation_of(c, _addr(stage, "mallory")) == (1.0, 1)
    with pytest.raises(TransactionReverted, match="reputation: already rated"):
        reputation.rate(c, stage.p("buyer"), result.ids["order"], 1)
    _withdraw_exactly(stage, "buyer", 3 * price)
    _withdraw_exactly(stage, "platform", MANAGEMENT_FEE)
    _nothing_to_withdraw(stage, "mallory")
    _market_is_empty(stage)


def test_lying_buyer_pays_the_seller(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.lying_buyer(stage)
    _passed(result)
    price = WEI // 10
    fee = _fee(stage, price)
    assert _settled(_tx(result, "arbitrate")) == {
        "order_id": result.ids["order"],
        "listing_id": result.ids["listing"],
        "outcome": Outcome.FOR_SELLER,
        "seller_credit": price - fee + 2 * price,
        "buyer_credit": 0,
        "fee": fee,
    }
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "dave")
    _withdraw_exactly(stage, "seller", price - fee + 2 * price)
    _withdraw_exactly(stage, "platform", fee + MANAGEMENT_FEE)
    _nothing_to_withdraw(stage, "dave")
    _market_is_empty(stage)


def test_wrong_file_is_redelivered(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.wrong_file(stage)
    _passed(result)
    price = WEI // 10
    fee = _fee(stage, price)
    ruling = _tx(result, "arbitrate")
    assert ruling.event("Resolved").args["ruling"] == Ruling.REDELIVERED
    assert _settled(ruling) == {
        "order_id": result.ids["order"],
        "listing_id": result.ids["listing"],
        "outcome": Outcome.REDELIVERED,
        "seller_credit": price - fee,
        "buyer_credit": 2 * price,
        "fee": fee,
    }
    assert "buyer decrypted the platform's copy and it is the dataset" in [ch.description for ch in result.checks]
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "buyer")
    _withdraw_exactly(stage, "seller", price - fee)
    _withdraw_exactly(stage, "platform", fee + MANAGEMENT_FEE)
    _withdraw_exactly(stage, "buyer", 2 * price)
    _market_is_empty(stage)


def test_no_delivery_refunds_the_buyer(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.no_delivery(stage)
    _passed(result)
    price = WEI // 20
    assert _settled(_tx(result, "refund")) == {
        "order_id": result.ids["order"],
        "listing_id": result.ids["listing"],
        "outcome": Outcome.NOT_DELIVERED,
        "seller_credit": 0,
        "buyer_credit": 3 * price,
        "fee": 0,
    }
    with pytest.raises(ValidationError, match="refunded, not paid"):
        market.deliver(c, stage.p("mallory"), result.ids["order"])
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "mallory")
    assert c.market.listing(result.ids["listing"]).state == ListingState.CLOSED
    with pytest.raises(TransactionReverted, match="reputation: order not completed"):  # nothing was delivered
        reputation.rate(c, stage.p("carol"), result.ids["order"], 1)
    assert reputation.reputation_of(c, _addr(stage, "mallory")) == (None, 0)
    _withdraw_exactly(stage, "carol", 3 * price)
    _withdraw_exactly(stage, "platform", MANAGEMENT_FEE)
    _nothing_to_withdraw(stage, "mallory")
    _market_is_empty(stage)


def test_no_confirmation_pays_the_seller(stage: MarketStage) -> None:
    c = stage.c
    result = scenarios.no_confirm(stage)
    _passed(result)
    price = WEI // 20
    fee = _fee(stage, price)
    assert _settled(_tx(result, "release")) == {
        "order_id": result.ids["order"],
        "listing_id": result.ids["listing"],
        "outcome": Outcome.RELEASED,
        "seller_credit": price - fee + 2 * price,
        "buyer_credit": 0,
        "fee": fee,
    }
    assert c.catalog.owner_of(result.ids["token"]) == _addr(stage, "dave")
    with pytest.raises(TransactionReverted, match="market: order not delivered"):
        market.confirm(c, stage.p("dave"), result.ids["order"])
    _withdraw_exactly(stage, "seller", price - fee + 2 * price)
    _withdraw_exactly(stage, "platform", fee + MANAGEMENT_FEE)
    _nothing_to_withdraw(stage, "dave")
    _market_is_empty(stage)


def test_every_scenario_is_tested_here() -> None:
    tested = {"broker", "resale", "settle_up", "reseller_buy", "reseller_sell", "use_right", "negotiation"}
    tested |= {"auction", "fabricated", "lying_buyer", "wrong_file", "no_delivery", "no_confirm"}
    assert {s.key for s in scenarios.SCENARIOS} == tested
