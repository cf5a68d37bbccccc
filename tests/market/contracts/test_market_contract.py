"""Market.vy: ownership sales (fixed price, negotiation, English auction), with escrow deadlines, disputes,
the double-deposit collateral, brokerage and management fees, and payment in ether or an ERC-20 (Wu et al.
sections II-IV; Shrestha et al. for the double deposit). Per-query use-rights live in UseRights.vy
(tests/use_rights/contracts/).

Default sale in these tests: Alice (Acme) sells to Bob (Beta) at 1 ether (or 1 DGD of the DemoToken) with a
collateral of 0.2 from each side, delivery window 3,600 s, confirm window 7,200 s, platform fee 250 bps.
Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message); the hypothesis tests fuzz the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    DISPUTE_WINDOW,
    ETHER,
    FEE_BPS,
    KIND_OWNERSHIP,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    LISTING_CLOSED,
    LISTING_PENDING,
    LISTING_SOLD,
    MAX_FEE_BPS,
    MAX_MANAGEMENT_FEE,
    MAX_WINDOW,
    MIN_WINDOW,
    OFFER_ACCEPTED,
    OFFER_COUNTERED,
    OFFER_OPEN,
    OFFER_REJECTED,
    OFFER_WITHDRAWN,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_DISPUTED,
    ORDER_PAID,
    ORDER_REFUNDED,
    OUTCOME_CONFIRMED,
    OUTCOME_DISPUTE_TIMEOUT,
    OUTCOME_FOR_BUYER,
    OUTCOME_FOR_SELLER,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_REDELIVERED,
    OUTCOME_RELEASED,
    PRICING_AUCTION,
    PRICING_FIXED,
    PRICING_NEGOTIATED,
    RULING_FOR_BUYER,
    RULING_FOR_SELLER,
    RULING_REDELIVERED,
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    TOKEN_START_BALANCE,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    assert_no_event,
    digest,
    events,
    make_account,
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


# --- currencies, builders and the settlement model ----------------------------------------------------------


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


@pytest.fixture(params=["ether", "token"])
def cur(request: pytest.FixtureRequest, d: Deployment, demo_token: Any) -> Currency:
    """Each test using it runs twice: paid in ether, and in DemoToken (Alice, Bob and Carol approve the market)."""
    if request.param == "ether":
        return Currency(d, None)
    for actor in (d.alice, d.bob, d.carol):
        d.approve(demo_token, actor)
    return Currency(d, demo_token)


@pytest.fixture
def ether(d: Deployment) -> Currency:
    return Currency(d, None)


@pytest.fixture
def false_token(d: Deployment, helper_deployer: Any) -> Any:
    """An ERC-20 that returns false instead of reverting (once told to); Alice and Bob hold and approve it."""
    token = helper_deployer("FalseToken.vy").deploy()
    for actor in (d.alice, d.bob):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token


@pytest.fixture
def fee_token(d: Deployment, helper_deployer: Any) -> Any:
    """An ERC-20 that burns 1 % of every transfer; Alice and Bob hold and approve it."""
    token = helper_deployer("FeeOnTransferToken.vy").deploy()
    for actor in (d.alice, d.bob):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token


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


# --- deployment and parameters ------------------------------------------------------------------------------


def test_deployment(d: Deployment) -> None:
    m = d.market
    assert m.owner() == d.platform.address
    assert (m.fee_bps(), m.management_fee(), m.dispute_window()) == (FEE_BPS, 0, DISPUTE_WINDOW)
    assert (m.REGISTRY(), m.CATALOG()) == (d.registry.address, d.catalog.address)
    assert (m.MAX_FEE_BPS(), m.MIN_WINDOW(), m.MAX_WINDOW()) == (MAX_FEE_BPS, MIN_WINDOW, MAX_WINDOW)
    assert m.MAX_MANAGEMENT_FEE() == MAX_MANAGEMENT_FEE
    assert (m.listing_count(), m.order_count(), m.offer_count(), m.escrowed(ETHER)) == (0, 0, 0, 0)


@pytest.mark.parametrize("fee_bps", [0, MAX_FEE_BPS])
def test_constructor_accepts_fee_bounds(d: Deployment, market_deployer: Any, fee_bps: int) -> None:
    with d.env.prank(d.platform.address):
        market = market_deployer.deploy(d.registry.address, d.catalog.address, fee_bps)
    assert_event(market, "OwnershipTransferred", previous_owner=ZERO_ADDRESS, new_owner=d.platform.address)
    assert market.fee_bps() == fee_bps


def test_constructor_rejects_fee_too_high(d: Deployment, market_deployer: Any) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: fee too high"):
        market_deployer.deploy(d.registry.address, d.catalog.address, MAX_FEE_BPS + 1)


@pytest.mark.parametrize(
    ("fee_bps", "management_fee", "dispute_window"),
    [(0, 0, MIN_WINDOW), (MAX_FEE_BPS, MAX_MANAGEMENT_FEE, MAX_WINDOW), (100, MANAGEMENT_FEE, 86_400)],
)
def test_set_parameters(d: Deployment, fee_bps: int, management_fee: int, dispute_window: int) -> None:
    with d.env.prank(d.platform.address):
        d.market.set_parameters(fee_bps, management_fee, dispute_window)
    assert_event(
        d.market, "ParametersChanged", fee_bps=fee_bps, management_fee=management_fee, dispute_window=dispute_window
    )
    assert (d.market.fee_bps(), d.market.management_fee(), d.market.dispute_window()) == (
        fee_bps,
        management_fee,
        dispute_window,
    )


@pytest.mark.parametrize("pricing", ["fixed", "negotiated", "auction"])
@pytest.mark.parametrize(("listed_bps", "later_bps", "charged_bps"), [(FEE_BPS, MAX_FEE_BPS, FEE_BPS), (FEE_BPS, 0, 0)])
def test_fee_raised_under_an_open_listing_does_not_apply_to_it(
    d: Deployment, pricing: str, listed_bps: int, later_bps: int, charged_bps: int
) -> None:
    """A listing keeps the brokerage fee in force when it was made: a higher fee set later does not apply to its
    order, a lower one does; listings made after the change pay the new fee."""
    assert d.market.fee_bps() == listed_bps
    token_id = d.publish(d.alice)
    listing_id = call_list(d, pricing, token_id)
    assert d.market.listing_fee_bps(listing_id) == listed_bps
    with d.env.prank(d.platform.address):
        d.market.set_parameters(later_bps, 0, DISPUTE_WINDOW)
    listing = d.market.listing(listing_id)
    if pricing == "fixed":
        order_id = d.buy(d.bob, listing_id)
    elif pricing == "negotiated":
        offer_id = d.make_offer(d.bob, listing_id, listing.price)
        with d.env.prank(d.alice.address):
            order_id = d.market.accept_offer(offer_id)
    else:
        d.bid(d.bob, listing_id, listing.price)
        d.env.time_travel(seconds=DURATION)
        order_id = d.market.settle(listing_id)
    assert [(e.order_id, e.fee_bps) for e in events(d.market, "OrderPaid")] == [(order_id, charged_bps)]
    assert d.market.order(order_id).fee_bps == charged_bps
    later = call_list(d, "fixed", d.publish(d.alice))
    assert d.market.listing_fee_bps(later) == later_bps
    assert d.buy(d.carol, later) and d.market.order(order_id + 1).fee_bps == later_bps


@FUZZ
@given(listed=st.integers(min_value=0, max_value=MAX_FEE_BPS), later=st.integers(min_value=0, max_value=MAX_FEE_BPS))
def test_listing_fee_fuzz(d: Deployment, listed: int, later: int) -> None:
    """An order pays min(fee when listed, fee now), never more than the seller agreed to."""
    with d.env.anchor():
        with d.env.prank(d.platform.address):
            d.market.set_parameters(listed, 0, DISPUTE_WINDOW)
        token_id = d.publish(d.alice)
        listing_id = call_list(d, "fixed", token_id)
        with d.env.prank(d.platform.address):
            d.market.set_parameters(later, 0, DISPUTE_WINDOW)
        order_id = d.buy(d.bob, listing_id)
        assert d.market.order(order_id).fee_bps == min(listed, later)
        assert d.market.listing(listing_id).token_id == token_id  # the fee bits leave the token id intact


@pytest.mark.parametrize("who", ["supervisor", "alice", "mallory"])
def test_set_parameters_rejects_non_owner(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("ownable: caller is not the owner"):
        d.market.set_parameters(0, 0, DISPUTE_WINDOW)


@pytest.mark.parametrize("fee_bps", [MAX_FEE_BPS + 1, 2**256 - 1])
def test_set_parameters_rejects_fee_too_high(d: Deployment, fee_bps: int) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: fee too high"):
        d.market.set_parameters(fee_bps, 0, DISPUTE_WINDOW)


def test_set_parameters_rejects_management_fee_too_high(d: Deployment) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: management fee too high"):
        d.market.set_parameters(FEE_BPS, MAX_MANAGEMENT_FEE + 1, DISPUTE_WINDOW)


@pytest.mark.parametrize("window", [0, MIN_WINDOW - 1, MAX_WINDOW + 1])
def test_set_parameters_rejects_bad_dispute_window(d: Deployment, window: int) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: bad dispute window"):
        d.market.set_parameters(FEE_BPS, 0, window)


def test_brokerage_fee_is_fixed_when_the_order_opens(d: Deployment) -> None:
    _, _, first = ownership_order(d)
    set_parameters(d, fee_bps=MAX_FEE_BPS)
    _, _, second = ownership_order(d)
    assert (d.market.order(first).fee_bps, d.market.order(second).fee_bps) == (FEE_BPS, MAX_FEE_BPS)
    reach(d, first, OUTCOME_CONFIRMED)
    assert d.pending(d.platform) == FEE
    reach(d, second, OUTCOME_CONFIRMED)
    assert d.pending(d.platform) == FEE + PRICE * MAX_FEE_BPS // 10_000


def test_management_fee_is_charged_on_later_listings(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    with d.env.prank(d.alice.address), boa.reverts("market: wrong value"):
        d.market.list(token_id, PRICE, 0, ETHER, DELIVERY_WINDOW, CONFIRM_WINDOW)
    d.list_token(d.alice, token_id)
    assert d.pending(d.platform) == MANAGEMENT_FEE
    d.assert_solvent()


def test_dispute_window_applies_to_later_disputes(d: Deployment) -> None:
    _, _, first = disputed(d)
    set_parameters(d, dispute_window=MIN_WINDOW)
    _, _, second = disputed(d)
    now = d.env.timestamp
    assert d.market.order(second).deadline == now + MIN_WINDOW
    assert d.market.order(first).deadline > now + MIN_WINDOW


def test_transfer_ownership_moves_fees_and_arbitration(d: Deployment) -> None:
    _, _, first = ownership_order(d)
    reach(d, first, OUTCOME_CONFIRMED)  # fee owed to the old platform account
    _, _, second = disputed(d)
    treasury = make_account("treasury")
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(treasury.address)
    assert_event(d.market, "OwnershipTransferred", previous_owner=d.platform.address, new_owner=treasury.address)
    with d.env.prank(d.platform.address), boa.reverts("ownable: caller is not the owner"):
        d.market.resolve(second, RULING_FOR_SELLER, EVIDENCE_HASH)
    with d.env.prank(treasury.address):
        d.market.resolve(second, RULING_FOR_SELLER, EVIDENCE_HASH)
    assert d.pending(treasury.address) == FEE  # fees go to whoever owns the market at settlement
    assert d.pending(d.platform) == FEE  # what was owed before stays owed
    d.assert_solvent(extra=(treasury,))


def test_transfer_ownership_rejects_non_owner(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("ownable: caller is not the owner"):
        d.market.transfer_ownership(d.alice.address)


# --- list / list_negotiable / list_auction (ownership) ------------------------------------------------------


@pytest.mark.parametrize(
    ("pricing", "code"), [("fixed", PRICING_FIXED), ("negotiated", PRICING_NEGOTIATED), ("auction", PRICING_AUCTION)]
)
def test_list_ownership_escrows_collateral_and_fee_and_takes_custody(d: Deployment, pricing: str, code: int) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    token_id = d.publish(d.alice)
    alice_before = d.balance(d.alice)
    listing_id = call_list(d, pricing, token_id, collateral=COLLATERAL)

    assert_event(
        d.market,
        "Listed",
        listing_id=1,
        token_id=token_id,
        seller=d.alice.address,
        kind=KIND_OWNERSHIP,
        pricing=code,
        price=PRICE,
        collateral=COLLATERAL,
        payment_token=ETHER,
        delivery_window=DELIVERY_WINDOW,
        confirm_window=CONFIRM_WINDOW,
        management_fee=MANAGEMENT_FEE,
    )
    if pricing == "auction":
        assert_event(
            d.market, "AuctionOpened", listing_id=1, min_increment=INCREMENT, end_time=d.env.timestamp + DURATION
        )
        assert tuple(d.market.auctions(1)) == (d.env.timestamp + DURATION, INCREMENT, ZERO_ADDRESS, 0)
    else:
        assert_no_event(d.market, "AuctionOpened")
    assert (listing_id, d.market.listing_count()) == (1, 1)
    assert tuple(d.market.listing(1)) == (
        d.alice.address,
        token_id,
        KIND_OWNERSHIP,
        code,
        LISTING_ACTIVE,
        PRICE,
        COLLATERAL,
        ETHER,
        DELIVERY_WINDOW,
        CONFIRM_WINDOW,
        0,
    )
    assert d.catalog.ownerOf(token_id) == d.market.address
    assert d.market.escrowed(ETHER) == COLLATERAL
    assert d.pending(d.platform) == MANAGEMENT_FEE
    assert d.balance(d.alice) == alice_before - MANAGEMENT_FEE - COLLATERAL
    assert d.balance(d.market) == MANAGEMENT_FEE + COLLATERAL
    d.assert_solvent()


@pytest.mark.parametrize("pricing", PRICINGS)
def test_list_ownership_in_token_pulls_the_collateral(d: Deployment, demo_token: Any, pricing: str) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    d.approve(demo_token, d.alice)
    token_id = d.publish(d.alice)
    listing_id = call_list(d, pricing, token_id, collateral=COLLATERAL, payment_token=demo_token.address)

    (listed,) = [e for e in d.market.get_logs() if type(e).__name__ == "Listed"]
    assert (listed.payment_token, listed.collateral, listed.management_fee) == (
        demo_token.address,
        COLLATERAL,
        MANAGEMENT_FEE,
    )
    assert d.market.listing(listing_id).payment_token == demo_token.address
    assert demo_token.balanceOf(d.alice.address) == TOKEN_START_BALANCE - COLLATERAL
    assert demo_token.balanceOf(d.market.address) == COLLATERAL
    assert d.market.escrowed(demo_token.address) == COLLATERAL
    assert (d.market.escrowed(ETHER), d.pending(d.platform)) == (0, MANAGEMENT_FEE)  # the fee is in ether
    d.assert_solvent(demo_token)


@pytest.mark.parametrize("window", [MIN_WINDOW, MAX_WINDOW])
def test_list_accepts_window_bounds(d: Deployment, window: int) -> None:
    token_id = d.publish(d.alice)
    listing_id = call_list(d, "fixed", token_id, price=1, delivery_window=window, confirm_window=window)
    listing = d.market.listing(listing_id)
    assert (listing.price, listing.delivery_window, listing.confirm_window) == (1, window, window)


@pytest.mark.parametrize("pricing", PRICINGS)
@pytest.mark.parametrize("status", [STATUS_SUSPENDED, STATUS_TO_AUDIT])
def test_list_rejects_seller_not_audited(d: Deployment, pricing: str, status: int) -> None:
    token_id = d.publish(d.alice)
    d.set_status(d.acme_id, status)
    with boa.reverts("market: seller not audited"):
        call_list(d, pricing, token_id)


@pytest.mark.parametrize("holder", ["dave", "erin", "mallory"])
def test_list_rejects_unaudited_holder_of_a_token(d: Deployment, holder: str) -> None:
    """A data NFT given to a non-audited account cannot be sold on by it."""
    account = getattr(d, holder)
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address):
        d.catalog.transferFrom(d.alice.address, account.address, token_id)
    with boa.reverts("market: seller not audited"):
        call_list(d, "fixed", token_id, seller=account)


@pytest.mark.parametrize("pricing", PRICINGS)
def test_list_rejects_token_of_someone_else(d: Deployment, pricing: str) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("market: not token owner"):
        call_list(d, pricing, token_id, seller=d.bob)


def test_list_rejects_token_already_listed(d: Deployment) -> None:
    token_id, _ = d.publish_and_list(d.alice)
    with boa.reverts("market: not token owner"):
        call_list(d, "auction", token_id)


@pytest.mark.parametrize("pricing", PRICINGS)
def test_list_rejects_zero_price(d: Deployment, pricing: str) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("market: zero price"):
        call_list(d, pricing, token_id, price=0)


@pytest.mark.parametrize("pricing", PRICINGS)
@pytest.mark.parametrize("window", [MIN_WINDOW - 1, MAX_WINDOW + 1])
def test_list_rejects_bad_delivery_window(d: Deployment, pricing: str, window: int) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("market: bad delivery window"):
        call_list(d, pricing, token_id, delivery_window=window)


@pytest.mark.parametrize("pricing", PRICINGS)
@pytest.mark.parametrize("window", [MIN_WINDOW - 1, MAX_WINDOW + 1])
def test_list_rejects_bad_confirm_window(d: Deployment, pricing: str, window: int) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("market: bad confirm window"):
        call_list(d, pricing, token_id, confirm_window=window)


@pytest.mark.parametrize("pricing", PRICINGS)
def test_list_rejects_payment_token_not_a_contract(d: Deployment, pricing: str) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("escrow: token not a contract"):
        call_list(d, pricing, token_id, payment_token=d.mallory.address)


@pytest.mark.parametrize("pricing", PRICINGS)
@pytest.mark.parametrize("delta", [-1, 1])
def test_list_rejects_wrong_value_in_ether(d: Deployment, pricing: str, delta: int) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    token_id = d.publish(d.alice)
    with boa.reverts("market: wrong value"):
        call_list(d, pricing, token_id, collateral=COLLATERAL, value=MANAGEMENT_FEE + COLLATERAL + delta)
    assert d.catalog.ownerOf(token_id) == d.alice.address


@pytest.mark.parametrize("pricing", PRICINGS)
def test_list_rejects_ether_collateral_with_a_token_listing(d: Deployment, demo_token: Any, pricing: str) -> None:
    d.approve(demo_token, d.alice)
    token_id = d.publish(d.alice)
    with boa.reverts("market: wrong value"):
        call_list(d, pricing, token_id, collateral=COLLATERAL, payment_token=demo_token.address, value=COLLATERAL)


def test_list_rejects_collateral_token_returning_false(d: Deployment, false_token: Any) -> None:
    token_id = d.publish(d.alice)
    false_token.set_refuse(True)
    with boa.reverts("escrow: token transfer failed"):
        call_list(d, "fixed", token_id, collateral=COLLATERAL, payment_token=false_token.address)
    assert d.market.listing_count() == 0


def test_list_rejects_fee_on_transfer_collateral_token(d: Deployment, fee_token: Any) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("escrow: token transfer short"):
        call_list(d, "negotiated", token_id, collateral=COLLATERAL, payment_token=fee_token.address)
    assert fee_token.balanceOf(d.market.address) == 0


def test_list_rejects_collateral_without_allowance(d: Deployment, demo_token: Any) -> None:
    token_id = d.publish(d.alice)
    with boa.reverts("erc20: insufficient allowance"):
        call_list(d, "fixed", token_id, collateral=COLLATERAL, payment_token=demo_token.address)


def test_list_without_nft_approval_reverts_and_keeps_nothing(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with boa.reverts("erc721: caller is not token owner or approved"):
        call_list(d, "fixed", token_id, collateral=COLLATERAL)
    assert d.market.listing_count() == 0
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.balance(d.market) == 0


def test_list_auction_rejects_zero_increment(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: zero increment"):
        d.market.list_auction(token_id, RESERVE, 0, DURATION, 0, ETHER, DELIVERY_WINDOW, CONFIRM_WINDOW)


@pytest.mark.parametrize("duration", [0, MIN_WINDOW - 1, MAX_WINDOW + 1])
def test_list_auction_rejects_bad_duration(d: Deployment, duration: int) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: bad duration"):
        d.market.list_auction(token_id, RESERVE, INCREMENT, duration, 0, ETHER, DELIVERY_WINDOW, CONFIRM_WINDOW)


# --- cancel -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pricing", PRICINGS)
def test_cancel_returns_the_token_and_the_collateral(d: Deployment, cur: Currency, pricing: str) -> None:
    token_id = d.publish(d.alice)
    listing_id = call_list(d, pricing, token_id, collateral=COLLATERAL, payment_token=cur.address)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)

    assert_event(d.market, "ListingCancelled", listing_id=listing_id, token_id=token_id, seller=d.alice.address)
    assert d.market.listing(listing_id).state == LISTING_CANCELLED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert (cur.pending(d.alice), cur.escrowed()) == (COLLATERAL, 0)
    d.assert_solvent(*cur.tokens)
    assert d.list_token(d.alice, token_id) == listing_id + 1  # can be listed again


def test_cancel_works_for_suspended_seller(d: Deployment) -> None:
    """Suspension must not trap the NFT or the collateral in the market."""
    token_id, listing_id = d.publish_and_list(d.alice, collateral=COLLATERAL)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.pending(d.alice) == COLLATERAL


def test_cancel_auction_without_bids_after_its_end(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    listing_id = d.list_auction(d.alice, token_id)
    d.env.time_travel(seconds=DURATION + 1)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_cancel_rejects_not_seller(d: Deployment, who: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.cancel(listing_id)


def test_cancel_rejects_unknown_listing(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("market: not seller"):
        d.market.cancel(7)


@pytest.mark.parametrize("stage", ["cancelled", "pending", "sold", "closed"])
def test_cancel_rejects_listing_not_active(d: Deployment, stage: str) -> None:
    if stage == "cancelled":
        _, listing_id = d.publish_and_list(d.alice)
        with d.env.prank(d.alice.address):
            d.market.cancel(listing_id)
    else:
        _, listing_id, order_id = ownership_order(d)
        if stage != "pending":
            reach(d, order_id, OUTCOME_CONFIRMED if stage == "sold" else OUTCOME_NOT_DELIVERED)
    with d.env.prank(d.alice.address), boa.reverts("market: listing not active"):
        d.market.cancel(listing_id)


def test_cancel_rejects_auction_with_bids(d: Deployment) -> None:
    listing_id = d.list_auction(d.alice, d.publish(d.alice))
    d.bid(d.bob, listing_id, RESERVE)
    with d.env.prank(d.alice.address), boa.reverts("market: auction has bids"):
        d.market.cancel(listing_id)


# --- buy (fixed price) --------------------------------------------------------------------------------------


def test_buy_escrows_price_and_collateral(d: Deployment, cur: Currency) -> None:
    token_id = d.publish(d.alice)
    listing_id = d.list_token(d.alice, token_id, collateral=COLLATERAL, payment_token=cur.address, **WINDOWS)
    bob_before = cur.held(d.bob)
    now = d.env.timestamp
    with d.env.prank(d.bob.address):
        order_id = d.market.buy(listing_id, value=cur.value(PRICE + COLLATERAL))

    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=PRICE,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=now + DELIVERY_WINDOW,
    )
    assert (order_id, d.market.order_count()) == (1, 1)
    assert tuple(d.market.order(1)) == (
        listing_id,
        d.bob.address,
        PRICE,
        ORDER_PAID,
        FEE_BPS,
        now + DELIVERY_WINDOW,
        0,
        0,
    )
    assert tuple(d.market.order_parties(1)) == (d.bob.address, d.alice.address, ORDER_PAID, False, True)
    assert d.market.order(1).queries_total == 0  # the organisations bit is not a query count
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert cur.escrowed() == PRICE + 2 * COLLATERAL
    assert cur.held(d.market) == PRICE + 2 * COLLATERAL
    assert cur.held(d.bob) == bob_before - PRICE - COLLATERAL
    assert d.catalog.ownerOf(token_id) == d.market.address
    d.assert_solvent(*cur.tokens)


def test_buy_by_member_of_the_same_organisation(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    assert d.buy(d.carol, listing_id) == 1


@pytest.mark.parametrize("kind", ["negotiated", "auction", "unknown"])
def test_buy_rejects_listing_not_a_fixed_price_sale(d: Deployment, kind: str) -> None:
    token_id = d.publish(d.alice)
    listing_id = 99 if kind == "unknown" else call_list(d, kind, token_id)
    with d.env.prank(d.bob.address), boa.reverts("market: not a fixed-price sale"):
        d.market.buy(listing_id, value=PRICE)


@pytest.mark.parametrize("stage", ["pending", "cancelled", "sold", "closed"])
def test_buy_rejects_listing_not_active(d: Deployment, stage: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    if stage == "cancelled":
        with d.env.prank(d.alice.address):
            d.market.cancel(listing_id)
    else:
        order_id = d.buy(d.bob, listing_id)
        if stage != "pending":
            reach(d, order_id, OUTCOME_CONFIRMED if stage == "sold" else OUTCOME_NOT_DELIVERED)
    with d.env.prank(d.carol.address), boa.reverts("market: listing not active"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_own_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: own listing"):
        d.market.buy(listing_id, value=PRICE)


@pytest.mark.parametrize("buyer", ["dave", "erin", "mallory", "platform", "supervisor"])
def test_buy_rejects_buyer_not_audited(d: Deployment, buyer: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(getattr(d, buyer).address), boa.reverts("market: buyer not audited"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_seller_suspended_after_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.buy(listing_id, value=PRICE)
    d.set_status(d.acme_id, STATUS_AUDITED)
    assert d.buy(d.bob, listing_id) == 1


@pytest.mark.parametrize("value", [0, PRICE, PRICE + COLLATERAL - 1, PRICE + COLLATERAL + 1])
def test_buy_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = d.publish_and_list(d.alice, collateral=COLLATERAL)
    bob_before = d.balance(d.bob)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.buy(listing_id, value=value)
    assert d.balance(d.bob) == bob_before
    assert d.market.listing(listing_id).state == LISTING_ACTIVE


def test_buy_rejects_ether_for_a_token_listing(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = d.publish_and_list(d.alice, payment_token=demo_token.address)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_token_returning_false(d: Deployment, false_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=false_token.address)  # no collateral to pull
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.buy(listing_id)


def test_buy_rejects_fee_on_transfer_token(d: Deployment, fee_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=fee_token.address)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer short"):
        d.market.buy(listing_id)
    assert d.market.escrowed(fee_token.address) == 0


def test_buy_rejects_payment_without_allowance(d: Deployment, demo_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=demo_token.address)
    with d.env.prank(d.bob.address), boa.reverts("erc20: insufficient allowance"):
        d.market.buy(listing_id)


# --- negotiation: make_offer / counter_offer / accept_offer / accept_counter / reject_offer / withdraw_offer


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


def test_make_offer_escrows_amount_and_collateral(d: Deployment, cur: Currency) -> None:
    _, listing_id = negotiable(d, cur)
    bob_before = cur.held(d.bob)
    expiry = d.env.timestamp + 86_400
    amount = PRICE * 9 // 10
    with d.env.prank(d.bob.address):
        offer_id = d.market.make_offer(listing_id, amount, expiry, value=cur.value(amount + COLLATERAL))

    assert_event(
        d.market, "OfferMade", offer_id=1, listing_id=listing_id, buyer=d.bob.address, amount=amount, expiry=expiry
    )
    assert (offer_id, d.market.offer_count()) == (1, 1)
    assert tuple(d.market.offers(1)) == (listing_id, d.bob.address, amount, 0, expiry, OFFER_OPEN)
    assert cur.held(d.bob) == bob_before - amount - COLLATERAL
    assert cur.escrowed() == COLLATERAL + amount + COLLATERAL
    assert d.market.listing(listing_id).state == LISTING_ACTIVE  # other buyers may still offer
    assert d.make_offer(d.carol, listing_id, PRICE) == 2
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("expiry_offset", [1, MAX_WINDOW])
def test_make_offer_accepts_expiry_bounds(d: Deployment, expiry_offset: int) -> None:
    _, listing_id = negotiable(d)
    offer_id = d.make_offer(d.bob, listing_id, PRICE, d.env.timestamp + expiry_offset)
    assert d.market.offers(offer_id).expiry == d.env.timestamp + expiry_offset


@pytest.mark.parametrize("kind", ["fixed", "auction"])
def test_make_offer_rejects_listing_not_negotiable(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with d.env.prank(d.bob.address), boa.reverts("market: not negotiable"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE)


def test_make_offer_rejects_listing_not_active(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("alice", "market: own listing"),
        ("erin", "market: buyer not audited"),
        ("dave", "market: buyer not audited"),
    ],
)
def test_make_offer_rejects_ineligible_buyer(d: Deployment, who: str, message: str) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


def test_make_offer_rejects_seller_suspended(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


def test_make_offer_rejects_zero_amount(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: zero amount"):
        d.market.make_offer(listing_id, 0, d.env.timestamp + 60, value=COLLATERAL)


@pytest.mark.parametrize("expiry_offset", [0, -1, MAX_WINDOW + 1])
def test_make_offer_rejects_bad_expiry(d: Deployment, expiry_offset: int) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: bad expiry"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + expiry_offset, value=PRICE + COLLATERAL)


@pytest.mark.parametrize("value", [0, PRICE, PRICE + COLLATERAL + 1])
def test_make_offer_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=value)


def test_make_offer_rejects_ether_for_a_token_listing(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = negotiable(d, Currency(d, demo_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE)


def test_make_offer_rejects_fee_on_transfer_token(d: Deployment, fee_token: Any) -> None:
    _, listing_id = negotiable(d, Currency(d, fee_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer short"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60)


def test_counter_offer(d: Deployment) -> None:
    listing_id, offer_id = offer(d, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, PRICE)
    assert_event(d.market, "OfferCountered", offer_id=offer_id, listing_id=listing_id, counter=PRICE)
    stored = d.market.offers(offer_id)
    assert (stored.amount, stored.counter, stored.state) == (PRICE // 2, PRICE, OFFER_COUNTERED)
    with d.env.prank(d.alice.address):  # the seller may change its counter
        d.market.counter_offer(offer_id, PRICE * 3 // 4)
    assert_event(d.market, "OfferCountered", offer_id=offer_id, listing_id=listing_id, counter=PRICE * 3 // 4)
    assert d.market.offers(offer_id).counter == PRICE * 3 // 4
    assert d.market.escrowed(ETHER) == COLLATERAL + PRICE // 2 + COLLATERAL  # nothing moves on a counter


@pytest.mark.parametrize("stage", ["unknown", "withdrawn", "rejected", "accepted"])
def test_counter_offer_rejects_offer_not_open(d: Deployment, stage: str) -> None:
    _, offer_id = offer(d)
    if stage == "unknown":
        offer_id += 1
    else:
        who, call = {
            "withdrawn": (d.bob, d.market.withdraw_offer),
            "rejected": (d.alice, d.market.reject_offer),
            "accepted": (d.alice, d.market.accept_offer),
        }[stage]
        with d.env.prank(who.address):
            call(offer_id)
    with d.env.prank(d.alice.address), boa.reverts("market: offer not open"):
        d.market.counter_offer(offer_id, 2 * PRICE)


def test_counter_offer_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: offer expired"):
        d.market.counter_offer(offer_id, 2 * PRICE)


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_counter_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.counter_offer(offer_id, 2 * PRICE)


def test_counter_offer_rejects_listing_not_active(d: Deployment) -> None:
    listing_id, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
        with boa.reverts("market: listing not active"):
            d.market.counter_offer(offer_id, 2 * PRICE)


@pytest.mark.parametrize("counter", [0, PRICE])
def test_counter_offer_rejects_bad_counter(d: Deployment, counter: int) -> None:
    _, offer_id = offer(d, PRICE)
    with d.env.prank(d.alice.address), boa.reverts("market: bad counter"):
        d.market.counter_offer(offer_id, counter)


def test_accept_offer_opens_an_order_at_the_offered_amount(d: Deployment, cur: Currency) -> None:
    amount = PRICE * 9 // 10
    listing_id, offer_id = offer(d, amount, cur)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, PRICE)  # the seller may still take the original amount
        order_id = d.market.accept_offer(offer_id)

    assert_event(d.market, "OfferAccepted", offer_id=offer_id, order_id=1, price=amount)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=amount,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.offers(offer_id).state == OFFER_ACCEPTED
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert (d.market.order(1).amount, d.market.order(1).state) == (amount, ORDER_PAID)
    assert cur.escrowed() == amount + 2 * COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_accept_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.bob.address):
        d.market.withdraw_offer(offer_id)
    with d.env.prank(d.alice.address), boa.reverts("market: offer not open"):
        d.market.accept_offer(offer_id)


def test_accept_offer_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: offer expired"):
        d.market.accept_offer(offer_id)


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_accept_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.accept_offer(offer_id)


def test_accept_offer_rejects_second_offer_once_one_is_accepted(d: Deployment) -> None:
    listing_id, first = offer(d)
    second = d.make_offer(d.carol, listing_id, 2 * PRICE)
    with d.env.prank(d.alice.address):
        d.market.accept_offer(first)
        with boa.reverts("market: listing not active"):
            d.market.accept_offer(second)
    with d.env.prank(d.carol.address):  # the losing buyer gets its escrow back
        d.market.withdraw_offer(second)
    assert d.pending(d.carol) == 2 * PRICE + COLLATERAL
    d.assert_solvent()


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_accept_counter(d: Deployment, cur: Currency, direction: str) -> None:
    """A higher counter is topped up by the buyer; a lower one leaves the difference owed back to it."""
    amount, counter = (PRICE // 2, PRICE) if direction == "higher" else (PRICE, PRICE // 2)
    listing_id, offer_id = countered(d, amount, counter, cur)
    bob_before = cur.held(d.bob)
    top_up = max(counter - amount, 0)
    with d.env.prank(d.bob.address):
        order_id = d.market.accept_counter(offer_id, counter, value=cur.value(top_up))

    assert_event(d.market, "OfferAccepted", offer_id=offer_id, order_id=1, price=counter)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=counter,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.offers(offer_id).state == OFFER_ACCEPTED
    assert d.market.order(1).amount == counter
    assert cur.held(d.bob) == bob_before - top_up
    assert cur.pending(d.bob) == max(amount - counter, 0)
    assert cur.escrowed() == counter + 2 * COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_accept_counter_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
    with d.env.prank(d.bob.address), boa.reverts("market: offer not open"):
        d.market.accept_counter(offer_id, PRICE // 2)


def test_accept_counter_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.bob.address), boa.reverts("market: offer expired"):
        d.market.accept_counter(offer_id, PRICE // 2)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_accept_counter_rejects_not_offer_buyer(d: Deployment, who: str) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not offer buyer"):
        d.market.accept_counter(offer_id, PRICE // 2)


def test_accept_counter_rejects_offer_without_counter(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.bob.address), boa.reverts("market: no counter"):
        d.market.accept_counter(offer_id, 0)


def test_accept_counter_rejects_listing_not_active(d: Deployment) -> None:
    listing_id, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.accept_counter(offer_id, PRICE // 2)


@pytest.mark.parametrize(("amount", "counter", "value"), [(PRICE // 2, PRICE, 0), (PRICE, PRICE // 2, 1)])
def test_accept_counter_rejects_wrong_value(d: Deployment, amount: int, counter: int, value: int) -> None:
    _, offer_id = countered(d, amount, counter)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.accept_counter(offer_id, counter, value=value)


def test_accept_counter_rejects_ether_top_up_of_a_token_offer(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.alice)
    d.approve(demo_token, d.bob)
    _, offer_id = countered(d, PRICE // 2, PRICE, Currency(d, demo_token))
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.accept_counter(offer_id, PRICE, value=PRICE // 2)


@pytest.mark.parametrize("expected", [PRICE // 2 - 1, PRICE // 2 + 1, PRICE, 0])
def test_accept_counter_rejects_counter_changed(d: Deployment, expected: int) -> None:
    """The buyer names the counter it accepts: any other counter (the seller countered again) is refused."""
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.bob.address), boa.reverts("market: counter changed"):
        d.market.accept_counter(offer_id, expected)


def test_accept_counter_refuses_a_front_running_counter(d: Deployment, demo_token: Any) -> None:
    """A buyer with a standing ERC-20 allowance accepts the counter it read; the seller's higher counter mined
    first makes the acceptance revert instead of charging the new price."""
    d.approve(demo_token, d.alice)
    d.approve(demo_token, d.bob)  # a standing allowance well above the counter
    cur = Currency(d, demo_token)
    _, offer_id = countered(d, PRICE // 2, 3 * PRICE // 4, cur)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, 10 * PRICE)  # the front-runner
    held = cur.held(d.bob)
    with d.env.prank(d.bob.address), boa.reverts("market: counter changed"):
        d.market.accept_counter(offer_id, 3 * PRICE // 4)
    assert cur.held(d.bob) == held and d.market.offers(offer_id).state == OFFER_COUNTERED
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("expired", [False, True])
def test_reject_offer_returns_the_escrow(d: Deployment, cur: Currency, expired: bool) -> None:
    listing_id, offer_id = offer(d, PRICE, cur)
    if expired:
        d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
    assert_event(d.market, "OfferClosed", offer_id=offer_id, by=d.alice.address, rejected=True)
    assert d.market.offers(offer_id).state == OFFER_REJECTED
    assert cur.pending(d.bob) == PRICE + COLLATERAL
    assert cur.escrowed() == COLLATERAL  # the seller's collateral stays with the listing
    assert d.market.listing(listing_id).state == LISTING_ACTIVE
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_reject_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.reject_offer(offer_id)


def test_reject_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
        with boa.reverts("market: offer not open"):
            d.market.reject_offer(offer_id)
    assert d.pending(d.bob) == PRICE + COLLATERAL  # paid back once


@pytest.mark.parametrize("by", ["buyer", "stranger-after-expiry"])
def test_withdraw_offer_returns_the_escrow(d: Deployment, cur: Currency, by: str) -> None:
    _, offer_id = countered(d, PRICE, PRICE * 2, cur)
    caller = d.bob
    if by != "buyer":
        d.env.time_travel(seconds=86_400 + 1)
        caller = d.mallory
    with d.env.prank(caller.address):
        d.market.withdraw_offer(offer_id)
    assert_event(d.market, "OfferClosed", offer_id=offer_id, by=caller.address, rejected=False)
    assert d.market.offers(offer_id).state == OFFER_WITHDRAWN
    assert (cur.pending(d.bob), cur.pending(d.mallory)) == (PRICE + COLLATERAL, 0)
    assert cur.escrowed() == COLLATERAL
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("who", ["alice", "carol", "mallory"])
def test_withdraw_offer_rejects_not_offer_buyer_before_expiry(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400)  # at the expiry: still live
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not offer buyer"):
        d.market.withdraw_offer(offer_id)


def test_withdraw_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.accept_offer(offer_id)
    with d.env.prank(d.bob.address), boa.reverts("market: offer not open"):
        d.market.withdraw_offer(offer_id)


# --- auction: bid / settle ----------------------------------------------------------------------------------


def auction(d: Deployment, cur: Currency | None = None, collateral: int = COLLATERAL) -> tuple[int, int]:
    token_id = d.publish(d.alice)
    payment_token = ETHER if cur is None else cur.address
    return token_id, d.list_auction(
        d.alice, token_id, RESERVE, INCREMENT, DURATION, collateral, payment_token, **WINDOWS
    )


def test_bid_escrows_and_outbid_bidder_is_refunded(d: Deployment, cur: Currency) -> None:
    _, listing_id = auction(d, cur)
    bob_before, carol_before = cur.held(d.bob), cur.held(d.carol)
    with d.env.prank(d.bob.address):
        d.market.bid(listing_id, RESERVE, value=cur.value(RESERVE + COLLATERAL))
    assert_event(
        d.market, "BidPlaced", listing_id=listing_id, bidder=d.bob.address, amount=RESERVE, outbid=ZERO_ADDRESS
    )
    end_time = d.market.auctions(listing_id).end_time
    assert tuple(d.market.auctions(listing_id)) == (end_time, INCREMENT, d.bob.address, RESERVE)
    assert cur.held(d.bob) == bob_before - RESERVE - COLLATERAL
    assert cur.escrowed() == COLLATERAL + RESERVE + COLLATERAL

    second = RESERVE + INCREMENT
    with d.env.prank(d.carol.address):
        d.market.bid(listing_id, second, value=cur.value(second + COLLATERAL))
    assert_event(
        d.market, "BidPlaced", listing_id=listing_id, bidder=d.carol.address, amount=second, outbid=d.bob.address
    )
    assert tuple(d.market.auctions(listing_id)) == (end_time, INCREMENT, d.carol.address, second)
    assert cur.pending(d.bob) == RESERVE + COLLATERAL
    assert cur.held(d.carol) == carol_before - second - COLLATERAL
    assert cur.escrowed() == COLLATERAL + second + COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_bidder_may_raise_its_own_bid(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    d.bid(d.bob, listing_id, RESERVE + INCREMENT)
    assert_event(
        d.market,
        "BidPlaced",
        listing_id=listing_id,
        bidder=d.bob.address,
        amount=RESERVE + INCREMENT,
        outbid=d.bob.address,
    )
    assert d.pending(d.bob) == RESERVE + COLLATERAL


@pytest.mark.parametrize("kind", ["fixed", "negotiated"])
def test_bid_rejects_listing_not_an_auction(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with d.env.prank(d.bob.address), boa.reverts("market: not an auction"):
        d.market.bid(listing_id, RESERVE, value=RESERVE)


def test_bid_rejects_at_the_auction_end(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - 1)
    d.bid(d.bob, listing_id, RESERVE)  # last second: the end moves AUCTION_EXTENSION seconds after it
    d.env.time_travel(seconds=AUCTION_EXTENSION)
    with d.env.prank(d.carol.address), boa.reverts("market: auction ended"):
        d.market.bid(listing_id, 2 * RESERVE, value=2 * RESERVE + COLLATERAL)


def test_auction_extension_is_ten_minutes(d: Deployment) -> None:
    assert d.market.AUCTION_EXTENSION() == AUCTION_EXTENSION == 600


@pytest.mark.parametrize("before_end", [1, AUCTION_EXTENSION // 2, AUCTION_EXTENSION - 1])
def test_bid_in_the_last_minutes_extends_the_auction(d: Deployment, before_end: int) -> None:
    """Soft close: a bid less than AUCTION_EXTENSION seconds before the end moves the end to that long after the
    bid, so an outbid bidder can still answer; settling before the new end is refused."""
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - before_end)
    d.bid(d.bob, listing_id, RESERVE)
    new_end = d.env.timestamp + AUCTION_EXTENSION
    assert_event(d.market, "AuctionExtended", listing_id=listing_id, end_time=new_end)
    assert d.market.auctions(listing_id).end_time == new_end
    d.env.time_travel(seconds=before_end)  # past the original end
    with boa.reverts("market: auction not ended"):
        d.market.settle(listing_id)
    d.bid(d.carol, listing_id, RESERVE + INCREMENT)  # the answer, itself within the window: extends again
    assert_event(d.market, "AuctionExtended", listing_id=listing_id, end_time=d.env.timestamp + AUCTION_EXTENSION)
    d.env.time_travel(seconds=AUCTION_EXTENSION)
    assert d.market.settle(listing_id) == 1
    assert d.market.order(1).buyer == d.carol.address


@pytest.mark.parametrize("before_end", [AUCTION_EXTENSION, AUCTION_EXTENSION + 1, DURATION])
def test_bid_before_the_last_minutes_keeps_the_end(d: Deployment, before_end: int) -> None:
    _, listing_id = auction(d)
    end_time = d.market.auctions(listing_id).end_time
    d.env.time_travel(seconds=DURATION - before_end)
    d.bid(d.bob, listing_id, RESERVE)
    assert_no_event(d.market, "AuctionExtended")
    assert d.market.auctions(listing_id).end_time == end_time


@FUZZ
@given(offsets=st.lists(st.integers(min_value=0, max_value=2 * AUCTION_EXTENSION), min_size=1, max_size=6))
def test_soft_close_fuzz(d: Deployment, offsets: list[int]) -> None:
    """Whatever the bids' timing, the end is never earlier than AUCTION_EXTENSION after the last bid nor earlier
    than the original end, and never moves unless a bid came within AUCTION_EXTENSION of it."""
    with d.env.anchor():
        _, listing_id = auction(d)
        end_time = original_end = d.market.auctions(listing_id).end_time
        d.env.time_travel(seconds=DURATION - AUCTION_EXTENSION)
        amount = RESERVE
        for i, offset in enumerate(offsets):
            if d.env.timestamp + offset >= end_time:
                break
            d.env.time_travel(seconds=offset)
            d.bid((d.bob, d.carol)[i % 2], listing_id, amount)
            if end_time - d.env.timestamp < AUCTION_EXTENSION:
                end_time = d.env.timestamp + AUCTION_EXTENSION
            assert d.market.auctions(listing_id).end_time == end_time
            assert end_time - d.env.timestamp >= AUCTION_EXTENSION and end_time >= original_end
            amount += INCREMENT
        d.env.time_travel(seconds=end_time - d.env.timestamp - 1)
        with boa.reverts("market: auction not ended"):
            d.market.settle(listing_id)
        d.env.time_travel(seconds=1)
        d.market.settle(listing_id)
        d.assert_solvent()


def test_bid_rejects_cancelled_auction(d: Deployment) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


@pytest.mark.parametrize(
    ("who", "message"),
    [("alice", "market: own listing"), ("erin", "market: buyer not audited"), ("mallory", "market: buyer not audited")],
)
def test_bid_rejects_ineligible_bidder(d: Deployment, who: str, message: str) -> None:
    _, listing_id = auction(d)
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


def test_bid_rejects_seller_suspended(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


def test_bid_rejects_below_reserve(d: Deployment) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.bob.address), boa.reverts("market: below reserve"):
        d.market.bid(listing_id, RESERVE - 1, value=RESERVE - 1 + COLLATERAL)


@pytest.mark.parametrize("raise_by", [0, INCREMENT - 1])
def test_bid_rejects_raise_below_the_increment(d: Deployment, raise_by: int) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    amount = RESERVE + raise_by
    with d.env.prank(d.carol.address), boa.reverts("market: bid too low"):
        d.market.bid(listing_id, amount, value=amount + COLLATERAL)


@pytest.mark.parametrize("value", [RESERVE, RESERVE + COLLATERAL + 1])
def test_bid_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.bid(listing_id, RESERVE, value=value)


def test_bid_rejects_ether_for_a_token_auction(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = auction(d, Currency(d, demo_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.bid(listing_id, RESERVE, value=RESERVE)


def test_bid_rejects_token_returning_false(d: Deployment, false_token: Any) -> None:
    _, listing_id = auction(d, Currency(d, false_token), collateral=0)
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.bid(listing_id, RESERVE)


def test_settle_turns_the_highest_bid_into_an_order(d: Deployment, cur: Currency) -> None:
    token_id, listing_id = auction(d, cur)
    d.bid(d.bob, listing_id, RESERVE)
    d.bid(d.carol, listing_id, RESERVE + INCREMENT)
    d.env.time_travel(seconds=DURATION)  # exactly at the end
    with d.env.prank(d.mallory.address):
        order_id = d.market.settle(listing_id)

    amount = RESERVE + INCREMENT
    assert_event(d.market, "AuctionSettled", listing_id=listing_id, winner=d.carol.address, amount=amount, order_id=1)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.carol.address,
        amount=amount,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert (d.market.order(1).buyer, d.market.order(1).amount) == (d.carol.address, amount)
    assert cur.escrowed() == amount + 2 * COLLATERAL
    assert cur.pending(d.bob) == RESERVE + COLLATERAL
    assert d.catalog.ownerOf(token_id) == d.market.address
    d.assert_solvent(*cur.tokens)


def test_settle_without_bids_closes_and_returns_token_and_collateral(d: Deployment, cur: Currency) -> None:
    token_id, listing_id = auction(d, cur)
    d.env.time_travel(seconds=DURATION)
    with d.env.prank(d.mallory.address):
        order_id = d.market.settle(listing_id)
    assert_event(d.market, "AuctionSettled", listing_id=listing_id, winner=ZERO_ADDRESS, amount=0, order_id=0)
    assert_no_event(d.market, "OrderPaid")
    assert order_id == 0
    assert d.market.listing(listing_id).state == LISTING_CLOSED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert (cur.pending(d.alice), cur.escrowed()) == (COLLATERAL, 0)
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("kind", ["fixed", "negotiated"])
def test_settle_rejects_listing_not_an_auction(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with boa.reverts("market: not an auction"):
        d.market.settle(listing_id)


def test_settle_rejects_listing_not_active(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    d.env.time_travel(seconds=DURATION)
    d.market.settle(listing_id)
    with boa.reverts("market: listing not active"):
        d.market.settle(listing_id)


def test_settle_rejects_before_the_end(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - 1)
    with boa.reverts("market: auction not ended"):
        d.market.settle(listing_id)


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


# --- withdraw -----------------------------------------------------------------------------------------------


def test_withdraw_pays_ether(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    reach(d, order_id, OUTCOME_CONFIRMED)
    alice_before = d.balance(d.alice)
    with d.env.prank(d.alice.address):
        d.market.withdraw(ETHER)
    assert_event(d.market, "Withdrawn", account=d.alice.address, payment_token=ETHER, amount=PRICE - FEE + COLLATERAL)
    assert d.balance(d.alice) == alice_before + PRICE - FEE + COLLATERAL
    assert d.pending(d.alice) == 0
    assert d.balance(d.market) == FEE + COLLATERAL
    d.assert_solvent()


def test_withdraw_pays_token(d: Deployment, demo_token: Any) -> None:
    cur = Currency(d, demo_token)
    d.approve(demo_token, d.bob)
    _, _, order_id = ownership_order(d, cur=cur, collateral=0)
    reach(d, order_id, OUTCOME_CONFIRMED)
    with d.env.prank(d.platform.address):
        d.market.withdraw(demo_token.address)
    assert_event(d.market, "Withdrawn", account=d.platform.address, payment_token=demo_token.address, amount=FEE)
    assert demo_token.balanceOf(d.platform.address) == TOKEN_START_BALANCE + FEE
    assert demo_token.balanceOf(d.market.address) == PRICE - FEE
    assert (d.pending(d.platform, demo_token.address), d.pending(d.alice, demo_token.address)) == (0, PRICE - FEE)
    d.assert_solvent(demo_token)


def test_withdraw_pays_the_management_fee(d: Deployment) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    d.publish_and_list(d.alice)
    d.publish_and_list(d.bob)
    platform_before = d.balance(d.platform)
    with d.env.prank(d.platform.address):
        d.market.withdraw(ETHER)
    assert_event(d.market, "Withdrawn", account=d.platform.address, payment_token=ETHER, amount=2 * MANAGEMENT_FEE)
    assert d.balance(d.platform) == platform_before + 2 * MANAGEMENT_FEE
    assert d.balance(d.market) == 0


def test_withdraw_keeps_currencies_apart(d: Deployment, demo_token: Any) -> None:
    """Money owed in the token is not withdrawable in ether."""
    d.approve(demo_token, d.alice)
    d.approve(demo_token, d.bob)
    _, _, order_id = ownership_order(d, cur=Currency(d, demo_token))
    reach(d, order_id, OUTCOME_NOT_DELIVERED)
    assert d.pending(d.bob, demo_token.address) == PRICE + 2 * COLLATERAL
    with d.env.prank(d.bob.address), boa.reverts("escrow: nothing to withdraw"):
        d.market.withdraw(ETHER)


@pytest.mark.parametrize("who", ["alice", "bob", "platform", "mallory"])
def test_withdraw_rejects_nothing_owed(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("escrow: nothing to withdraw"):
        d.market.withdraw(ETHER)


def test_withdraw_twice_pays_once(d: Deployment) -> None:
    _, _, order_id = ownership_order(d)
    reach(d, order_id, OUTCOME_CONFIRMED)
    with d.env.prank(d.alice.address):
        d.market.withdraw(ETHER)
        balance = d.balance(d.alice)
        with boa.reverts("escrow: nothing to withdraw"):
            d.market.withdraw(ETHER)
    assert d.balance(d.alice) == balance


def test_withdraw_rejects_token_returning_false_and_keeps_the_debt(d: Deployment, false_token: Any) -> None:
    cur = Currency(d, false_token)
    _, _, order_id = ownership_order(d, cur=cur)
    reach(d, order_id, OUTCOME_NOT_DELIVERED)
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.withdraw(false_token.address)
    assert cur.pending(d.bob) == PRICE + 2 * COLLATERAL
    false_token.set_refuse(False)
    with d.env.prank(d.bob.address):
        d.market.withdraw(false_token.address)
    assert false_token.balanceOf(d.bob.address) == TOKEN_START_BALANCE + COLLATERAL
    assert false_token.balanceOf(d.market.address) == 0


# --- views --------------------------------------------------------------------------------------------------


def test_views_of_unknown_ids_are_empty(d: Deployment) -> None:
    assert tuple(d.market.listing(1)) == (ZERO_ADDRESS, 0, 0, 0, 0, 0, 0, ZERO_ADDRESS, 0, 0, 0)
    assert tuple(d.market.order(1)) == (0, ZERO_ADDRESS, 0, 0, 0, 0, 0, 0)
    assert tuple(d.market.order_parties(1)) == (ZERO_ADDRESS, ZERO_ADDRESS, 0, False, False)
    assert d.market.listing_fee_bps(1) == 0
    assert tuple(d.market.offers(1)) == (0, ZERO_ADDRESS, 0, 0, 0, 0)
    assert tuple(d.market.auctions(1)) == (0, 0, ZERO_ADDRESS, 0)


def test_listing_packs_large_terms(d: Deployment) -> None:
    """Windows, fee rate and deadlines share storage slots: the largest accepted values round-trip."""
    set_parameters(d, fee_bps=MAX_FEE_BPS)
    listing_id = d.list_token(d.alice, d.publish(d.alice), 10**21, MAX_WINDOW, MAX_WINDOW)
    order_id = d.buy(d.bob, listing_id)
    order = d.market.order(order_id)
    assert (order.listing_id, order.amount, order.fee_bps, order.deadline) == (
        listing_id,
        10**21,
        MAX_FEE_BPS,
        d.env.timestamp + MAX_WINDOW,
    )


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


@FUZZ
@given(
    bids=st.lists(
        st.tuples(st.sampled_from(["bob", "carol", "alice", "erin"]), st.integers(min_value=-2, max_value=3)),
        min_size=1,
        max_size=8,
    ),
    collateral=st.sampled_from([0, COLLATERAL]),
)
def test_auction_bid_sequence_fuzz(d: Deployment, bids: list[tuple[str, int]], collateral: int) -> None:
    """Any sequence of bids: each is accepted iff eligible, at least the reserve and at least the highest
    plus the increment; outbid escrow becomes withdrawable; settle makes an order of the highest bid."""
    with d.env.anchor():
        _, listing_id = auction(d, collateral=collateral)
        highest: tuple[str, int] | None = None
        owed = {"bob": 0, "carol": 0}
        for who, step in bids:
            # steps -2..3 around the smallest acceptable bid: below it, at it, or 1..3 increments above
            floor = RESERVE if highest is None else highest[1] + INCREMENT
            amount = floor - 1 if step < 0 else floor + step * INCREMENT
            if step == -2 and highest is not None:
                amount = highest[1] + INCREMENT // 2
            bidder = getattr(d, who)
            expected_error = None
            if who == "alice":
                expected_error = "market: own listing"
            elif who == "erin":
                expected_error = "market: buyer not audited"
            elif highest is None and amount < RESERVE:
                expected_error = "market: below reserve"
            elif highest is not None and amount < highest[1] + INCREMENT:
                expected_error = "market: bid too low" if amount >= RESERVE else "market: below reserve"
            if expected_error:
                with d.env.prank(bidder.address), boa.reverts(expected_error):
                    d.market.bid(listing_id, amount, value=amount + collateral)
                continue
            d.bid(bidder, listing_id, amount)
            if highest is not None:
                owed[highest[0]] += highest[1] + collateral
            highest = (who, amount)
            assert d.market.auctions(listing_id).highest_bid == amount
        for who, amount in owed.items():
            assert d.pending(getattr(d, who)) == amount
        held = 0 if highest is None else highest[1] + collateral
        assert d.market.escrowed(ETHER) == collateral + held
        d.assert_solvent()
        d.env.time_travel(seconds=DURATION)
        order_id = d.market.settle(listing_id)
        if highest is None:
            assert order_id == 0
            assert d.pending(d.alice) == collateral
        else:
            order = d.market.order(order_id)
            assert (order.buyer, order.amount) == (getattr(d, highest[0]).address, highest[1])
        d.assert_solvent()


@FUZZ
@given(
    amount=st.integers(min_value=1, max_value=10**22),
    counters=st.lists(st.integers(min_value=1, max_value=10**22), min_size=1, max_size=3),
    collateral=st.integers(min_value=0, max_value=10**21),
)
def test_negotiation_top_up_and_change_fuzz(d: Deployment, amount: int, counters: list[int], collateral: int) -> None:
    """After any counters, accepting the last one leaves exactly counter + 2 * collateral in escrow: a higher
    counter is topped up by exactly the difference, a lower one owes the difference back to the buyer."""
    with d.env.anchor():
        token_id = d.publish(d.alice)
        listing_id = d.list_negotiable(d.alice, token_id, amount, collateral, ETHER, **WINDOWS)
        offer_id = d.make_offer(d.bob, listing_id, amount)
        counter = amount
        for candidate in counters:
            with d.env.prank(d.alice.address):
                if candidate == amount:
                    with boa.reverts("market: bad counter"):
                        d.market.counter_offer(offer_id, candidate)
                    continue
                d.market.counter_offer(offer_id, candidate)
            counter = candidate
        if counter == amount:
            return
        bob_before = d.balance(d.bob)
        with d.env.prank(d.bob.address):
            order_id = d.market.accept_counter(offer_id, counter, value=max(counter - amount, 0))
        assert d.balance(d.bob) == bob_before - max(counter - amount, 0)
        assert d.pending(d.bob) == max(amount - counter, 0)
        assert d.market.order(order_id).amount == counter
        assert d.market.escrowed(ETHER) == counter + 2 * collateral
        d.assert_solvent()


@FUZZ
@given(
    management_fee=st.integers(min_value=0, max_value=MAX_MANAGEMENT_FEE),
    collateral=st.integers(min_value=0, max_value=10**21),
    delta=st.integers(min_value=-2, max_value=2),
)
def test_listing_value_fuzz(d: Deployment, management_fee: int, collateral: int, delta: int) -> None:
    """A listing paid in ether needs exactly management fee + collateral; the fee is owed to the platform
    at once and the collateral is escrowed."""
    with d.env.anchor():
        set_parameters(d, management_fee=management_fee)
        token_id = d.publish(d.alice)
        value = management_fee + collateral + delta
        if delta != 0:
            if value >= 0:
                with boa.reverts("market: wrong value"):
                    call_list(d, "fixed", token_id, collateral=collateral, value=value)
            return
        call_list(d, "fixed", token_id, collateral=collateral, value=value)
        assert (d.pending(d.platform), d.market.escrowed(ETHER)) == (management_fee, collateral)
        d.assert_solvent()


def test_packed_listing_round_trips_every_field(d: Deployment) -> None:
    """listing() unpacks exactly what was listed (seller, token, kind, pricing, state, windows, collateral)."""
    token_id = d.publish(d.alice)
    listing_id = d.list_token(d.alice, token_id, PRICE, MAX_WINDOW, MAX_WINDOW, collateral=7)
    expected = (d.alice.address, token_id, 1, 1, LISTING_ACTIVE, PRICE, 7, ETHER, MAX_WINDOW, MAX_WINDOW, 0)
    assert tuple(d.market.listing(listing_id)) == expected


# --- tokens docs/market.md says are not safe ------------------------------------------------------------------


def test_a_negative_rebase_leaves_the_last_withdrawer_short(d: Deployment, helper_deployer: Any) -> None:
    """What docs/market.md says of rebasing tokens: nothing refuses them when paid in (the balance grows by what
    was sent), but a later negative rebase makes the Market hold less than it owes, and the shortfall falls on
    whoever withdraws last. Hence the rule: list only tokens whose balances change by transfers alone."""
    token = helper_deployer("RebasingToken.vy").deploy()
    orders = []
    for buyer in (d.bob, d.carol):
        token.mint(buyer.address, TOKEN_START_BALANCE)
        d.approve(token, buyer)
        _, listing_id = d.publish_and_list(d.alice, payment_token=token.address, collateral=0)
        with d.env.prank(buyer.address):
            orders.append(d.market.buy(listing_id))
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    for order_id in orders:
        d.market.refund(order_id)  # never delivered: each buyer is owed its price back
    owed = d.pending(d.bob, token.address)
    assert owed > 0 and d.pending(d.carol, token.address) == owed
    assert token.balanceOf(d.market.address) == 2 * owed  # solvent before the rebase

    token.rebase(9 * 10**17)  # every balance shrinks by 10 %
    assert token.balanceOf(d.market.address) < 2 * owed
    held = token.balanceOf(d.bob.address)
    with d.env.prank(d.bob.address):
        d.market.withdraw(token.address)  # the first withdrawer is paid in full
    assert abs(token.balanceOf(d.bob.address) - (held + owed)) <= 1  # within the token's share rounding
    with d.env.prank(d.carol.address), boa.reverts():
        d.market.withdraw(token.address)  # the last one is stuck
    assert d.pending(d.carol, token.address) == owed
