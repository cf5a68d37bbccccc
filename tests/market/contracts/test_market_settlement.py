"""Market.vy order lifecycle: `deliver`, then the settlement outcomes (`confirm`, `release`, `dispute`, `resolve`,
`refund`) with the double-deposit credits, and orders of suspended parties.

Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message); the hypothesis tests fuzz the arithmetic. Helpers and the
default sale: market_helpers.py.
"""

from __future__ import annotations

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    DISPUTE_WINDOW,
    ETHER,
    FEE_BPS,
    LISTING_CLOSED,
    LISTING_SOLD,
    MAX_FEE_BPS,
    MAX_WINDOW,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_DISPUTED,
    ORDER_REFUNDED,
    OUTCOME_CONFIRMED,
    OUTCOME_FOR_BUYER,
    OUTCOME_FOR_SELLER,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_REDELIVERED,
    OUTCOME_RELEASED,
    RULING_FOR_BUYER,
    RULING_FOR_SELLER,
    RULING_REDELIVERED,
    STATUS_SUSPENDED,
    ZERO_BYTES32,
    Deployment,
    assert_event,
)
from tests.market.contracts.market_helpers import (
    COLLATERAL,
    CONFIRM_WINDOW,
    DELIVERY_HASH,
    DELIVERY_WINDOW,
    EVIDENCE_HASH,
    FEE,
    FUZZ,
    OUTCOME_IDS,
    OUTCOMES,
    PRICE,
    PRICINGS,
    REASON_HASH,
    Currency,
    credits,
    delivered,
    disputed,
    ownership_order,
    reach,
    set_parameters,
    withdraw_all,
)

# --- deliver ------------------------------------------------------------------------------------------------


def test_deliver_commits_the_hash_and_starts_the_confirm_window(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    d.env.time_travel(seconds=100)
    now = d.env.timestamp
    with d.env.prank(d.alice.address):
        d.market.deliver(order_id, DELIVERY_HASH)
    assert_event(
        d.market,
        "Delivered",
        order_id=order_id,
        seller=d.alice.address,
        delivery_hash=DELIVERY_HASH,
        confirm_deadline=now + CONFIRM_WINDOW,
    )
    order = d.market.order(order_id)
    assert (order.state, order.deadline) == (ORDER_DELIVERED, now + CONFIRM_WINDOW)
    assert order.queries_left == 0  # the delivered bit is not a query count
    assert tuple(d.market.order_parties(order_id)) == (d.bob.address, d.alice.address, ORDER_DELIVERED, True, True)
    assert d.market.escrowed(ETHER) == PRICE + 2 * COLLATERAL


@pytest.mark.parametrize(
    ("then", "state", "was_delivered"),
    [
        ("not-delivered", ORDER_REFUNDED, False),
        ("for-buyer", ORDER_REFUNDED, True),
        ("timeout", ORDER_REFUNDED, True),
        ("confirm", ORDER_COMPLETED, True),
    ],
)
def test_order_parties_tells_a_refund_after_a_delivery(
    d: Deployment, then: str, state: int, was_delivered: bool
) -> None:
    """A refund after a delivery (a dispute ruled for the buyer, or never resolved) is told apart from a refund
    with nothing delivered, through every later write of the order."""
    _, _, order_id = ownership_order(d)
    if then == "not-delivered":
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        d.market.refund(order_id)
    else:
        with d.env.prank(d.alice.address):
            d.market.deliver(order_id, DELIVERY_HASH)
        with d.env.prank(d.bob.address):
            if then == "confirm":
                d.market.confirm(order_id)
            else:
                d.market.dispute(order_id, REASON_HASH)
        if then == "for-buyer":
            with d.env.prank(d.platform.address):
                d.market.resolve(order_id, RULING_FOR_BUYER, REASON_HASH)
        elif then == "timeout":
            d.env.time_travel(seconds=DISPUTE_WINDOW + 1)
            d.market.refund(order_id)
    assert tuple(d.market.order_parties(order_id)) == (d.bob.address, d.alice.address, state, was_delivered, True)
    assert d.market.order(order_id).queries_left == 0


def test_deliver_at_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW)
    d.deliver(order_id, DELIVERY_HASH)
    assert d.market.order(order_id).state == ORDER_DELIVERED


