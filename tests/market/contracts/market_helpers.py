"""Helpers of the Market.vy contract tests (``test_market_*.py`` in this directory): the default sale, the
currencies a test pays in, builders that bring an order to any stage, and the settlement model of the double
deposit. Fixtures (``cur``, ``false_token``, ``fee_token``) are in this directory's conftest.py.

Default sale in these tests: Alice (Acme) sells to Bob (Beta) at 1 ether (or 1 DGD of the DemoToken) with a
collateral of 0.2 from each side, delivery window 3,600 s, confirm window 7,200 s, platform fee 250 bps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings

from tests.kits.contract_kit import (
    DISPUTE_WINDOW,
    ETHER,
    FEE_BPS,
    OUTCOME_CONFIRMED,
    OUTCOME_DISPUTE_TIMEOUT,
    OUTCOME_FOR_BUYER,
    OUTCOME_FOR_SELLER,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_REDELIVERED,
    OUTCOME_RELEASED,
    RULING_FOR_BUYER,
    RULING_FOR_SELLER,
    RULING_REDELIVERED,
    Deployment,
    digest,
)

PRICE = 10**18
COLLATERAL = 2 * 10**17
FEE = PRICE * FEE_BPS // 10_000
MANAGEMENT_FEE = 10**15  # wei
DELIVERY_WINDOW = 3_600
CONFIRM_WINDOW = 7_200
WINDOWS = {"delivery_window": DELIVERY_WINDOW, "confirm_window": CONFIRM_WINDOW}
RESERVE, INCREMENT, DURATION = 10**18, 10**17, 86_400
AUCTION_EXTENSION = 600  # states.AUCTION_EXTENSION (seconds)
POLICY_HASH = digest("odrl-policy")
DELIVERY_HASH = digest("ciphertext")
REASON_HASH = digest("fingerprints differ")
EVIDENCE_HASH = digest("re-upload fingerprint comparison")
PRICINGS = ["fixed", "negotiated", "auction"]
OUTCOMES = [
    OUTCOME_CONFIRMED,
    OUTCOME_RELEASED,
    OUTCOME_FOR_SELLER,
    OUTCOME_REDELIVERED,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_FOR_BUYER,
    OUTCOME_DISPUTE_TIMEOUT,
]
OUTCOME_IDS = ["confirmed", "released", "for-seller", "redelivered", "not-delivered", "for-buyer", "dispute-timeout"]
RULING_OF = {OUTCOME_FOR_SELLER: RULING_FOR_SELLER, OUTCOME_REDELIVERED: RULING_REDELIVERED}

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@dataclass
class Currency:
    """How a test pays: ether (``token`` None) or the DemoToken."""

    d: Deployment
    token: Any

    @property
    def address(self) -> str:
        return ETHER if self.token is None else str(self.token.address)

    @property
    def tokens(self) -> tuple[Any, ...]:
        return () if self.token is None else (self.token,)

    def value(self, amount: int) -> int:
        return self.d.value_for(self.address, amount)

    def held(self, who: Any) -> int:
        return self.d.held(who, self.token)

    def pending(self, who: Any) -> int:
        return self.d.pending(who, self.address)

    def escrowed(self) -> int:
        return int(self.d.market.escrowed(self.address))


def set_parameters(
    d: Deployment, fee_bps: int = FEE_BPS, management_fee: int = 0, dispute_window: int = DISPUTE_WINDOW
) -> None:
    with d.env.prank(d.platform.address):
        d.market.set_parameters(fee_bps, management_fee, dispute_window)


def call_list(
    d: Deployment,
    pricing: str,
    token_id: int,
    seller: Any = None,
    price: int = PRICE,
    collateral: int = 0,
    payment_token: str = ETHER,
    delivery_window: int = DELIVERY_WINDOW,
    confirm_window: int = CONFIRM_WINDOW,
    value: int | None = None,
) -> int:
    """Call ``list`` / ``list_negotiable`` / ``list_auction`` with the same terms (auction: default
    increment and duration); ``value`` defaults to the management fee plus the ether collateral."""
    seller = seller or d.alice
    if value is None:
        value = int(d.market.management_fee()) + d.value_for(payment_token, collateral)
    terms = (collateral, payment_token, delivery_window, confirm_window)
    with d.env.prank(seller.address):
        if pricing == "fixed":
            return int(d.market.list(token_id, price, *terms, value=value))
        if pricing == "negotiated":
            return int(d.market.list_negotiable(token_id, price, *terms, value=value))
        return int(d.market.list_auction(token_id, price, INCREMENT, DURATION, *terms, value=value))


def ownership_order(
    d: Deployment,
    pricing: str = "fixed",
    cur: Currency | None = None,
    price: int = PRICE,
    collateral: int = COLLATERAL,
    seller: Any = None,
    buyer: Any = None,
) -> tuple[int, int, int]:
    """A Paid ownership order reached through ``pricing``; returns (token id, listing id, order id)."""
    seller, buyer = seller or d.alice, buyer or d.bob
    payment_token = ETHER if cur is None else cur.address
    token_id = d.publish(seller)
    terms: dict[str, Any] = {"collateral": collateral, "payment_token": payment_token, **WINDOWS}
    if pricing == "fixed":
        listing_id = d.list_token(seller, token_id, price, **terms)
        return token_id, listing_id, d.buy(buyer, listing_id)
    if pricing == "negotiated":
        listing_id = d.list_negotiable(seller, token_id, price, **terms)
        offer_id = d.make_offer(buyer, listing_id, price)
        with d.env.prank(seller.address):
            return token_id, listing_id, int(d.market.accept_offer(offer_id))
    listing_id = d.list_auction(seller, token_id, price, INCREMENT, DURATION, **terms)
    d.bid(buyer, listing_id, price)
    d.env.time_travel(seconds=DURATION)
    return token_id, listing_id, int(d.market.settle(listing_id))


def delivered(d: Deployment, **kwargs: Any) -> tuple[int, int, int]:
    token_id, listing_id, order_id = ownership_order(d, **kwargs)
    d.deliver(order_id, DELIVERY_HASH)
    return token_id, listing_id, order_id


def disputed(d: Deployment, **kwargs: Any) -> tuple[int, int, int]:
    token_id, listing_id, order_id = delivered(d, **kwargs)
    with d.env.prank(d.market.order(order_id).buyer):
        d.market.dispute(order_id, REASON_HASH)
    return token_id, listing_id, order_id


def reach(d: Deployment, order_id: int, outcome: int) -> None:
    """Drive a Paid ownership order to ``outcome`` as the protocol does; the last call emits ``Settled``."""
    if outcome == OUTCOME_NOT_DELIVERED:
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        with d.env.prank(d.mallory.address):
            d.market.refund(order_id)
        return
    d.deliver(order_id, DELIVERY_HASH)
    if outcome == OUTCOME_CONFIRMED:
        d.confirm(order_id)
    elif outcome == OUTCOME_RELEASED:
        d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
        with d.env.prank(d.mallory.address):
            d.market.release(order_id)
    else:
        with d.env.prank(d.market.order(order_id).buyer):
            d.market.dispute(order_id, REASON_HASH)
        if outcome == OUTCOME_DISPUTE_TIMEOUT:
            d.env.time_travel(seconds=DISPUTE_WINDOW + 1)
            with d.env.prank(d.mallory.address):
                d.market.refund(order_id)
        else:
            with d.env.prank(d.platform.address):
                d.market.resolve(order_id, RULING_OF.get(outcome, RULING_FOR_BUYER), EVIDENCE_HASH)


def credits(outcome: int, amount: int, collateral: int, fee_bps: int) -> tuple[int, int, int]:
    """(seller credit, buyer credit, fee) of a settled ownership order: the double-deposit rule."""
    fee = amount * fee_bps // 10_000
    if outcome == OUTCOME_CONFIRMED:  # both deposits return
        return amount - fee + collateral, collateral, fee
    if outcome in (OUTCOME_RELEASED, OUTCOME_FOR_SELLER):  # the buyer's deposit goes to the seller
        return amount - fee + 2 * collateral, 0, fee
    if outcome == OUTCOME_REDELIVERED:  # sale completes, the seller's deposit goes to the buyer
        return amount - fee, 2 * collateral, fee
    if outcome == OUTCOME_DISPUTE_TIMEOUT:  # nobody at fault: each gets its own back
        return collateral, amount + collateral, 0
    return 0, amount + 2 * collateral, 0  # NOT_DELIVERED, FOR_BUYER: the seller's deposit goes to the buyer


def withdraw_all(d: Deployment, payment_token: str = ETHER) -> None:
    for actor in d.actors:
        if d.pending(actor, payment_token):
            with d.env.prank(actor.address):
                d.market.withdraw(payment_token)


# --- negotiation and auction listings ------------------------------------------------------------------------


def negotiable(d: Deployment, cur: Currency | None = None, collateral: int = COLLATERAL) -> tuple[int, int]:
    token_id = d.publish(d.alice)
    payment_token = ETHER if cur is None else cur.address
    listing_id = d.list_negotiable(d.alice, token_id, PRICE, collateral, payment_token, **WINDOWS)
    return token_id, listing_id


def offer(d: Deployment, amount: int = PRICE, cur: Currency | None = None) -> tuple[int, int]:
    """Bob offers ``amount`` for a fresh negotiable listing of Alice's; returns (listing id, offer id)."""
    _, listing_id = negotiable(d, cur)
    return listing_id, d.make_offer(d.bob, listing_id, amount)


def countered(d: Deployment, amount: int, counter: int, cur: Currency | None = None) -> tuple[int, int]:
    listing_id, offer_id = offer(d, amount, cur)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, counter)
    return listing_id, offer_id


def auction(d: Deployment, cur: Currency | None = None, collateral: int = COLLATERAL) -> tuple[int, int]:
    token_id = d.publish(d.alice)
    payment_token = ETHER if cur is None else cur.address
    return token_id, d.list_auction(
        d.alice, token_id, RESERVE, INCREMENT, DURATION, collateral, payment_token, **WINDOWS
    )
