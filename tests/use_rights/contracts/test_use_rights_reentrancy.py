"""UseRights.vy against hostile and contract accounts: the attacks of test_market_reentrancy.py on the use-right
sale. A buyer's or seller's account (EIP-7702 delegation, modelled with ``env.set_code``) re-enters UseRights from
its receive hook while withdrawing; an ERC-20's transfer hook re-enters while UseRights pays out or pulls a
payment; a fee treasury contract collects with all gas forwarded.

Every attack is paired with a control: the same call made normally afterwards succeeds, so the re-entry failed
because of the lock, not because the call was invalid anyway. After every attack UseRights holds exactly
``escrowed`` plus everything it owes (``Deployment.assert_solvent``). ``d`` is the module deployment with
UseRights in the ``market`` slot, so the kit's helpers and the receiver's target address UseRights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    LISTING_ACTIVE,
    ORDER_PAID,
    ORDER_REFUNDED,
    TOKEN_START_BALANCE,
    USE_RIGHTS_ID_OFFSET,
    Deployment,
    digest,
)
from tests.market.contracts.test_market_reentrancy import calldata, install, reentry_logs

QUERY_PRICE, MAX_Q, USAGE_WINDOW = 10**16, 10, 3_600
QUERY_FEE = QUERY_PRICE * FEE_BPS // 10_000
BOUGHT = 5

Setup = Callable[[Deployment], tuple[bytes, int, Callable[[], bool]]]


@pytest.fixture
def d(deployment: Deployment) -> Deployment:
    """The module deployment with UseRights in the ``market`` slot."""
    return dataclasses.replace(deployment, market=deployment.use_rights)


def use_right_order(d: Deployment, payment_token: str = ETHER, buyer: Any = None) -> int:
    """Bob (or ``buyer``) prepays BOUGHT queries of a fresh listing of Alice's; returns the order id."""
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, MAX_Q, USAGE_WINDOW, payment_token)
    return d.buy_queries(buyer or d.bob, listing_id, BOUGHT)


def record(d: Deployment, order_id: int) -> None:
    order = d.market.order(order_id)
    index = int(order.queries_total) - int(order.queries_left)
    query_hash = digest(f"query-{index}")
    signature = d.sign_query(d.bob, order_id, index, query_hash)
    with d.env.prank(d.alice.address):
        d.market.record_query(order_id, query_hash, digest("result"), signature)


# --- the buyer's account re-enters while withdrawing its unused credit ---------------------------------------


def owe_bob(d: Deployment) -> None:
    """Bob's order expires unused: BOUGHT queries' worth is owed back to him."""
    order_id = use_right_order(d)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(order_id)
    assert d.pending(d.bob) == BOUGHT * QUERY_PRICE


