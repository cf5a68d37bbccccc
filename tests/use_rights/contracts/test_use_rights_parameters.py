"""UseRights.vy: deployment, the platform's parameters (brokerage fee in basis points, management fee in wei) and
their bounds, the fee fixed when a listing opens, and ownership moving the fees (Wu et al. section II).

Default sale and fixtures: see kit.py and conftest.py in this directory. Every external state-changing function
has a success test (event with every argument, and its effects) and one failure test per guard (exact revert
message); the hypothesis tests fuzz the arithmetic.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    MAX_FEE_BPS,
    MAX_MANAGEMENT_FEE,
    MAX_QUERIES,
    MAX_WINDOW,
    MIN_WINDOW,
    ZERO_ADDRESS,
    Deployment,
    assert_event,
)
from tests.market.contracts.market_helpers import FUZZ
from tests.use_rights.contracts.kit import (
    FIRST_ID,
    ID_OFFSET,
    QUERY_FEE,
    QUERY_HASH,
    QUERY_PRICE,
    RESULT_HASH,
    USAGE_WINDOW,
    record,
    set_parameters,
    use_right_order,
)

# --- deployment and parameters ------------------------------------------------------------------------------


def test_deployment(d: Deployment) -> None:
    u = d.market
    assert u.owner() == d.platform.address
    assert (u.fee_bps(), u.management_fee()) == (FEE_BPS, 0)
    assert (u.REGISTRY(), u.CATALOG()) == (d.registry.address, d.catalog.address)
    assert (u.MAX_FEE_BPS(), u.MIN_WINDOW(), u.MAX_WINDOW()) == (MAX_FEE_BPS, MIN_WINDOW, MAX_WINDOW)
    assert (u.MAX_QUERIES(), u.MAX_MANAGEMENT_FEE(), u.ID_OFFSET()) == (MAX_QUERIES, MAX_MANAGEMENT_FEE, ID_OFFSET)
    assert u.QUERY_REQUEST_TYPEHASH() == keccak(text="QueryRequest(uint256 orderId,uint256 index,bytes32 queryHash)")
    assert (u.listing_count(), u.order_count(), u.escrowed(ETHER)) == (0, 0, 0)
    _, name, version, chain_id, verifying_contract, _, _ = u.eip712Domain()
    assert (name, version, chain_id, verifying_contract) == ("Datagora UseRights", "1", d.chain_id, u.address)


@pytest.mark.parametrize("fee_bps", [0, MAX_FEE_BPS])
def test_constructor_accepts_fee_bounds(d: Deployment, use_rights_deployer: Any, fee_bps: int) -> None:
    with d.env.prank(d.platform.address):
        other = use_rights_deployer.deploy(d.registry.address, d.catalog.address, fee_bps)
    assert_event(other, "OwnershipTransferred", previous_owner=ZERO_ADDRESS, new_owner=d.platform.address)
    assert other.fee_bps() == fee_bps


def test_constructor_rejects_fee_too_high(d: Deployment, use_rights_deployer: Any) -> None:
    with boa.reverts("use-rights: fee too high"):
        use_rights_deployer.deploy(d.registry.address, d.catalog.address, MAX_FEE_BPS + 1)


@pytest.mark.parametrize(("fee_bps", "management_fee"), [(0, 0), (MAX_FEE_BPS, MAX_MANAGEMENT_FEE), (7, 1)])
def test_set_parameters(d: Deployment, fee_bps: int, management_fee: int) -> None:
    set_parameters(d, fee_bps, management_fee)
    assert_event(d.market, "ParametersChanged", fee_bps=fee_bps, management_fee=management_fee)
    assert (d.market.fee_bps(), d.market.management_fee()) == (fee_bps, management_fee)


@pytest.mark.parametrize("who", ["alice", "supervisor", "mallory"])
def test_set_parameters_rejects_non_owner(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("ownable: caller is not the owner"):
        d.market.set_parameters(0, 0)


def test_set_parameters_rejects_fee_too_high(d: Deployment) -> None:
    with d.env.prank(d.platform.address), boa.reverts("use-rights: fee too high"):
        d.market.set_parameters(MAX_FEE_BPS + 1, 0)


def test_set_parameters_rejects_management_fee_too_high(d: Deployment) -> None:
    with d.env.prank(d.platform.address), boa.reverts("use-rights: management fee too high"):
        d.market.set_parameters(FEE_BPS, MAX_MANAGEMENT_FEE + 1)


def test_parameters_are_independent_of_the_market(d: Deployment, deployment: Deployment) -> None:
    """UseRights keeps its own fee and management fee: changing the Market's leaves it alone."""
    with d.env.prank(d.platform.address):
        deployment.market.set_parameters(MAX_FEE_BPS, MAX_MANAGEMENT_FEE, 86_400)
    assert (d.market.fee_bps(), d.market.management_fee()) == (FEE_BPS, 0)


