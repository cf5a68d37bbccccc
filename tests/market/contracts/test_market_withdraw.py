"""Market.vy pull payments: `withdraw` in ether and ERC-20s, and the tokens docs/market.md says are not safe.

Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message). Helpers and the default sale: market_helpers.py.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.kits.contract_kit import (
    ETHER,
    OUTCOME_CONFIRMED,
    OUTCOME_NOT_DELIVERED,
    TOKEN_START_BALANCE,
    Deployment,
    assert_event,
)
from tests.market.contracts.market_helpers import (
    COLLATERAL,
    DELIVERY_WINDOW,
    FEE,
    MANAGEMENT_FEE,
    PRICE,
    Currency,
    ownership_order,
    reach,
    set_parameters,
)

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
