"""Market.vy against contract accounts: re-entrancy from the payee, and payees that need gas to receive.

The Registry admits only accounts whose address is keccak256(public_key)[12:], so a contract can be a buyer or
seller only as an EOA with code (EIP-7702 delegation). The tests model that by installing the runtime code of
a helper contract at a registered buyer's address with ``env.set_code``. The Market owner (the fee recipient)
can be any address, e.g. a multisig treasury.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError

from tests.contracts.contract_kit import (
    FEE_BPS,
    ORDER_DELIVERED,
    ORDER_PAID,
    Deployment,
)

PRICE = 10**18
FEE = PRICE * FEE_BPS // 10_000
DELIVERY_WINDOW, CONFIRM_WINDOW = 3_600, 7_200
TARGETS = {"withdraw": 0, "refund": 1, "confirm": 2, "release": 3}


def market_holds_what_it_owes(d: Deployment) -> bool:
    owed = sum(d.pending(a) for a in d.actors)
    return d.balance(d.market) == d.market.escrowed() + owed


def setup_owed_buyer(d: Deployment, target: str) -> int:
    """Bob is owed a refund of ``PRICE`` for order 1 and has order 2 open, ready for ``target``; returns 2."""
    windows = {"delivery_window": DELIVERY_WINDOW, "confirm_window": CONFIRM_WINDOW}
    _, _, first = d.sale(d.alice, d.bob, PRICE, **windows)
    _, _, second = d.sale(d.alice, d.bob, PRICE, **windows)
    if target in ("confirm", "release"):
        d.deliver(second)
    d.env.time_travel(seconds=(CONFIRM_WINDOW if target == "release" else DELIVERY_WINDOW) + 1)
    d.market.refund(first)
    assert d.pending(d.bob) == PRICE
    return second


def install_attacker(d: Deployment, helper_deployer: Any, target: str, order_id: int, strict: bool) -> tuple[Any, Any]:
    """Give Bob's address the ReentrantReceiver code; returns (deployer, contract view at Bob's address)."""
    deployer = helper_deployer("ReentrantReceiver.vy")
    template = deployer.deploy(d.market.address, TARGETS[target], order_id, strict)
    d.env.set_code(d.bob.address, d.env.get_code(template.address))
    return deployer, deployer.at(d.bob.address)


@pytest.mark.parametrize("target", list(TARGETS))
def test_reentrant_payee_cannot_withdraw_twice_or_drain(d: Deployment, helper_deployer: Any, target: str) -> None:
    """The payee calls back into ``target`` while being paid: it gets at most what it is owed, exactly once.

    Today ``send`` forwards only the 2,300 gas stipend, so the payment itself fails and nothing moves; with a
    gas-forwarding call, ``@nonreentrant`` must reject the call back. Either way nothing is drained.
    """
    second = setup_owed_buyer(d, target)
    _, attacker = install_attacker(d, helper_deployer, target, second, strict=False)
    order_before = tuple(d.market.orders(second))
    bob_before, market_before = d.balance(d.bob), d.balance(d.market)

    paid_out = True
    with d.env.prank(d.bob.address):
        try:
            d.market.withdraw()
        except BoaError:
            paid_out = False
    logs = d.market.get_logs() if paid_out else []

    gain = d.balance(d.bob) - bob_before
    assert gain == market_before - d.balance(d.market)
    assert gain + d.pending(d.bob) == PRICE
    assert gain in (0, PRICE)
    assert tuple(d.market.orders(second)) == order_before
    assert market_holds_what_it_owes(d)
    if paid_out:
        attempts = [e for e in logs if type(e).__name__ == "ReentryAttempted"]
        assert [(e.target, e.success) for e in attempts] == [(TARGETS[target], False)]
        with d.env.prank(d.bob.address), boa.reverts("market: nothing to withdraw"):
            d.market.withdraw()
    assert attacker.MARKET() == d.market.address


@pytest.mark.parametrize("target", list(TARGETS))
def test_reentrant_payee_that_reverts_gets_nothing_and_loses_nothing(
    d: Deployment, helper_deployer: Any, target: str
) -> None:
    """A payee that reverts unless its call back succeeds makes the whole withdraw revert; the debt stands."""
    second = setup_owed_buyer(d, target)
    install_attacker(d, helper_deployer, target, second, strict=True)
    order_before = tuple(d.market.orders(second))
    bob_before, market_before = d.balance(d.bob), d.balance(d.market)

    with d.env.prank(d.bob.address), pytest.raises(BoaError):
        d.market.withdraw()

    assert (d.balance(d.bob), d.balance(d.market)) == (bob_before, market_before)
    assert d.pending(d.bob) == PRICE
    assert tuple(d.market.orders(second)) == order_before
    assert order_before[4] == (ORDER_DELIVERED if target in ("confirm", "release") else ORDER_PAID)
    assert market_holds_what_it_owes(d)

    d.env.set_code(d.bob.address, b"")  # the delegation is removed: the debt is still paid, once
    with d.env.prank(d.bob.address):
        d.market.withdraw()
    assert d.balance(d.bob) == bob_before + PRICE
    with d.env.prank(d.bob.address), boa.reverts("market: nothing to withdraw"):
        d.market.withdraw()


# --- payees that need more than the 2,300 gas stipend ------------------------------------------------------
#
# These two tests expect the correct behaviour and FAIL against the current Market.vy: `withdraw` pays with
# `send(msg.sender, amount)`, which forwards only the 2,300 gas stipend, so any payee whose receive function
# writes storage (a Safe-style multisig, a smart-contract wallet, an EIP-7702 account) can never be paid, and
# `pending_withdrawals` is tied to that address, so the money is stuck for good. Fix: pay with
# `raw_call(msg.sender, b"", value=amount)` (already safe: `@nonreentrant` and the balance is zeroed first),
# or add `withdraw_to(recipient)`.


def test_withdraw_pays_fee_treasury_contract(d: Deployment, helper_deployer: Any) -> None:
    """The platform moves fee collection to a treasury contract; the treasury must be able to collect."""
    treasury = helper_deployer("FeeTreasury.vy").deploy()
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(treasury.address)
    _, _, order_id = d.sale(d.alice, d.bob, PRICE)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.pending(treasury.address) == FEE

    try:
        treasury.collect(d.market.address)
    except BoaError:
        pytest.fail("Market.withdraw cannot pay a contract: send() forwards only the 2,300 gas stipend")

    assert treasury.received() == FEE
    assert d.balance(treasury) == FEE
    assert d.pending(treasury.address) == 0


def test_withdraw_pays_smart_account_buyer_its_refund(d: Deployment, helper_deployer: Any) -> None:
    """A buyer whose account has wallet code (EIP-7702) is refunded and must be able to withdraw the refund."""
    _, _, order_id = d.sale(d.alice, d.bob, PRICE)
    d.env.time_travel(seconds=3_601)
    d.market.refund(order_id)
    wallet = helper_deployer("FeeTreasury.vy").deploy()
    d.env.set_code(d.bob.address, d.env.get_code(wallet.address))
    bob_before = d.balance(d.bob)

    with d.env.prank(d.bob.address):
        try:
            d.market.withdraw()
        except BoaError:
            pytest.fail("Market.withdraw cannot pay a contract: send() forwards only the 2,300 gas stipend")

    assert d.balance(d.bob) == bob_before + PRICE
    assert d.pending(d.bob) == 0
