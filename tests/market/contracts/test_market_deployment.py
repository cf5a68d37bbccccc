"""Market.vy deployment, the platform's parameters (brokerage fee, management fee, dispute window), ownership, and the
views.

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
    DISPUTE_WINDOW,
    ETHER,
    FEE_BPS,
    LISTING_ACTIVE,
    MAX_FEE_BPS,
    MAX_MANAGEMENT_FEE,
    MAX_WINDOW,
    MIN_WINDOW,
    OUTCOME_CONFIRMED,
    RULING_FOR_SELLER,
    ZERO_ADDRESS,
    Deployment,
    assert_event,
    events,
    make_account,
)
from tests.market.contracts.market_helpers import (
    CONFIRM_WINDOW,
    DELIVERY_WINDOW,
    DURATION,
    EVIDENCE_HASH,
    FEE,
    FUZZ,
    MANAGEMENT_FEE,
    PRICE,
    call_list,
    disputed,
    ownership_order,
    reach,
    set_parameters,
)

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


def test_packed_listing_round_trips_every_field(d: Deployment) -> None:
    """listing() unpacks exactly what was listed (seller, token, kind, pricing, state, windows, collateral)."""
    token_id = d.publish(d.alice)
    listing_id = d.list_token(d.alice, token_id, PRICE, MAX_WINDOW, MAX_WINDOW, collateral=7)
    expected = (d.alice.address, token_id, 1, 1, LISTING_ACTIVE, PRICE, 7, ETHER, MAX_WINDOW, MAX_WINDOW, 0)
    assert tuple(d.market.listing(listing_id)) == expected
