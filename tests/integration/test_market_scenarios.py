"""Every scenario of the trading paper as a named integration test, on both backends (embedded EVM and Anvil).

Wu et al., "Privacy-friendly Blockchain based Data Trading and Tracking": scenario 1 (platform as broker,
section III.A), scenario 2 (platform as reseller, section III.B), use-rights per query (section II), the pricing
module (fixed, negotiated, English auction), and the five dishonest behaviours of section IV.A, each caught with
the outcome the paper states. Collateral is the double deposit of Shrestha et al. (default: 100 % of the price
from each party). Amounts are checked exactly: pending withdrawals, events, NFT ownership, and balances net of
gas (:class:`~tests.integration.market_kit.Ledger`).
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from datagora.crypto.envelope import decrypt_file, encrypt_file
from datagora.crypto.hashing import keccak256
from datagora.domain.errors import AccessDenied, NoveltyRefused, TamperedError, TransactionReverted, ValidationError
from datagora.domain.models import ListingState, OfferState, OrderState, Outcome, Ruling, TxResult
from datagora.query import Aggregate, ColumnRef, Condition, QueryResult, QuerySpec, UsagePolicy
from datagora.services import disputes, market, publishing, use_rights
from datagora.services.participant import Participant
from datagora.services.publishing import fingerprint_of
from datagora.services.relay import DeliveryNotice, SendReceiveBoard
from datagora.services.sample_data import write_photo, write_pirated_copy
from tests.integration.market_kit import (
    DAY,
    Ledger,
    Sale,
    attestor,
    decrypt_for,
    deliver_fabricated,
    download,
    make_board,
    publish,
    publish_with_fake_fingerprint,
    receive_and_report,
    relay_delivery,
    report,
    withdraw_exactly,
)
from tests.world import DEMO_TOKEN_BALANCE, ETHER, World, write_table

PRICE = ETHER // 2
MANAGEMENT_FEE = ETHER // 100
FEE_BPS = 250


@pytest.fixture
def board(world: World, tmp_path: Path) -> SendReceiveBoard:
    return make_board(world, tmp_path / "relay")


def _fee(world: World, amount: int) -> int:
    return amount * world.contracts.market.fee_bps() // 10_000


def _settled(tx: TxResult) -> dict[str, Any]:
    """The ``Settled`` event of a settling transaction: outcome and who is credited what."""
    return dict(tx.event("Settled").args)


def _sold(world: World, path: Path, name: str, price: int = PRICE, *, delivery_window: int = DAY) -> Sale:
    """Publish ``path``, list it at ``price`` (collateral 100 %) and let the buyer pay."""
    token_id = publish(world, path, name)
    listing_id, _ = market.list_dataset(world.contracts, world.seller, token_id, price, delivery_window=delivery_window)
    order_id, _ = market.buy(world.contracts, world.buyer, listing_id)
    return Sale(token_id, listing_id, order_id)


def _market_is_empty(world: World, token: str | None = None) -> None:
    c = world.contracts
    assert c.market.escrowed() == 0
    assert world.chain.balance(c.addresses["Market"]) == 0
    if token is not None:
        assert c.market.escrowed(token) == 0
        assert c.tokens.balance(token, c.addresses["Market"]) == 0


# -- scenario 1: the platform as broker (section III.A, steps 1-24) ----------------------------------------------


def test_broker_sale(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    photo = write_photo(tmp_path / "astronaut.png", "astronaut")
    token_id = publish(world, photo, "Astronaut")  # steps 1-8: f_S attested, dataset minted
    ledger = Ledger(world, seller, buyer, platform)
    ledger.spent(
        platform,
        c.market.set_parameters(
            platform.account, fee_bps=FEE_BPS, management_fee=MANAGEMENT_FEE, dispute_window=7 * DAY
        ),
    )

    listing_id, txs = market.list_dataset(c, seller, token_id, PRICE)
    ledger.spent(seller, *txs)
    assert txs[-1].event("Listed").args == {
        "listing_id": listing_id,
        "token_id": token_id,
        "seller": seller.address,
        "kind": 1,
        "pricing": 1,
        "price": PRICE,
        "collateral": PRICE,
        "payment_token": "0x0000000000000000000000000000000000000000",
        "delivery_window": DAY,
        "confirm_window": DAY,
        "management_fee": MANAGEMENT_FEE,
    }
    assert c.catalog.owner_of(token_id) == c.addresses["Market"]
    assert c.market.pending_withdrawal(platform.address) == MANAGEMENT_FEE

    order_id, tx = market.buy(c, buyer, listing_id)  # steps 9-12
    ledger.spent(buyer, tx)
    assert tx.event("OrderPaid").args == {
        "order_id": order_id,
        "listing_id": listing_id,
        "buyer": buyer.address,
        "amount": PRICE,
        "fee_bps": FEE_BPS,
        "collateral": PRICE,
        "queries": 0,
        "deadline": world.chain.block_timestamp(tx.block_number) + DAY,
    }
    assert c.market.escrowed() == 3 * PRICE  # the seller's collateral, the price, the buyer's collateral

    delivery = relay_delivery(world, board, seller, order_id)  # steps 13-17 through the platform
    ledger.spent(seller, delivery.tx)
    receipt, f_b = receive_and_report(world, board, buyer, order_id, tmp_path / "got.png")  # steps 18-21
    assert receipt.path.read_bytes() == photo.read_bytes()
    assert f_b == fingerprint_of(photo)

    check = disputes.check_delivery(c, platform, board, order_id)  # step 22
    assert (check.action, check.consistent, check.similarity, check.tx) == ("confirm", True, 1.0, None)

    tx = market.confirm(c, buyer, order_id)  # steps 23-24
    ledger.spent(buyer, tx)
    fee = _fee(world, PRICE)
    assert _settled(tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": PRICE - fee + PRICE,
        "buyer_credit": PRICE,
        "fee": fee,
    }
    assert c.catalog.owner_of(token_id) == buyer.address
    assert c.market.listing(listing_id).state == ListingState.SOLD
    assert c.market.order(order_id).state == OrderState.COMPLETED

    withdraw_exactly(world, ledger, seller, 2 * PRICE - fee)
    withdraw_exactly(world, ledger, buyer, PRICE)  # its collateral back
    withdraw_exactly(world, ledger, platform, fee + MANAGEMENT_FEE)
    assert ledger.net(seller) == PRICE - fee - MANAGEMENT_FEE
    assert ledger.net(buyer) == -PRICE
    assert ledger.net(platform) == fee + MANAGEMENT_FEE
    _market_is_empty(world)


# -- scenario 2: the platform as reseller (section III.B) --------------------------------------------------------


def _platform_buys(world: World, board: SendReceiveBoard, tmp_path: Path) -> tuple[Sale, Path, Ledger]:
    """Scenario 2(a): the platform pays, the seller sends data and f_S encrypted to the platform, the platform
    decrypts, fingerprints the data itself and confirms. The ledger opens after publication."""
    c, seller, platform = world.contracts, world.seller, world.platform
    table = write_table(tmp_path / "survey.csv", rows=120, seed=11)
    token_id = publish(world, table, "Household survey")
    ledger = Ledger(world, seller, world.buyer, platform)
    listing_id, txs = market.list_dataset(c, seller, token_id, PRICE)
    ledger.spent(seller, *txs)
    order_id, tx = market.buy(c, platform, listing_id)
    ledger.spent(platform, tx)
    delivery = relay_delivery(world, board, seller, order_id)
    ledger.spent(seller, delivery.tx)

    cipher = download(world, board, platform, order_id, tmp_path / "bought.dge")
    (tmp_path / "bought").mkdir()
    bought = market.receive(c, platform, order_id, cipher, tmp_path / "bought" / "survey.csv").path
    (sent,) = board.check(order_id).entries
    f_s = board.fingerprint(sent)
    assert f_s is not None and sent.notice.sender == seller.address
    f_p = fingerprint_of(bought)  # the platform fingerprints what it received
    assert f_p == f_s == attestor(world).fingerprint_of(token_id)
    ledger.spent(platform, market.confirm(c, platform, order_id))
    return Sale(token_id, listing_id, order_id), bought, ledger


def test_reseller_buy(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    c, seller, platform = world.contracts, world.seller, world.platform
    sale, bought, ledger = _platform_buys(world, board, tmp_path)

    fee = _fee(world, PRICE)
    (settled,) = [e for e in c.events() if e.name == "Settled"]
    assert settled.args == {
        "order_id": sale.order_id,
        "listing_id": sale.listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": PRICE - fee + PRICE,
        "buyer_credit": PRICE,
        "fee": fee,
    }
    assert c.catalog.owner_of(sale.token_id) == platform.address
    assert hashlib.sha256(bought.read_bytes()).digest() == c.catalog.dataset(sale.token_id).content_hash
    # The platform received the data itself: no buyer notice on the board, nothing for step 22 to compare.
    assert board.check(sale.order_id).consistent is None

    withdraw_exactly(world, ledger, seller, 2 * PRICE - fee)
    withdraw_exactly(world, ledger, platform, PRICE + fee)  # its collateral back and the fee it paid itself
    assert ledger.net(seller) == PRICE - fee
    assert ledger.net(platform) == -(PRICE - fee)
    _market_is_empty(world)


def test_reseller_sell(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    sale, bought, ledger = _platform_buys(world, board, tmp_path)
    # The platform keeps its own encrypted copy, then sells the ownership on (scenario 2(b)).
    publishing.prepare(platform, bought, name="Household survey", domain="test")
    resale_price = PRICE + PRICE // 2
    listing_id, txs = market.list_dataset(c, platform, sale.token_id, resale_price)
    ledger.spent(platform, *txs)
    order_id, tx = market.buy(c, buyer, listing_id)
    ledger.spent(buyer, tx)
    delivery = relay_delivery(world, board, platform, order_id)
    ledger.spent(platform, delivery.tx)

    cipher = download(world, board, buyer, order_id, tmp_path / "resold.dge")
    receipt = market.receive(c, buyer, order_id, cipher, tmp_path / "resold.csv")
    assert receipt.path.read_bytes() == bought.read_bytes()
    # The platform is honest: the buyer sends no fingerprint receipt and confirms.
    assert [e.notice.kind for e in board.check(order_id).entries] == ["sent"]
    assert disputes.check_delivery(c, platform, board, order_id).action == "wait"
    tx = market.confirm(c, buyer, order_id)
    ledger.spent(buyer, tx)

    fee_1, fee_2 = _fee(world, PRICE), _fee(world, resale_price)
    assert _settled(tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": resale_price - fee_2 + resale_price,
        "buyer_credit": resale_price,
        "fee": fee_2,
    }
    assert c.catalog.owner_of(sale.token_id) == buyer.address
    withdraw_exactly(world, ledger, seller, 2 * PRICE - fee_1)
    withdraw_exactly(world, ledger, buyer, resale_price)
    # 2(a): its collateral and its own fee; 2(b): the resale price less its own fee, its fee, its collateral.
    withdraw_exactly(world, ledger, platform, PRICE + fee_1 + 2 * resale_price)
    assert ledger.net(seller) == PRICE - fee_1
    assert ledger.net(buyer) == -resale_price
    assert ledger.net(platform) == resale_price - (PRICE - fee_1)  # the platform pockets the difference
    _market_is_empty(world)


# -- use-rights per query (section II) ----------------------------------------------------------------------------


def test_use_right_three_queries(world: World, tmp_path: Path) -> None:
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    table = write_table(tmp_path / "survey.csv", rows=80, seed=7)
    with table.open() as fh:
        rows = list(csv.DictReader(fh))
    token_id = publish(world, table, "Income survey")
    k = 5
    policy = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:income-survey",
        assigner=f"did:pkh:eip155:{world.chain.chain_id}:{seller.address}",
        target=f"urn:datagora:dataset:{token_id}",
        k=k,
        aggregates=("count", "avg", "sum"),
    )
    per_query = ETHER // 100
    listing_id, tx = use_rights.list_use_right(c, seller, token_id, per_query, policy, max_queries=10, usage_window=DAY)
    assert tx.event("UseRightTerms").args == {
        "listing_id": listing_id,
        "max_queries": 10,
        "policy_hash": policy.policy_hash(),
    }
    order_id, tx = use_rights.buy_queries(c, buyer, listing_id, 4)
    assert tx.event("OrderPaid").args["amount"] == 4 * per_query
    assert (c.use_rights.escrowed(), c.market.escrowed()) == (4 * per_query, 0)  # UseRights holds the credit

    by_region = Counter(r["region"] for r in rows)
    incomes: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        incomes[r["region"]].append(float(r["income"]))
    older = Counter(r["region"] for r in rows if int(r["age"]) >= 75)
    queries = [
        (
            QuerySpec(select=(ColumnRef("region"), Aggregate("count", alias="n")), group_by=("region",)),
            [[region, n] for region, n in sorted(by_region.items())],
            0,
        ),
        (
            QuerySpec(select=(ColumnRef("region"), Aggregate("avg", "income", "mean")), group_by=("region",)),
            [[region, pytest.approx(sum(v) / len(v))] for region, v in sorted(incomes.items())],
            0,
        ),
        (
            QuerySpec(
                select=(ColumnRef("region"), Aggregate("count", alias="n")),
                where=(Condition("age", ">=", 75),),
                group_by=("region",),
            ),
            [[region, n] for region, n in sorted(older.items()) if n >= k],
            sum(1 for n in older.values() if n < k),
        ),
    ]
    assert queries[2][2] >= 1  # the data has groups smaller than k: the policy suppresses them

    fee = _fee(world, per_query)
    for index, (spec, expected_rows, suppressed) in enumerate(queries):
        request = use_rights.sign_query(c, buyer, order_id, spec)
        assert request.index == index
        answer = use_rights.answer_query(c, seller, request)  # the owner's node runs DuckDB, records it on chain
        assert [list(row) for row in answer.result.rows] == expected_rows
        assert answer.result.suppressed_groups == suppressed
        assert answer.tx.event("QueryAnswered").args == {
            "order_id": order_id,
            "index": index,
            "query_hash": spec.query_hash(),
            "result_hash": answer.result.result_hash(),
            "seller_amount": per_query - fee,
            "fee": fee,
        }
        assert use_rights.verify_answer(c, order_id, index, answer.result)
        with pytest.raises(ValidationError, match="stale"):
            use_rights.answer_query(c, seller, request)  # a signed request is paid once
    assert c.use_rights.pending_withdrawal(seller.address) == 3 * (per_query - fee)
    assert c.use_rights.pending_withdrawal(platform.address) == 3 * fee

    # A raw-row query is outside the ODRL policy: refused by the owner's node, nothing recorded, nothing paid.
    raw = use_rights.sign_query(c, buyer, order_id, QuerySpec(select=(ColumnRef("id"), ColumnRef("income"))))
    with pytest.raises(AccessDenied, match="policy: raw rows not permitted"):
        use_rights.answer_query(c, seller, raw)
    order = c.market.order(order_id)
    assert (order.state, order.queries_left, order.amount) == (OrderState.PAID, 1, per_query)
    assert c.use_rights.pending_withdrawal(seller.address) == 3 * (per_query - fee)
    forged = QueryResult(answer.result.columns, answer.result.rows[:-1])
    assert not use_rights.verify_answer(c, order_id, 2, forged)

    # After the usage window the unused credit goes back to the buyer; the owner keeps the NFT throughout.
    assert disputes.enforce_deadlines(c, platform) == []
    world.chain.advance_time(DAY + 1)
    with pytest.raises(ValidationError, match="usage window"):
        use_rights.sign_query(c, buyer, order_id, queries[0][0])
    (action,) = disputes.enforce_deadlines(c, platform)
    assert action.action == "expire" and action.order_id == order_id
    assert _settled(action.tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.USE_RIGHT_EXPIRED,
        "seller_credit": 0,
        "buyer_credit": per_query,
        "fee": 0,
    }
    assert c.market.order(order_id).state == OrderState.COMPLETED
    assert c.catalog.owner_of(token_id) == seller.address
    withdraw_exactly(world, None, buyer, per_query)
    withdraw_exactly(world, None, seller, 3 * (per_query - fee))
    withdraw_exactly(world, None, platform, 3 * fee)
    _market_is_empty(world)
    assert c.use_rights.escrowed() == 0
    assert world.chain.balance(c.addresses["UseRights"]) == 0


# -- pricing: negotiation and English auction (section III.A, pricing module) -----------------------------------


def test_negotiation(world: World, bidders: list[Participant], tmp_path: Path) -> None:
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    rival = bidders[0]
    ask = ETHER
    token_id = publish(world, write_table(tmp_path / "survey.csv", rows=90, seed=5), "Survey")
    listing_id, _ = market.list_negotiable(c, seller, token_id, ask)
    collateral = ask
    with pytest.raises(TransactionReverted, match="market: not a fixed-price sale"):
        market.buy(c, buyer, listing_id)

    # A low offer, rejected: the whole escrow is owed back.
    low, mid, rival_bid, counter = ETHER * 4 // 10, ETHER * 6 // 10, ETHER * 7 // 10, ETHER * 8 // 10
    offer_id, _ = market.make_offer(c, buyer, listing_id, low)
    tx = market.reject_offer(c, seller, offer_id)
    assert tx.event("OfferClosed").args == {"offer_id": offer_id, "by": seller.address, "rejected": True}
    assert c.market.offer(offer_id).state == OfferState.REJECTED
    assert c.market.pending_withdrawal(buyer.address) == low + collateral

    rival_offer, _ = market.make_offer(c, rival, listing_id, rival_bid)  # left open
    offer_id, _ = market.make_offer(c, buyer, listing_id, mid)
    tx = market.counter_offer(c, seller, offer_id, counter)
    assert tx.event("OfferCountered").args == {"offer_id": offer_id, "listing_id": listing_id, "counter": counter}
    escrow_before = c.market.escrowed()
    order_id, tx = market.accept_counter(c, buyer, offer_id)  # tops up counter - mid
    assert c.market.escrowed() == escrow_before + counter - mid
    assert tx.event("OfferAccepted").args == {"offer_id": offer_id, "order_id": order_id, "price": counter}
    assert tx.event("OrderPaid").args["amount"] == counter
    assert c.market.offer(offer_id).state == OfferState.ACCEPTED
    assert c.market.listing(listing_id).state == ListingState.PENDING

    # The rival's offer can no longer be accepted; it takes its escrow back.
    with pytest.raises(TransactionReverted, match="market: listing not active"):
        market.accept_offer(c, seller, rival_offer)
    market.withdraw_offer(c, rival, rival_offer)
    assert c.market.offer(rival_offer).state == OfferState.WITHDRAWN

    delivery = market.deliver(c, seller, order_id, out_dir=tmp_path / "outbox")
    market.receive(c, buyer, order_id, delivery.path, tmp_path / "got.csv")
    tx = market.confirm(c, buyer, order_id)
    fee = _fee(world, counter)
    assert _settled(tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": counter - fee + collateral,
        "buyer_credit": collateral,
        "fee": fee,
    }
    assert c.catalog.owner_of(token_id) == buyer.address
    withdraw_exactly(world, None, buyer, low + collateral + collateral)
    withdraw_exactly(world, None, rival, rival_bid + collateral)
    withdraw_exactly(world, None, seller, counter - fee + collateral)
    withdraw_exactly(world, None, platform, fee)
    _market_is_empty(world)


def test_auction_three_bidders(
    world: World, board: SendReceiveBoard, bidders: list[Participant], demo_token: str, tmp_path: Path
) -> None:
    c, seller, platform = world.contracts, world.seller, world.platform
    first, second, third = world.buyer, *bidders
    for b in bidders:
        c.tokens.mint(platform.account, demo_token, b.address, DEMO_TOKEN_BALANCE)
    reserve, step = 100 * ETHER, 10 * ETHER  # DemoToken units (18 decimals)
    photo = write_photo(tmp_path / "coffee.png", "coffee")
    token_id = publish(world, photo, "Coffee")
    listing_id, _ = market.list_auction(
        c, seller, token_id, reserve, min_increment=step, duration=3600, payment_token=demo_token
    )
    collateral = reserve
    assert c.tokens.balance(demo_token, seller.address) == DEMO_TOKEN_BALANCE - collateral
    assert c.market.escrowed(demo_token) == collateral

    with pytest.raises(TransactionReverted, match="market: below reserve"):
        market.bid(c, first, listing_id, reserve - 1)
    bids = [(first, reserve), (second, reserve + step), (third, reserve + 2 * step)]
    outbid = "0x0000000000000000000000000000000000000000"
    for bidder, amount in bids:
        tx = market.bid(c, bidder, listing_id, amount)
        assert tx.event("BidPlaced").args == {
            "listing_id": listing_id,
            "bidder": bidder.address,
            "amount": amount,
            "outbid": outbid,
        }
        outbid = bidder.address
    with pytest.raises(TransactionReverted, match="market: bid too low"):
        market.bid(c, second, listing_id, reserve + 3 * step - 1)
    winning = reserve + 4 * step
    market.bid(c, first, listing_id, winning)
    auction = c.market.auction(listing_id)
    assert (auction.highest_bidder, auction.highest_bid) == (first.address, winning)
    # Outbid bidders are refunded by pull payment, bid and collateral.
    for bidder, amount in bids:
        assert c.market.pending_withdrawal(bidder.address, demo_token) == amount + collateral
    assert c.market.escrowed(demo_token) == collateral + winning + collateral

    with pytest.raises(TransactionReverted, match="market: auction not ended"):
        market.settle_auction(c, second, listing_id)
    world.chain.advance_time(3601)
    with pytest.raises(TransactionReverted, match="market: auction ended"):
        market.bid(c, second, listing_id, winning + step)
    order_id, tx = market.settle_auction(c, third, listing_id)  # anyone settles
    assert tx.event("AuctionSettled").args == {
        "listing_id": listing_id,
        "winner": first.address,
        "amount": winning,
        "order_id": order_id,
    }
    for bidder, amount in bids:
        withdraw_exactly(world, None, bidder, amount + collateral, demo_token)

    relay_delivery(world, board, seller, order_id)
    receive_and_report(world, board, first, order_id, tmp_path / "won.png")
    assert disputes.check_delivery(c, platform, board, order_id).action == "confirm"
    tx = market.confirm(c, first, order_id)
    fee = _fee(world, winning)
    assert _settled(tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.CONFIRMED,
        "seller_credit": winning - fee + collateral,
        "buyer_credit": collateral,
        "fee": fee,
    }
    assert c.catalog.owner_of(token_id) == first.address
    withdraw_exactly(world, None, first, collateral, demo_token)
    withdraw_exactly(world, None, seller, winning - fee + collateral, demo_token)
    withdraw_exactly(world, None, platform, fee, demo_token)
    balances = {p.label: c.tokens.balance(demo_token, p.address) for p in (first, second, third, seller, platform)}
    assert balances == {
        "buyer": DEMO_TOKEN_BALANCE - winning,
        "buyer2": DEMO_TOKEN_BALANCE,
        "buyer3": DEMO_TOKEN_BALANCE,
        "seller": DEMO_TOKEN_BALANCE + winning - fee,
        "platform": DEMO_TOKEN_BALANCE + fee,
    }
    _market_is_empty(world, demo_token)


# -- the five dishonest behaviours of section IV.A --------------------------------------------------------------


def test_denying_sale_or_purchase_is_provable(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.1: the chain's log proves who listed, paid, delivered and confirmed; the board's EIP-712-signed
    notices prove who sent and who received which bytes."""
    c, seller, buyer = world.contracts, world.seller, world.buyer
    photo = write_photo(tmp_path / "chelsea.png", "chelsea")
    sale = _sold(world, photo, "Cat")
    delivery = relay_delivery(world, board, seller, sale.order_id)
    _, f_b = receive_and_report(world, board, buyer, sale.order_id, tmp_path / "got.png")
    market.confirm(c, buyer, sale.order_id)

    def sender_of(tx_hash: str) -> str:
        return str(world.chain.w3.eth.get_transaction(tx_hash)["from"])  # type: ignore[arg-type]

    events = {e.name: e for e in c.events() if e.contract == "Market"}
    assert events["Listed"].args["seller"] == sender_of(events["Listed"].tx_hash) == seller.address
    assert events["OrderPaid"].args["buyer"] == sender_of(events["OrderPaid"].tx_hash) == buyer.address
    assert events["Delivered"].args["seller"] == sender_of(events["Delivered"].tx_hash) == seller.address
    assert events["Delivered"].args["delivery_hash"] == delivery.delivery_hash
    assert sender_of(events["Settled"].tx_hash) == buyer.address  # only the buyer confirms
    assert events["Settled"].args["outcome"] == Outcome.CONFIRMED

    # The supervisor reads the board and recovers each notice's author from its signature.
    chain_id, market_address = world.chain.chain_id, c.addresses["Market"]
    view = board.view(sale.order_id, world.supervisor.address)
    sent, received = view.entries
    assert sent.notice.signer(sent.signature, chain_id, market_address) == seller.address
    assert received.notice.signer(received.signature, chain_id, market_address) == buyer.address
    assert sent.notice.delivery_hash == received.notice.delivery_hash == delivery.delivery_hash
    assert sent.notice.fingerprint_hash == keccak256(fingerprint_of(photo))
    assert received.notice.fingerprint_hash == keccak256(f_b)
    assert sent.notice.timestamp <= received.notice.timestamp

    # A notice cannot be re-attributed or altered: other contents recover another signer.
    altered = DeliveryNotice.of(
        sale.order_id, seller.address, buyer.address, bytes(32), received.notice.timestamp, True
    )
    assert altered.signer(received.signature, chain_id, market_address) != buyer.address
    forged = DeliveryNotice.of(
        sale.order_id, seller.address, buyer.address, delivery.delivery_hash, world.chain.now(), True
    )
    with pytest.raises(AccessDenied, match="not by its buyer"):
        board.record_received(forged, forged.sign(world.outsider.private_key, chain_id, market_address))
    with pytest.raises(AccessDenied):
        board.view(sale.order_id, world.outsider.address)