def buyer_withdraw(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    return calldata("withdraw(address)", ETHER), 0, lambda: True


def buyer_expire(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    order_id = use_right_order(d)
    owe_bob(d)  # the time travel also ends the first order's usage window
    return calldata("expire(uint256)", order_id), 0, lambda: d.market.order(order_id).state == ORDER_PAID


def buyer_buy_queries(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, MAX_Q, USAGE_WINDOW)
    payload = calldata("buy_queries(uint256,uint256)", listing_id, 2)
    return payload, 2 * QUERY_PRICE, lambda: d.market.order_count() == 1


BUYER_TARGETS: dict[str, Setup] = {
    "withdraw": buyer_withdraw,
    "expire": buyer_expire,
    "buy_queries": buyer_buy_queries,
}


@pytest.mark.parametrize("target", list(BUYER_TARGETS))
def test_reentrant_buyer_cannot_withdraw_twice_or_reenter(d: Deployment, helper_deployer: Any, target: str) -> None:
    """Bob's receive hook calls ``target`` back while being paid: the lock rejects it, Bob gets exactly what
    he is owed, once, and the call made afterwards, outside the withdrawal, works."""
    payload, value, untouched = BUYER_TARGETS[target](d)
    install(d, helper_deployer, d.bob, payload, value, strict=False)
    owed = d.pending(d.bob)
    bob_before, held_before = d.balance(d.bob), d.balance(d.market)

    with d.env.prank(d.bob.address):
        d.market.withdraw(ETHER)

    assert reentry_logs(d) == [(payload[:4], False)]
    assert d.balance(d.bob) == bob_before + owed
    assert d.balance(d.market) == held_before - owed
    assert d.pending(d.bob) == 0
    assert untouched()
    d.assert_solvent()
    with d.env.prank(d.bob.address), boa.reverts("escrow: nothing to withdraw"):
        d.market.withdraw(ETHER)

    d.env.set_code(d.bob.address, b"")  # control: outside the withdrawal the same call is valid
    if target != "withdraw":
        d.env.raw_call(d.market.address, data=payload, value=value, sender=d.bob.address)
        assert not untouched()
    d.assert_solvent()


@pytest.mark.parametrize("target", ["withdraw", "expire", "buy_queries"])
def test_reentrant_buyer_that_reverts_gets_nothing_and_loses_nothing(
    d: Deployment, helper_deployer: Any, target: str
) -> None:
    """A payee that reverts unless its call back succeeds makes the whole withdraw revert; the debt stands."""
    payload, value, untouched = BUYER_TARGETS[target](d)
    install(d, helper_deployer, d.bob, payload, value, strict=True)
    owed = d.pending(d.bob)
    bob_before, held_before = d.balance(d.bob), d.balance(d.market)

    with d.env.prank(d.bob.address), pytest.raises(BoaError):
        d.market.withdraw(ETHER)

    assert (d.balance(d.bob), d.balance(d.market)) == (bob_before, held_before)
    assert d.pending(d.bob) == owed
    assert untouched()
    d.env.set_code(d.bob.address, b"")
    with d.env.prank(d.bob.address):
        d.market.withdraw(ETHER)
    assert d.balance(d.bob) == bob_before + owed
    d.assert_solvent()


# --- the seller's account re-enters while withdrawing what its answers earned --------------------------------


def owe_alice(d: Deployment) -> int:
    order_id = use_right_order(d)
    record(d, order_id)
    record(d, order_id)
    assert d.pending(d.alice) == 2 * (QUERY_PRICE - QUERY_FEE)
    return order_id


def seller_withdraw(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    return calldata("withdraw(address)", ETHER), 0, lambda: True


def seller_record_query(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    order_id = owe_alice(d)
    query_hash = digest("query-2")
    signature = d.sign_query(d.bob, order_id, 2, query_hash)
    payload = calldata("record_query(uint256,bytes32,bytes32,bytes)", order_id, query_hash, digest("r"), signature)
    return payload, 0, lambda: d.market.order(order_id).queries_left == BOUGHT - 2


def seller_cancel(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    listing_id = d.list_use_right(d.alice, d.publish(d.alice))
    return calldata("cancel(uint256)", listing_id), 0, lambda: d.market.listing(listing_id).state == LISTING_ACTIVE


def seller_list_use_right(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    token_id = d.publish(d.alice)
    payload = calldata(
        "list_use_right(uint256,uint256,uint256,uint256,address,bytes32)",
        token_id,
        QUERY_PRICE,
        MAX_Q,
        USAGE_WINDOW,
        ETHER,
        digest("policy"),
    )
    return payload, 0, lambda: d.market.listing_count() == 1


SELLER_TARGETS: dict[str, Setup] = {
    "withdraw": seller_withdraw,
    "record_query": seller_record_query,
    "cancel": seller_cancel,
    "list_use_right": seller_list_use_right,
}


@pytest.mark.parametrize("target", list(SELLER_TARGETS))
def test_reentrant_seller_cannot_withdraw_twice_or_reenter(d: Deployment, helper_deployer: Any, target: str) -> None:
    payload, value, untouched = SELLER_TARGETS[target](d)
    install(d, helper_deployer, d.alice, payload, value, strict=False)
    owed = d.pending(d.alice)
    alice_before = d.balance(d.alice)

    with d.env.prank(d.alice.address):
        d.market.withdraw(ETHER)

    assert reentry_logs(d) == [(payload[:4], False)]
    assert d.balance(d.alice) == alice_before + owed
    assert d.pending(d.alice) == 0
    assert untouched()
    d.assert_solvent()

    d.env.set_code(d.alice.address, b"")
    if target != "withdraw":
        d.env.raw_call(d.market.address, data=payload, value=value, sender=d.alice.address)
        assert not untouched()
    d.assert_solvent()


# --- an ERC-20 whose transfer hook re-enters ----------------------------------------------------------------


@pytest.fixture
def hook_token(d: Deployment, helper_deployer: Any) -> Any:
    """A re-entrant ERC-20 held by Alice, Bob and Carol, who approve UseRights."""
    token = helper_deployer("ReentrantToken.vy").deploy()
    for actor in (d.alice, d.bob, d.carol):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token


@pytest.mark.parametrize("target", ["expire", "withdraw"])
def test_reentrant_token_cannot_reenter_during_withdraw(d: Deployment, hook_token: Any, target: str) -> None:
    """While UseRights pays Bob in the token, the token calls back into UseRights: the lock rejects it."""
    owed_order = use_right_order(d, hook_token.address)
    victim = use_right_order(d, hook_token.address, buyer=d.carol)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(owed_order)
    owed = d.pending(d.bob, hook_token.address)
    assert owed == BOUGHT * QUERY_PRICE
    payload = {
        "expire": calldata("expire(uint256)", victim),
        "withdraw": calldata("withdraw(address)", hook_token.address),
    }[target]
    hook_token.arm(d.market.address, payload)

    with d.env.prank(d.bob.address):
        d.market.withdraw(hook_token.address)

    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    assert hook_token.balanceOf(d.bob.address) == TOKEN_START_BALANCE
    assert d.pending(d.bob, hook_token.address) == 0
    assert d.market.order(victim).state == ORDER_PAID
    d.assert_solvent(hook_token, extra=(hook_token,))

    hook_token.disarm()  # control: the same call, made normally, is valid (except a second withdrawal)
    if target == "withdraw":
        with d.env.prank(hook_token.address), boa.reverts("escrow: nothing to withdraw"):
            d.market.withdraw(hook_token.address)
    else:
        d.env.raw_call(d.market.address, data=payload)
        assert d.market.order(victim).state == ORDER_REFUNDED
    d.assert_solvent(hook_token, extra=(hook_token,))


def test_reentrant_token_cannot_reenter_while_payment_is_pulled(d: Deployment, hook_token: Any) -> None:
    """While buy_queries pulls the payment with transferFrom, the token calls back (expiry of an order whose
    window is over): the lock rejects it, the payment is booked exactly once."""
    victim = use_right_order(d, hook_token.address, buyer=d.carol)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, MAX_Q, USAGE_WINDOW, hook_token.address)
    escrowed_before = d.market.escrowed(hook_token.address)
    payload = calldata("expire(uint256)", victim)
    hook_token.arm(d.market.address, payload)

    with d.env.prank(d.bob.address):
        order_id = d.market.buy_queries(listing_id, 2)

    assert order_id == USE_RIGHTS_ID_OFFSET + 2
    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    assert d.market.escrowed(hook_token.address) == escrowed_before + 2 * QUERY_PRICE
    assert hook_token.balanceOf(d.bob.address) == TOKEN_START_BALANCE - 2 * QUERY_PRICE
    assert d.market.order(victim).state == ORDER_PAID
    d.assert_solvent(hook_token, extra=(hook_token,))
    hook_token.disarm()
    d.env.raw_call(d.market.address, data=payload)
    assert d.market.order(victim).state == ORDER_REFUNDED
    d.assert_solvent(hook_token, extra=(hook_token,))


# --- payees that need more than the 2,300 gas stipend --------------------------------------------------------


def test_withdraw_pays_fee_treasury_contract(d: Deployment, helper_deployer: Any) -> None:
    """The platform moves fee collection to a treasury contract; the treasury collects the query fees."""
    treasury = helper_deployer("FeeTreasury.vy").deploy()
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(treasury.address)
    owe_alice(d)
    assert d.pending(treasury.address) == 2 * QUERY_FEE

    treasury.collect(d.market.address, ETHER)

    assert treasury.received() == 2 * QUERY_FEE
    assert d.balance(treasury) == 2 * QUERY_FEE
    assert d.pending(treasury.address) == 0
    d.assert_solvent(extra=(treasury,))