@pytest.mark.parametrize("stage", ["unknown", "delivered", "completed", "refunded"])
def test_deliver_rejects_order_not_paid(d: Deployment, stage: str) -> None:
    _, _, order_id = ownership_order(d)
    if stage == "unknown":
        order_id += 1
    elif stage == "delivered":
        d.deliver(order_id)
    else:
        reach(d, order_id, OUTCOME_CONFIRMED if stage == "completed" else OUTCOME_NOT_DELIVERED)
    with d.env.prank(d.alice.address), boa.reverts("market: order not paid"):
        d.market.deliver(order_id, DELIVERY_HASH)


@pytest.mark.parametrize("who", ["bob", "carol", "platform", "mallory"])
def test_deliver_rejects_not_seller(d: Deployment, who: str) -> None:
    _, _, order_id = ownership_order(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.deliver(order_id, DELIVERY_HASH)


def test_deliver_rejects_after_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: delivery deadline passed"):
        d.market.deliver(order_id, DELIVERY_HASH)


def test_deliver_rejects_empty_delivery_hash(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    with d.env.prank(d.alice.address), boa.reverts("market: empty delivery hash"):
        d.market.deliver(order_id, ZERO_BYTES32)


# --- confirm / release / dispute / resolve / refund: the settlement outcomes --------------------------------


@pytest.mark.parametrize("outcome", OUTCOMES, ids=OUTCOME_IDS)
def test_settlement_credits_of_the_double_deposit(d: Deployment, cur: Currency, outcome: int) -> None:
    """Confirm returns both deposits; release and resolve(for seller) give the buyer's to the seller;
    not-delivered and resolve(for buyer) give the seller's to the buyer; a dispute timeout returns each its own."""
    token_id, listing_id, order_id = ownership_order(d, cur=cur)
    held_before = {a: cur.held(a) for a in (d.alice, d.bob, d.platform)}
    reach(d, order_id, outcome)

    seller_credit, buyer_credit, fee = credits(outcome, PRICE, COLLATERAL, FEE_BPS)
    assert seller_credit + buyer_credit + fee == PRICE + 2 * COLLATERAL
    assert_event(
        d.market,
        "Settled",
        order_id=order_id,
        listing_id=listing_id,
        outcome=outcome,
        seller_credit=seller_credit,
        buyer_credit=buyer_credit,
        fee=fee,
    )
    sold = outcome in (OUTCOME_CONFIRMED, OUTCOME_RELEASED, OUTCOME_FOR_SELLER, OUTCOME_REDELIVERED)
    assert d.market.order(order_id).state == (ORDER_COMPLETED if sold else ORDER_REFUNDED)
    assert d.market.listing(listing_id).state == (LISTING_SOLD if sold else LISTING_CLOSED)
    assert d.catalog.ownerOf(token_id) == (d.bob.address if sold else d.alice.address)
    assert (cur.pending(d.alice), cur.pending(d.bob), cur.pending(d.platform)) == (seller_credit, buyer_credit, fee)
    assert (cur.pending(d.mallory), cur.escrowed()) == (0, 0)
    d.assert_solvent(*cur.tokens)

    withdraw_all(d, cur.address)
    assert cur.held(d.alice) == held_before[d.alice] + seller_credit
    assert cur.held(d.bob) == held_before[d.bob] + buyer_credit
    assert cur.held(d.platform) == held_before[d.platform] + fee
    assert cur.held(d.market) == 0


@pytest.mark.parametrize("pricing", PRICINGS)
def test_every_pricing_completes_end_to_end(d: Deployment, cur: Currency, pricing: str) -> None:
    """Each pricing, paid in ether and in DemoToken: list, buy, deliver, confirm, everyone withdraws."""
    start = {a: cur.held(a) for a in (d.alice, d.bob, d.platform)}
    token_id, _, order_id = ownership_order(d, pricing, cur)
    assert cur.held(d.market) == PRICE + 2 * COLLATERAL
    reach(d, order_id, OUTCOME_CONFIRMED)
    withdraw_all(d, cur.address)
    assert d.catalog.ownerOf(token_id) == d.bob.address
    assert cur.held(d.alice) == start[d.alice] + PRICE - FEE
    assert cur.held(d.bob) == start[d.bob] - PRICE
    assert cur.held(d.platform) == start[d.platform] + FEE
    assert cur.held(d.market) == 0


def test_confirm_a_disputed_order(d: Deployment) -> None:
    """The buyer may drop its dispute by confirming: both deposits return."""
    _, listing_id, order_id = disputed(d)
    d.confirm(order_id)
    seller_credit, buyer_credit, fee = credits(OUTCOME_CONFIRMED, PRICE, COLLATERAL, FEE_BPS)
    assert_event(
        d.market,
        "Settled",
        order_id=order_id,
        listing_id=listing_id,
        outcome=OUTCOME_CONFIRMED,
        seller_credit=seller_credit,
        buyer_credit=buyer_credit,
        fee=fee,
    )


def test_confirm_after_the_confirm_deadline_if_not_yet_released(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1_000)
    d.confirm(order_id)
    assert d.market.order(order_id).state == ORDER_COMPLETED
    assert d.pending(d.bob) == COLLATERAL


@pytest.mark.parametrize("who", ["alice", "carol", "platform", "mallory"])
def test_confirm_rejects_not_buyer(d: Deployment, who: str) -> None:
    _, _, order_id = delivered(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not buyer"):
        d.market.confirm(order_id)


@pytest.mark.parametrize("stage", ["paid", "completed", "refunded"])
def test_confirm_rejects_order_not_delivered(d: Deployment, stage: str) -> None:
    _, _, order_id = ownership_order(d)
    if stage != "paid":
        reach(d, order_id, OUTCOME_CONFIRMED if stage == "completed" else OUTCOME_NOT_DELIVERED)
    with d.env.prank(d.bob.address), boa.reverts("market: order not delivered"):
        d.market.confirm(order_id)


@pytest.mark.parametrize("by", ["buyer", "platform"])
def test_dispute_starts_the_dispute_window(d: Deployment, by: str) -> None:
    _, _, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW)  # at the confirm deadline: still disputable
    who = d.bob if by == "buyer" else d.platform
    with d.env.prank(who.address):
        d.market.dispute(order_id, REASON_HASH)
    deadline = d.env.timestamp + DISPUTE_WINDOW
    assert_event(
        d.market, "Disputed", order_id=order_id, by=who.address, reason_hash=REASON_HASH, resolve_deadline=deadline
    )
    order = d.market.order(order_id)
    assert (order.state, order.deadline) == (ORDER_DISPUTED, deadline)
    assert d.market.escrowed(ETHER) == PRICE + 2 * COLLATERAL


@pytest.mark.parametrize("stage", ["paid", "disputed", "completed"])
def test_dispute_rejects_order_not_delivered(d: Deployment, stage: str) -> None:
    _, _, order_id = ownership_order(d)
    if stage == "disputed":
        d.deliver(order_id)
        with d.env.prank(d.bob.address):
            d.market.dispute(order_id, REASON_HASH)
    elif stage == "completed":
        reach(d, order_id, OUTCOME_CONFIRMED)
    with d.env.prank(d.bob.address), boa.reverts("market: order not delivered"):
        d.market.dispute(order_id, REASON_HASH)


@pytest.mark.parametrize("who", ["alice", "carol", "supervisor", "mallory"])
def test_dispute_rejects_not_buyer_or_platform(d: Deployment, who: str) -> None:
    _, _, order_id = delivered(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not buyer or platform"):
        d.market.dispute(order_id, REASON_HASH)


def test_dispute_rejects_after_the_confirm_deadline(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
    with d.env.prank(d.bob.address), boa.reverts("market: confirm deadline passed"):
        d.market.dispute(order_id, REASON_HASH)


@pytest.mark.parametrize(
    ("ruling", "outcome"),
    [
        (RULING_FOR_SELLER, OUTCOME_FOR_SELLER),
        (RULING_REDELIVERED, OUTCOME_REDELIVERED),
        (RULING_FOR_BUYER, OUTCOME_FOR_BUYER),
    ],
)
def test_resolve_logs_the_decision(d: Deployment, ruling: int, outcome: int) -> None:
    _, _, order_id = disputed(d)
    d.env.time_travel(seconds=DISPUTE_WINDOW)  # at the dispute deadline: still resolvable
    with d.env.prank(d.platform.address):
        d.market.resolve(order_id, ruling, EVIDENCE_HASH)
    assert_event(d.market, "Resolved", order_id=order_id, ruling=ruling, evidence_hash=EVIDENCE_HASH)
    (settled,) = [e for e in d.market.get_logs() if type(e).__name__ == "Settled"]
    assert settled.outcome == outcome


@pytest.mark.parametrize("ruling", [0, RULING_FOR_SELLER | RULING_FOR_BUYER, RULING_FOR_SELLER | RULING_REDELIVERED, 7])
def test_resolve_rejects_bad_ruling(d: Deployment, ruling: int) -> None:
    """The empty flag and any mix of rulings are refused with the Market's own message."""
    _, _, order_id = disputed(d)
    with d.env.prank(d.platform.address), boa.reverts("market: bad ruling"):
        d.market.resolve(order_id, ruling, EVIDENCE_HASH)


@pytest.mark.parametrize("ruling", [8, 255])
def test_resolve_rejects_bits_outside_the_flag(d: Deployment, ruling: int) -> None:
    """A value with a bit beyond the three rulings does not decode as a Ruling: the call reverts."""
    _, _, order_id = disputed(d)
    with d.env.prank(d.platform.address), pytest.raises(boa.BoaError):
        d.market.resolve(order_id, ruling, EVIDENCE_HASH)
    assert d.market.order(order_id).state == ORDER_DISPUTED


@pytest.mark.parametrize("who", ["alice", "bob", "supervisor"])
def test_resolve_rejects_non_owner(d: Deployment, who: str) -> None:
    _, _, order_id = disputed(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("ownable: caller is not the owner"):
        d.market.resolve(order_id, RULING_FOR_SELLER, EVIDENCE_HASH)


@pytest.mark.parametrize("stage", ["paid", "delivered", "resolved"])
def test_resolve_rejects_order_not_disputed(d: Deployment, stage: str) -> None:
    _, _, order_id = ownership_order(d)
    if stage != "paid":
        d.deliver(order_id)
    if stage == "resolved":
        with d.env.prank(d.bob.address):
            d.market.dispute(order_id, REASON_HASH)
        with d.env.prank(d.platform.address):
            d.market.resolve(order_id, RULING_FOR_BUYER, EVIDENCE_HASH)
    with d.env.prank(d.platform.address), boa.reverts("market: order not disputed"):
        d.market.resolve(order_id, RULING_FOR_SELLER, EVIDENCE_HASH)


def test_resolve_rejects_after_the_dispute_deadline(d: Deployment) -> None:
    _, _, order_id = disputed(d)
    d.env.time_travel(seconds=DISPUTE_WINDOW + 1)
    with d.env.prank(d.platform.address), boa.reverts("market: dispute deadline passed"):
        d.market.resolve(order_id, RULING_FOR_SELLER, EVIDENCE_HASH)


@pytest.mark.parametrize("stage", ["paid", "disputed", "completed", "unknown"])
def test_release_rejects_order_not_delivered(d: Deployment, stage: str) -> None:
    if stage == "unknown":
        order_id = 99
    elif stage == "disputed":
        _, _, order_id = disputed(d)
    else:
        _, _, order_id = ownership_order(d)
        if stage == "completed":
            reach(d, order_id, OUTCOME_CONFIRMED)
    d.env.time_travel(seconds=MAX_WINDOW)
    with boa.reverts("market: order not delivered"):
        d.market.release(order_id)


def test_release_rejects_at_the_confirm_deadline(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW)
    with d.env.prank(d.alice.address), boa.reverts("market: confirm deadline not passed"):
        d.market.release(order_id)
    d.env.time_travel(seconds=1)
    with d.env.prank(d.alice.address):
        d.market.release(order_id)


@pytest.mark.parametrize("stage", ["unknown", "delivered", "completed", "refunded"])
def test_refund_rejects_order_not_refundable(d: Deployment, stage: str) -> None:
    _, _, order_id = ownership_order(d)
    if stage == "unknown":
        order_id += 1
    elif stage == "delivered":
        d.deliver(order_id)
    else:
        reach(d, order_id, OUTCOME_CONFIRMED if stage == "completed" else OUTCOME_NOT_DELIVERED)
    d.env.time_travel(seconds=MAX_WINDOW)
    with boa.reverts("market: not refundable"):
        d.market.refund(order_id)


def test_refund_rejects_at_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW)
    with d.env.prank(d.bob.address), boa.reverts("market: delivery deadline not passed"):
        d.market.refund(order_id)
    d.env.time_travel(seconds=1)
    d.market.refund(order_id)
    assert d.market.order(order_id).state == ORDER_REFUNDED


def test_refund_rejects_disputed_order_at_the_dispute_deadline(d: Deployment) -> None:
    _, _, order_id = disputed(d)
    d.env.time_travel(seconds=DISPUTE_WINDOW)
    with boa.reverts("market: dispute deadline not passed"):
        d.market.refund(order_id)
    d.env.time_travel(seconds=1)
    d.market.refund(order_id)
    assert d.market.order(order_id).state == ORDER_REFUNDED


# --- suspension: new business stops, money and tokens never get stuck --------------------------------------


@pytest.mark.parametrize("outcome", [OUTCOME_CONFIRMED, OUTCOME_NOT_DELIVERED, OUTCOME_FOR_BUYER])
def test_orders_settle_and_pay_out_after_both_parties_are_suspended(d: Deployment, outcome: int) -> None:
    token_id, _, order_id = ownership_order(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    d.set_status(d.beta_id, STATUS_SUSPENDED)
    reach(d, order_id, outcome)
    withdraw_all(d)
    assert d.balance(d.market) == 0
    assert d.catalog.ownerOf(token_id) == (d.bob.address if outcome == OUTCOME_CONFIRMED else d.alice.address)


def test_buyer_can_resell_a_purchased_dataset(d: Deployment) -> None:
    token_id, _, order_id = ownership_order(d)
    reach(d, order_id, OUTCOME_CONFIRMED)
    with d.env.prank(d.bob.address):
        d.catalog.setApprovalForAll(d.market.address, True)
    listing_id = d.list_token(d.bob, token_id, 2 * PRICE)
    order_id = d.buy(d.alice, listing_id)
    reach(d, order_id, OUTCOME_CONFIRMED)
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.pending(d.bob) == COLLATERAL + 2 * PRICE - 2 * FEE


# --- fuzz ---------------------------------------------------------------------------------------------------


@FUZZ
@given(
    price=st.integers(min_value=1, max_value=5 * 10**23),
    collateral=st.integers(min_value=0, max_value=4 * 10**23),
    fee_bps=st.integers(min_value=0, max_value=MAX_FEE_BPS),
    outcome=st.sampled_from(OUTCOMES),
)
def test_settlement_conservation_fuzz(d: Deployment, price: int, collateral: int, fee_bps: int, outcome: int) -> None:
    """seller_credit + buyer_credit + fee == amount + 2 * collateral for every outcome, fee ==
    amount * fee_bps // 10_000 (0 when the sale fails), and the market pays out exactly what it took."""
    with d.env.anchor():
        set_parameters(d, fee_bps=fee_bps)
        start = {a: d.balance(a) for a in (d.alice, d.bob, d.platform)}
        _, _, order_id = ownership_order(d, price=price, collateral=collateral)
        reach(d, order_id, outcome)
        (settled,) = [e for e in d.market.get_logs() if type(e).__name__ == "Settled"]
        expected = credits(outcome, price, collateral, fee_bps)
        assert (settled.seller_credit, settled.buyer_credit, settled.fee) == expected
        assert sum(expected) == price + 2 * collateral
        assert d.market.escrowed(ETHER) == 0
        d.assert_solvent()
        withdraw_all(d)
        assert d.balance(d.market) == 0
        seller_credit, buyer_credit, fee = expected
        assert d.balance(d.alice) - start[d.alice] == seller_credit - collateral
        assert d.balance(d.bob) - start[d.bob] == buyer_credit - price - collateral
        assert d.balance(d.platform) - start[d.platform] == fee