def test_illegal_resale_refused(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.2: once the ownership is sold, nobody can sell the data again as new, even lightly modified."""
    c, seller, buyer = world.contracts, world.seller, world.buyer
    photo = write_photo(tmp_path / "astronaut.png", "astronaut")
    sale = _sold(world, photo, "Astronaut")
    relay_delivery(world, board, seller, sale.order_id)
    receipt, _ = receive_and_report(world, board, buyer, sale.order_id, tmp_path / "bought" / "astronaut.png")
    market.confirm(c, buyer, sale.order_id)
    assert c.catalog.owner_of(sale.token_id) == buyer.address

    # The buyer re-publishes a cropped, brightened JPEG of what it bought: the platform refuses it (step 5).
    pirated = write_pirated_copy(receipt.path, tmp_path / "astronaut-edit.jpg")
    with pytest.raises(NoveltyRefused, match=f"near-duplicate of dataset {sale.token_id}") as info:
        publish(world, pirated, "Portrait in a spacesuit", owner=buyer)
    assert info.value.matching_token_id == sale.token_id
    with pytest.raises(NoveltyRefused, match=f"identical content is already dataset {sale.token_id}"):
        publish(world, receipt.path, "Astronaut (copy)", owner=buyer)
    # The seller can neither list the sold token nor publish its own modified copy.
    with pytest.raises(AccessDenied, match="market: not token owner"):
        market.list_dataset(c, seller, sale.token_id, PRICE)
    with pytest.raises(TransactionReverted, match="market: not token owner"):
        c.market.list(seller.account, sale.token_id, PRICE, DAY, DAY)
    with pytest.raises(NoveltyRefused, match=f"near-duplicate of dataset {sale.token_id}"):
        publish(world, write_pirated_copy(photo, tmp_path / "seller-edit.jpg"), "Astronaut v2")
    assert c.catalog.dataset_count() == 1
    # The rightful owner may sell the ownership it bought.
    listing_id, _ = market.list_dataset(c, buyer, sale.token_id, PRICE)
    assert c.market.listing(listing_id).seller == buyer.address


def _disputed(world: World, board: SendReceiveBoard, order_id: int) -> disputes.DeliveryCheck:
    """Step 22 finds f_S and f_B inconsistent: the platform disputes the order on chain."""
    check = disputes.check_delivery(world.contracts, world.platform, board, order_id)
    assert (check.action, check.consistent) == ("dispute", False)
    assert check.tx is not None
    assert check.tx.event("Disputed").args["by"] == world.platform.address
    assert world.contracts.market.order(order_id).state == OrderState.DISPUTED
    return check


def test_inconsistent_fingerprint_fabricated_data(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.3, fabricated data in step 14, honest re-upload: the buyer proves what it received by disclosing the
    delivered ciphertext's data key to the platform; the platform sees the seller sent other data but holds the
    real one, redelivers it, the seller is paid the price and its collateral goes to the buyer (ruling
    REDELIVERED). Without the disclosure the buyer's claim could not be told from a fake f_B."""
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    photo = write_photo(tmp_path / "astronaut.png", "astronaut")
    sale = _sold(world, photo, "Astronaut")
    fabricated = write_photo(tmp_path / "camera.png", "camera")
    deliver_fabricated(world, board, seller, sale.order_id, fabricated)

    cipher = download(world, board, buyer, sale.order_id, tmp_path / "got.dge")
    with pytest.raises(TamperedError, match="content hash"):
        market.receive(c, buyer, sale.order_id, cipher, tmp_path / "got.png")
    got = decrypt_for(buyer, cipher, tmp_path / "got-anyway.png")
    report(world, board, buyer, sale.order_id, cipher, fingerprint_of(got))  # f_B of what it really got
    check = _disputed(world, board, sale.order_id)
    assert check.similarity is not None and check.similarity < 0.5

    reupload = disputes.reupload_for_arbitration(c, seller, sale.order_id, tmp_path / "reupload.dge")
    key = disputes.disclose_received_key(c, buyer, sale.order_id, cipher)
    resolution = disputes.arbitrate(c, platform, attestor(world), board, sale.order_id, reupload, disclosed_key=key)
    assert (resolution.ruling, resolution.content_match, resolution.similarity) == (Ruling.REDELIVERED, True, 1.0)
    assert resolution.transmitted_ok is False
    assert resolution.tx.event("Resolved").args == {
        "order_id": sale.order_id,
        "ruling": Ruling.REDELIVERED,
        "evidence_hash": resolution.evidence_hash,
    }
    fee = _fee(world, PRICE)
    assert _settled(resolution.tx) == {
        "order_id": sale.order_id,
        "listing_id": sale.listing_id,
        "outcome": Outcome.REDELIVERED,
        "seller_credit": PRICE - fee,
        "buyer_credit": 2 * PRICE,
        "fee": fee,
    }
    # The platform hands E_PkB(D') to the buyer: the real data.
    assert resolution.buyer_copy is not None
    copy = tmp_path / "platform-copy.dge"
    with board.store.open(resolution.buyer_copy) as src:
        copy.write_bytes(src.read())
    decrypt_file(copy, tmp_path / "from-platform.png", buyer.private_key)
    assert (tmp_path / "from-platform.png").read_bytes() == photo.read_bytes()
    assert c.catalog.owner_of(sale.token_id) == buyer.address
    withdraw_exactly(world, None, seller, PRICE - fee)
    withdraw_exactly(world, None, platform, fee)
    withdraw_exactly(world, None, buyer, 2 * PRICE)
    assert c.market.pending_withdrawal(buyer.address) == 0
    _market_is_empty(world)


def test_inconsistent_fingerprint_fake_buyer_fingerprint(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.3, fake f_B in step 20: the honest seller's re-upload matches, the seller is paid and receives the
    buyer's collateral; the lying buyer gains nothing."""
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    photo = write_photo(tmp_path / "astronaut.png", "astronaut")
    sale = _sold(world, photo, "Astronaut")
    relay_delivery(world, board, seller, sale.order_id)
    fake = fingerprint_of(write_photo(tmp_path / "coffee.png", "coffee"))
    receipt, _ = receive_and_report(world, board, buyer, sale.order_id, tmp_path / "got.png", fingerprint=fake)
    assert receipt.path.read_bytes() == photo.read_bytes()  # the buyer did get the real data
    _disputed(world, board, sale.order_id)

    reupload = disputes.reupload_for_arbitration(c, seller, sale.order_id, tmp_path / "reupload.dge")
    resolution = disputes.arbitrate(c, platform, attestor(world), board, sale.order_id, reupload)
    assert (resolution.seller_honest, resolution.content_match) == (True, True)
    fee = _fee(world, PRICE)
    assert _settled(resolution.tx) == {
        "order_id": sale.order_id,
        "listing_id": sale.listing_id,
        "outcome": Outcome.FOR_SELLER,
        "seller_credit": PRICE - fee + 2 * PRICE,
        "buyer_credit": 0,
        "fee": fee,
    }
    assert c.catalog.owner_of(sale.token_id) == buyer.address
    withdraw_exactly(world, None, seller, PRICE - fee + 2 * PRICE)
    withdraw_exactly(world, None, platform, fee)
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(c, buyer)
    _market_is_empty(world)


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


def test_seller_refuses_to_transmit(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.4: paid but not delivered by the delivery deadline: the platform's periodic check finds a payment
    without transmission, refunds the buyer and gives it the seller's collateral; the seller also lost the
    management fee."""
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    c.market.set_parameters(platform.account, fee_bps=FEE_BPS, management_fee=MANAGEMENT_FEE, dispute_window=7 * DAY)
    sale = _sold(world, write_table(tmp_path / "survey.csv", rows=70, seed=3), "Survey", delivery_window=3600)
    assert disputes.enforce_deadlines(c, platform) == []
    view = board.check(sale.order_id)  # payment recorded on chain, no transmission on the board
    assert (view.order.state, view.relayed, view.entries) == (OrderState.PAID, None, [])

    world.chain.advance_time(3601)
    (action,) = disputes.enforce_deadlines(c, platform)
    assert (action.order_id, action.action) == (sale.order_id, "refund")
    assert _settled(action.tx) == {
        "order_id": sale.order_id,
        "listing_id": sale.listing_id,
        "outcome": Outcome.NOT_DELIVERED,
        "seller_credit": 0,
        "buyer_credit": PRICE + PRICE + PRICE,
        "fee": 0,
    }
    with pytest.raises(ValidationError, match="refunded, not paid"):
        market.deliver(c, seller, sale.order_id)
    assert disputes.enforce_deadlines(c, platform) == []  # nothing left to enforce
    assert c.catalog.owner_of(sale.token_id) == seller.address
    assert c.market.listing(sale.listing_id).state == ListingState.CLOSED
    withdraw_exactly(world, None, buyer, 3 * PRICE)
    withdraw_exactly(world, None, platform, MANAGEMENT_FEE)
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(c, seller)
    _market_is_empty(world)


def test_buyer_refuses_to_confirm(world: World, board: SendReceiveBoard, tmp_path: Path) -> None:
    """IV.A.5: delivered (and received, as the board shows) but never confirmed: after the confirmation deadline
    the mandatory transfer pays the seller, with the buyer's collateral."""
    c, seller, buyer, platform = world.contracts, world.seller, world.buyer, world.platform
    token_id = publish(world, write_photo(tmp_path / "coffee.png", "coffee"), "Coffee")
    listing_id, _ = market.list_negotiable(c, seller, token_id, PRICE, confirm_window=600)
    offer_id, _ = market.make_offer(c, buyer, listing_id, PRICE)
    order_id, tx = market.accept_offer(c, seller, offer_id)  # the seller takes the buyer's price
    assert tx.event("OfferAccepted").args == {"offer_id": offer_id, "order_id": order_id, "price": PRICE}
    relay_delivery(world, board, seller, order_id)
    receive_and_report(world, board, buyer, order_id, tmp_path / "got.png")
    assert disputes.check_delivery(c, platform, board, order_id).action == "confirm"

    assert disputes.enforce_deadlines(c, platform) == []
    with pytest.raises(TransactionReverted, match="market: confirm deadline not passed"):
        market.release(c, seller, order_id)
    world.chain.advance_time(601)
    (action,) = disputes.enforce_deadlines(c, platform)
    assert (action.order_id, action.action) == (order_id, "release")
    fee = _fee(world, PRICE)
    assert _settled(action.tx) == {
        "order_id": order_id,
        "listing_id": listing_id,
        "outcome": Outcome.RELEASED,
        "seller_credit": PRICE - fee + 2 * PRICE,
        "buyer_credit": 0,
        "fee": fee,
    }
    assert c.catalog.owner_of(token_id) == buyer.address
    with pytest.raises(TransactionReverted, match="market: order not delivered"):
        market.confirm(c, buyer, order_id)
    withdraw_exactly(world, None, seller, PRICE - fee + 2 * PRICE)
    withdraw_exactly(world, None, platform, fee)
    with pytest.raises(ValidationError, match="nothing to withdraw"):
        market.withdraw(c, buyer)
    _market_is_empty(world)
