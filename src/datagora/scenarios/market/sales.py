"""Market scenarios where everyone is honest: the platform as broker and as reseller, use-rights paid per query,
negotiation and an English auction in an ERC-20 (Wu et al., "Privacy-friendly Blockchain based Data Trading and
Tracking": sections II, III.A, III.B; the double deposit of Shrestha et al.)."""

from __future__ import annotations

from functools import partial

from datagora.domain.errors import AccessDenied
from datagora.domain.models import OfferState, OrderState, Outcome
from datagora.query import Aggregate, ColumnRef, Condition, QueryResult, QuerySpec, UsagePolicy
from datagora.scenarios.market.stage import DATASETS, DAY, MarketStage, scenario
from datagora.scenarios.records import WEI, amount
from datagora.services import disputes, market, publishing, reputation, use_rights

CONFIRMED = Outcome.CONFIRMED.name


@scenario("broker", "A sale through the platform", CONFIRMED)
def broker(stage: MarketStage) -> str:
    """Fixed price, delivery through the platform's relay with both fingerprint notes, the platform's comparison,
    confirmation, three withdrawals, two ratings."""
    listing_id = stage.list_fixed("seller", "astronaut", WEI // 5)
    order_id = stage.buy("buyer", listing_id)
    checked = stage.honest_delivery("seller", "buyer", order_id, "astronaut")
    if checked.action != "confirm":
        return f"the platform's check said {checked.action}"
    notes = [f"'{e.notice.kind}' signed by {stage.name_of(e.notice.sender)}" for e in stage.board.entries(order_id)]
    stage.step(
        "platform",
        "board",
        f"keeps the signed notes ({', '.join(notes)}): neither side can later deny the transfer",
    )
    outcome = stage.confirm("buyer", order_id)
    for label in ("seller", "buyer", "platform"):
        stage.withdraw(label)
    buyer, seller = stage.p("buyer"), stage.p("seller")
    stage.step("buyer", "rate seller", "rated the seller 5/5", reputation.rate(stage.c, buyer, order_id, 5))
    stage.step("seller", "rate buyer", "rated the buyer 5/5", reputation.rate(stage.c, seller, order_id, 5))
    return outcome


@scenario("reseller_buy", "The platform buys to resell", CONFIRMED)
def reseller_buy(stage: MarketStage) -> str:
    """The platform is the buyer: it receives and fingerprints the data itself, confirms and keeps a copy."""
    listing_id = stage.list_fixed("seller", "coffee", WEI // 10)
    order_id = stage.buy("platform", listing_id)
    delivery = stage.deliver("seller", order_id)
    stage.relay_sent("seller", order_id)
    received = stage.receive("platform", order_id, "coffee")
    stage.relay_received(
        "platform", order_id, delivery.delivery_hash, publishing.fingerprint_of(received), " (its own node)"
    )
    checked = stage.platform_check(order_id)
    if checked.action != "confirm":
        return f"the platform's check said {checked.action}"
    outcome = stage.confirm("platform", order_id)
    # The platform keeps its copy encrypted in its own store, as any owner does, to sell it on.
    publishing.prepare(stage.p("platform"), received, name=DATASETS["coffee"].title, domain="imagery")
    stage.step("platform", "stock", f"stored its copy of dataset #{stage.tokens['coffee']} encrypted, ready to resell")
    return outcome


@scenario("reseller_sell", "The platform resells", CONFIRMED)
def reseller_sell(stage: MarketStage) -> str:
    """The platform sells on what :func:`reseller_buy` bought; the buyer trusts it and sends no fingerprint."""
    listing_id = stage.list_fixed("platform", "coffee", 3 * WEI // 20)
    order_id = stage.buy("carol", listing_id)
    stage.deliver("platform", order_id)
    stage.relay_sent("platform", order_id, with_fingerprint=False)
    stage.receive("carol", order_id, "coffee")
    stage.step("carol", "no receipt", "sends no fingerprint note: it trusts the platform as seller")
    return stage.confirm("carol", order_id)


USE_RIGHT_QUERIES = [
    (
        "patients per diagnosis",
        QuerySpec(select=(ColumnRef("diagnosis"), Aggregate("count", alias="patients")), group_by=("diagnosis",)),
    ),
    (
        "mean radius and area per diagnosis",
        QuerySpec(
            select=(
                ColumnRef("diagnosis"),
                Aggregate("avg", "mean radius", alias="radius"),
                Aggregate("avg", "mean area", alias="area"),
            ),
            group_by=("diagnosis",),
        ),
    ),
    (
        "raw rows of the largest tumours",
        QuerySpec(
            select=(ColumnRef("mean radius"), ColumnRef("diagnosis")),
            where=(Condition("mean radius", ">", 25),),
            limit=5,
        ),
    ),
    (
        "mean worst concavity per diagnosis where mean area > 1000",
        QuerySpec(
            select=(ColumnRef("diagnosis"), Aggregate("avg", "worst concavity", alias="concavity")),
            where=(Condition("mean area", ">", 1000),),
            group_by=("diagnosis",),
        ),
    ),
]
"""The buyer's four queries on the breast-cancer table: three aggregates, one asking for raw rows."""
USE_RIGHT_PRICE = WEI // 100
"""Price per query of the use-right scenario, in wei."""


USE_RIGHT_MAX_QUERIES = 10
"""Queries the scenario's use-right listing sells at most."""


def use_right_policy(chain_id: int, seller: str, token_id: int) -> UsagePolicy:
    """The usage policy (W3C ODRL) of the use-right scenario: differentially private counts and averages (the
    default epsilon per query and privacy budget) over groups of at least 10 rows, with the value ranges of the
    averaged columns declared, at most 100 result rows, no raw rows, at most :data:`USE_RIGHT_MAX_QUERIES`
    queries (``odrl:count``)."""
    return UsagePolicy.aggregates_only(
        uid=f"urn:datagora:policy:dataset-{token_id}",
        assigner=f"did:pkh:eip155:{chain_id}:{seller}",
        target=f"urn:datagora:dataset:{token_id}",
        k=10,
        aggregates=("count", "avg"),
        max_rows=100,
        max_queries=USE_RIGHT_MAX_QUERIES,
        value_ranges={"mean radius": (0, 30), "mean area": (0, 2600), "worst concavity": (0, 1.3)},
    )


@scenario("use_right", "Pay per query", f"3 answered, 1 refused, {Outcome.USE_RIGHT_EXPIRED.name}")
def use_right(stage: MarketStage) -> str:
    """The seller sells queries on its table under a usage policy (aggregates only, groups of at least 10); the
    buyer prepays four, three are answered and paid, the raw-row one is refused before anything is paid, and the
    unused one is refunded when the usage window closes. The seller keeps the dataset."""
    seller, buyer = stage.p("seller"), stage.p("buyer")
    token_id = stage.tokens["breast_cancer"]
    policy = use_right_policy(stage.chain.chain_id, seller.address, token_id)
    price = USE_RIGHT_PRICE
    listing_id, tx = use_rights.list_use_right(
        stage.c, seller, token_id, price, policy, max_queries=USE_RIGHT_MAX_QUERIES, usage_window=DAY
    )
    stage.current.ids.update(listing=listing_id, token=token_id)
    stage.step(
        "seller",
        "list use-right",
        f"offered queries on dataset #{token_id} at {amount(price)} each (at most 10, for one day): "
        "differentially private counts and averages over groups of at least 10 rows, never raw rows",
        tx,
    )
    owed_before = stage.owed("seller")
    order_id, tx = use_rights.buy_queries(stage.c, buyer, listing_id, 4)
    stage.current.ids["order"] = order_id
    stage.step("buyer", "buy 4 queries", f"prepaid 4 queries ({amount(4 * price)})", tx)
    answered = refused = 0
    for title, spec in USE_RIGHT_QUERIES:
        request = use_rights.sign_query(stage.c, buyer, order_id, spec)
        try:
            answer = use_rights.answer_query(stage.c, seller, request)
        except AccessDenied as exc:
            refused += 1
            left = stage.c.market.order(order_id).queries_left
            stage.step(
                "seller",
                "refuse query",
                f"refused {title!r} before anything was paid ({exc}); {left} queries still prepaid",
            )
            continue
        answered += 1
        verified = use_rights.verify_answer(stage.c, order_id, answer.index, answer.result)
        rows = "; ".join(
            ", ".join(
                f"{c}={v:.4g}" if isinstance(v, float) else f"{c}={v}"
                for c, v in zip(answer.result.columns, row, strict=True)
            )
            for row in answer.result.rows
        )
        epsilon = answer.result.privacy["epsilon"] if answer.result.privacy else None
        stage.step(
            "seller",
            f"answer query {answered}",
            f"answered {title!r} and was paid: {rows}"
            + (f" (differentially private, epsilon {epsilon:g})" if epsilon is not None else " (exact)"),
            answer.tx,
        )
        stage.check(f"the buyer verified answer {answered} against its hash on chain", verified)
        if answered == 1:
            forged = QueryResult(answer.result.columns, answer.result.rows[:-1], privacy=answer.result.privacy)
            stage.check(
                "an answer with a row left out fails the buyer's check",
                not use_rights.verify_answer(stage.c, order_id, answer.index, forged),
            )
            stage.refused(
                "seller",
                "answer again",
                "the seller's node tried to be paid twice for the same signed request",
                partial(use_rights.answer_query, stage.c, seller, request),
                "stale",
            )
    order = stage.c.market.order(order_id)
    stage.check(
        "one prepaid query left, its price still in escrow",
        (order.state, order.queries_left, order.amount) == (OrderState.PAID, 1, price),
    )
    stage.check(
        "the seller is owed three answers less the fee",
        stage.owed("seller") - owed_before == 3 * (price - price * order.fee_bps // 10_000),
    )
    stage.check(
        "nothing for the platform to enforce while the usage window is open",
        all(
            a.order_id != order_id
            for a in disputes.enforce_deadlines(stage.c, stage.p("platform"), first_order=order_id)
        ),
    )
    stage.chain.advance_time(DAY + 1)
    stage.step("chain", "time", "one day passes: the usage window is over")
    stage.refused(
        "buyer",
        "query late",
        "the buyer tried one more query",
        lambda: use_rights.sign_query(stage.c, buyer, order_id, USE_RIGHT_QUERIES[0][1]),
        "usage window",
    )
    before = stage.owed("buyer")
    tx = market.expire(stage.c, buyer, order_id)
    refund = stage.owed("buyer") - before
    stage.step("buyer", "expire", f"closed the order: the unused {amount(refund)} is owed back", tx)
    stage.check("one unused query refunded", refund == price)
    stage.check(f"dataset #{token_id} still owned by the seller", stage.owns("seller", token_id))
    return f"{answered} answered, {refused} refused, {stage.outcome_of(tx)}"


@scenario("negotiation", "Negotiated price", CONFIRMED)
def negotiation(stage: MarketStage) -> str:
    """carol offers below the asking price, the seller counters, carol accepts; delivery as in the broker sale."""
    seller, carol = stage.p("seller"), stage.p("carol")
    ask, offer, counter = WEI // 2, 3 * WEI // 10, 2 * WEI // 5
    low, rival_bid = WEI // 5, WEI // 4
    listing_id, txs = market.list_negotiable(stage.c, seller, stage.tokens["wine"], ask)
    stage.current.ids.update(listing=listing_id, token=stage.tokens["wine"])
    stage.approvals("seller", txs[:-1])
    stage.step(
        "seller",
        "list negotiable",
        f"put {DATASETS['wine'].title!r} up for offers, asking {amount(ask)} with {amount(ask)} collateral",
        txs[-1],
    )
    stage.refused(
        "buyer",
        "buy at asking price",
        "the buyer tried to buy it outright",
        lambda: market.buy(stage.c, stage.p("buyer"), listing_id),
        "market: not a fixed-price sale",
    )
    offer_id, tx = market.make_offer(stage.c, carol, listing_id, offer)
    stage.current.ids["offer"] = offer_id
    stage.step("carol", "offer", f"offered {amount(offer)}, paid into the Market with its collateral", tx)
    dave, rival = stage.p("dave"), stage.p("buyer")
    low_id, tx = market.make_offer(stage.c, dave, listing_id, low)
    stage.step("dave", "offer (dave)", f"offered {amount(low)}", tx)
    tx = market.reject_offer(stage.c, seller, low_id)
    stage.current.ids["rejected_offer"] = low_id
    stage.step("seller", "reject", "turned dave's offer down: dave can take its money back", tx)
    stage.check(
        "a rejected offer is owed back with its collateral",
        stage.c.market.offer(low_id).state == OfferState.REJECTED and stage.owed("dave") >= low + ask,
    )
    rival_id, tx = market.make_offer(stage.c, rival, listing_id, rival_bid)
    stage.current.ids["rival_offer"] = rival_id
    stage.step("buyer", "offer (buyer)", f"offered {amount(rival_bid)}; the seller leaves it open", tx)
    tx = market.counter_offer(stage.c, seller, offer_id, counter)
    stage.step("seller", "counter", f"asked {amount(counter)} instead", tx)
    escrow_before = stage.c.market.escrowed()
    order_id, tx = market.accept_counter(stage.c, carol, offer_id, counter)
    stage.current.ids["order"] = order_id
    stage.step("carol", "accept counter", f"accepted, adding {amount(counter - offer)}", tx)
    stage.check(
        "accepting the counter paid in the difference",
        stage.c.market.escrowed() == escrow_before + counter - offer,
    )
    stage.refused(
        "seller",
        "accept rival",
        "the seller tried to accept the buyer's open offer too",
        lambda: market.accept_offer(stage.c, seller, rival_id),
        "market: listing not active",
    )
    tx = market.withdraw_offer(stage.c, rival, rival_id)
    stage.step("buyer", "withdraw offer", "took its open offer back: it is owed its money", tx)
    stage.check("the withdrawn offer is closed", stage.c.market.offer(rival_id).state == OfferState.WITHDRAWN)
    checked = stage.honest_delivery("seller", "carol", order_id, "wine")
    if checked.action != "confirm":
        return f"the platform's check said {checked.action}"
    return stage.confirm("carol", order_id)


AUCTION_BIDS = (("buyer", 10 * WEI), ("carol", 12 * WEI), ("dave", 15 * WEI))
"""Bidders and their bids (DGD units) in the auction scenario."""


@scenario("auction", "Auction paid in a token", CONFIRMED)
def auction(stage: MarketStage) -> str:
    """A one-hour English auction in DGD: three bidders, each outbid one refunded by pull payment; the platform
    settles it when it ends; the winner gets the data as in the broker sale."""
    token = stage.token
    reserve, step = 10 * WEI, WEI
    listing_id, txs = market.list_auction(
        stage.c,
        stage.p("seller"),
        stage.tokens["chelsea"],
        reserve,
        min_increment=step,
        duration=3600,
        payment_token=token,
    )
    stage.current.ids.update(listing=listing_id, token=stage.tokens["chelsea"])
    stage.approvals("seller", txs[:-1])
    stage.step(
        "seller",
        "list auction",
        f"opened a one-hour auction of {DATASETS['chelsea'].title!r} in DGD: lowest bid {amount(reserve, 'DGD')}, "
        f"raises of at least {amount(step, 'DGD')}, {amount(reserve, 'DGD')} collateral",
        txs[-1],
    )
    collateral = stage.c.market.listing(listing_id).collateral
    for n, (bidder, bid) in enumerate(AUCTION_BIDS):
        stage.approve(bidder, token, bid + collateral)
        if n < 2:  # below the reserve, then below the highest bid plus the increment: refused, nothing moves
            low = reserve - 1 if n == 0 else AUCTION_BIDS[0][1] + step - 1
            stage.refused(
                bidder,
                f"low bid ({bidder})",
                f"{bidder} tried to bid {amount(low, 'DGD')}",
                partial(market.bid, stage.c, stage.p(bidder), listing_id, low),
                "market: below reserve" if n == 0 else "market: bid too low",
            )
        tx = market.bid(stage.c, stage.p(bidder), listing_id, bid)
        outbid = tx.event("BidPlaced").args["outbid"]
        after = "" if int(outbid, 16) == 0 else f"; {stage.name_of(outbid)} is outbid and can take its DGD back"
        stage.step(
            bidder,
            f"bid ({bidder})",
            f"bid {amount(bid, 'DGD')} plus {amount(collateral, 'DGD')} collateral{after}",
            tx,
        )
    stage.check(
        "the Market holds the seller's collateral, the highest bid and its collateral",
        stage.c.market.escrowed(token) == collateral + AUCTION_BIDS[-1][1] + collateral,
    )
    stage.refused(
        "platform",
        "settle early",
        "the platform tried to close the auction early",
        lambda: market.settle_auction(stage.c, stage.p("platform"), listing_id),
        "market: auction not ended",
    )
    stage.chain.advance_time(3601)
    stage.step("chain", "time", "one hour passes: the auction is over")
    order_id, tx = market.settle_auction(stage.c, stage.p("platform"), listing_id)
    stage.current.ids["order"] = order_id
    winner = stage.name_of(stage.c.market.order(order_id).buyer)
    stage.step("platform", "settle", f"closed the auction: {winner} won", tx)
    stage.check(
        "the outbid bidders can take back their bids and collateral",
        all(stage.owed(b, token) == bid + collateral for b, bid in AUCTION_BIDS[:-1]),
    )
    checked = stage.honest_delivery("seller", winner, order_id, "chelsea")
    if checked.action != "confirm":
        return f"the platform's check said {checked.action}"
    return stage.confirm(winner, order_id)
