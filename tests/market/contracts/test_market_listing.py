"""Market.vy listing: `list`, `list_negotiable`, `list_auction` (terms, fees, collateral, custody of the NFT) and
`cancel`.

Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message); the hypothesis tests fuzz the arithmetic. Helpers and the
default sale: market_helpers.py.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    ETHER,
    KIND_OWNERSHIP,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    MAX_MANAGEMENT_FEE,
    MAX_WINDOW,
    MIN_WINDOW,
    OUTCOME_CONFIRMED,
    OUTCOME_NOT_DELIVERED,
    PRICING_AUCTION,
    PRICING_FIXED,
    PRICING_NEGOTIATED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    TOKEN_START_BALANCE,
    ZERO_ADDRESS,
    Deployment,
    assert_event,
    assert_no_event,
)
from tests.market.contracts.market_helpers import (
    COLLATERAL,
    CONFIRM_WINDOW,
    DELIVERY_WINDOW,
    DURATION,
    FUZZ,
    INCREMENT,
    MANAGEMENT_FEE,
    PRICE,
    PRICINGS,
    RESERVE,
    Currency,
    call_list,
    ownership_order,
    reach,
    set_parameters,
)

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


# --- fuzz ---------------------------------------------------------------------------------------------------


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