def test_brokerage_fee_is_fixed_when_the_order_opens(d: Deployment) -> None:
    _, _, order_id = use_right_order(d, 2)
    set_parameters(d, fee_bps=MAX_FEE_BPS)
    record(d, order_id)
    assert d.pending(d.platform) == QUERY_FEE


@pytest.mark.parametrize(("later_bps", "charged_bps"), [(MAX_FEE_BPS, FEE_BPS), (0, 0), (FEE_BPS - 1, FEE_BPS - 1)])
def test_fee_raised_under_an_open_listing_does_not_apply_to_it(d: Deployment, later_bps: int, charged_bps: int) -> None:
    """A use-right listing keeps the brokerage fee in force when it was made: a higher fee set later does not apply
    to its orders, a lower one does; listings made after the change pay the new fee."""
    assert d.market.fee_bps() == FEE_BPS
    _, listing_id, first_order = use_right_order(d, 1)
    assert d.market.listing_fee_bps(listing_id) == FEE_BPS
    set_parameters(d, fee_bps=later_bps)
    order_id = d.buy_queries(d.carol, listing_id, 2)
    deadline = d.env.timestamp + USAGE_WINDOW
    assert_event(
        d.market,
        "OrderPaid",
        order_id=order_id,
        listing_id=listing_id,
        buyer=d.carol.address,
        amount=2 * QUERY_PRICE,
        fee_bps=charged_bps,
        collateral=0,
        queries=2,
        deadline=deadline,
    )
    assert (d.market.order(first_order).fee_bps, d.market.order(order_id).fee_bps) == (FEE_BPS, charged_bps)
    assert d.market.listing_fee_bps(listing_id) == FEE_BPS  # the change leaves the listing's fee alone
    record(d, order_id, signer=d.carol)
    fee = QUERY_PRICE * charged_bps // 10_000
    assert_event(
        d.market,
        "QueryAnswered",
        order_id=order_id,
        index=0,
        query_hash=QUERY_HASH,
        result_hash=RESULT_HASH,
        seller_amount=QUERY_PRICE - fee,
        fee=fee,
    )
    assert d.pending(d.platform) == fee
    _, later, later_order = use_right_order(d, 1)
    assert d.market.listing_fee_bps(later) == later_bps
    assert d.market.order(later_order).fee_bps == later_bps
    d.assert_solvent()


def test_listing_fee_of_unknown_listing_is_zero(d: Deployment) -> None:
    assert (d.market.listing_fee_bps(FIRST_ID), d.market.listing_fee_bps(1)) == (0, 0)


@FUZZ
@given(listed=st.integers(min_value=0, max_value=MAX_FEE_BPS), later=st.integers(min_value=0, max_value=MAX_FEE_BPS))
def test_listing_fee_fuzz(d: Deployment, listed: int, later: int) -> None:
    """A use-right order pays min(fee when listed, fee now), never more than the seller agreed to."""
    with d.env.anchor():
        set_parameters(d, fee_bps=listed)
        token_id, listing_id, _ = use_right_order(d, 1)
        assert d.market.listing_fee_bps(listing_id) == listed
        set_parameters(d, fee_bps=later)
        order_id = d.buy_queries(d.carol, listing_id, 1)
        assert d.market.order(order_id).fee_bps == min(listed, later)
        assert d.market.listing(listing_id).token_id == token_id  # the fee bits leave the token id intact
        record(d, order_id, signer=d.carol)
        assert d.pending(d.platform) == QUERY_PRICE * min(listed, later) // 10_000


def test_transfer_ownership_moves_fees(d: Deployment) -> None:
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(d.carol.address)
    _, _, order_id = use_right_order(d, 1)
    record(d, order_id)
    assert (d.pending(d.carol), d.pending(d.platform)) == (QUERY_FEE, 0)


@FUZZ
@given(fee_bps=st.integers(min_value=0, max_value=2 * MAX_FEE_BPS), management_fee=st.integers(0, 2 * 10**18))
def test_set_parameters_bounds_fuzz(d: Deployment, fee_bps: int, management_fee: int) -> None:
    """Fees within the bounds are stored and logged; above a bound the call reverts with that bound's reason."""
    with d.env.anchor(), d.env.prank(d.platform.address):
        if fee_bps > MAX_FEE_BPS:
            with boa.reverts("use-rights: fee too high"):
                d.market.set_parameters(fee_bps, management_fee)
        elif management_fee > MAX_MANAGEMENT_FEE:
            with boa.reverts("use-rights: management fee too high"):
                d.market.set_parameters(fee_bps, management_fee)
        else:
            d.market.set_parameters(fee_bps, management_fee)
            assert_event(d.market, "ParametersChanged", fee_bps=fee_bps, management_fee=management_fee)
        expected = (
            (fee_bps, management_fee)
            if fee_bps <= MAX_FEE_BPS and management_fee <= MAX_MANAGEMENT_FEE
            else (
                FEE_BPS,
                0,
            )
        )
        assert (d.market.fee_bps(), d.market.management_fee()) == expected
