"""Market.vy against hostile and contract accounts: re-entrancy from a payee's receive hook and from an ERC-20
transfer hook, and payees that need more than the 2,300 gas stipend to receive.

The Registry admits only accounts whose address is keccak256(public_key)[12:], so a contract can be a buyer
or seller only as an EOA with code (EIP-7702 delegation). The tests model that by installing the runtime code
of ``ReentrantReceiver.vy`` at a registered buyer's (Bob's) or seller's (Alice's) address with
``env.set_code``. The Market owner (fee recipient and arbiter) can be any address, e.g. a deployed contract.

Every attack is paired with a control: the same call made normally afterwards succeeds, so the re-entry
failed because of the lock, not because the call was invalid anyway. After every attack the market holds
exactly ``escrowed`` plus everything it owes (``Deployment.assert_solvent``). The same attacks against
UseRights are in test_use_rights_reentrancy.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    LISTING_ACTIVE,
    OFFER_OPEN,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_DISPUTED,
    ORDER_PAID,
    ORDER_REFUNDED,
    RULING_FOR_SELLER,
    TOKEN_START_BALANCE,
    Deployment,
    digest,
)

PRICE = 10**18
COLLATERAL = 10**17
FEE = PRICE * FEE_BPS // 10_000
DELIVERY_WINDOW, CONFIRM_WINDOW = 3_600, 7_200
WINDOWS = {"delivery_window": DELIVERY_WINDOW, "confirm_window": CONFIRM_WINDOW}
RESERVE, INCREMENT, DURATION = 10**18, 10**17, 86_400


def calldata(signature: str, *args: Any) -> bytes:
    """ABI-encoded call: 4-byte selector of ``signature`` followed by ``args``."""
    types = signature[signature.index("(") + 1 : -1]
    return function_signature_to_4byte_selector(signature) + encode(types.split(",") if types else [], list(args))


def reentry_logs(d: Deployment) -> list[tuple[bytes, bool]]:
    """(selector, success) of every ReentryAttempted event in the market's last call."""
    return [(bytes(e.selector), e.success) for e in d.market.get_logs() if type(e).__name__ == "ReentryAttempted"]


def install(d: Deployment, helper_deployer: Any, account: Any, payload: bytes, value: int, strict: bool) -> Any:
    """Give ``account``'s address the ReentrantReceiver code (an EIP-7702 delegation); returns the view of it."""
    deployer = helper_deployer("ReentrantReceiver.vy")
    template = deployer.deploy(d.market.address, payload, value, strict)
    d.env.set_code(account.address, d.env.get_code(template.address))
    return deployer.at(account.address)


def sale(d: Deployment, seller: Any = None, buyer: Any = None) -> tuple[int, int, int]:
    return d.sale(seller or d.alice, buyer or d.bob, PRICE, collateral=COLLATERAL, **WINDOWS)


# --- the buyer's account re-enters while withdrawing a refund ------------------------------------------------
#
# Each setup leaves Bob owed PRICE + 2 * COLLATERAL (an undelivered order, refunded) and prepares a second
# call Bob could make right now; it returns (calldata, value sent with it, a check that it did not happen).

Setup = Callable[[Deployment], tuple[bytes, int, Callable[[], bool]]]


def owe_bob(d: Deployment) -> None:
    _, _, order_id = sale(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    d.market.refund(order_id)
    assert d.pending(d.bob) == PRICE + 2 * COLLATERAL


def buyer_withdraw(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    return calldata("withdraw(address)", ETHER), 0, lambda: True


def buyer_confirm(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    _, _, order_id = sale(d)
    d.deliver(order_id)
    return calldata("confirm(uint256)", order_id), 0, lambda: d.market.order(order_id).state == ORDER_DELIVERED


def buyer_refund(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    _, _, order_id = sale(d)
    owe_bob(d)  # the time travel also passes the second order's delivery deadline
    return calldata("refund(uint256)", order_id), 0, lambda: d.market.order(order_id).state == ORDER_PAID


def buyer_release(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    _, _, order_id = sale(d)
    d.deliver(order_id)
    owe_bob(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW)
    return calldata("release(uint256)", order_id), 0, lambda: d.market.order(order_id).state == ORDER_DELIVERED


def buyer_bid(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    listing_id = d.list_auction(d.alice, d.publish(d.alice), RESERVE, INCREMENT, DURATION, COLLATERAL)
    payload = calldata("bid(uint256,uint256)", listing_id, RESERVE)
    return payload, RESERVE + COLLATERAL, lambda: d.market.auctions(listing_id).highest_bid == 0


def buyer_buy(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    _, listing_id = d.publish_and_list(d.alice, PRICE, collateral=COLLATERAL, **WINDOWS)
    return calldata("buy(uint256)", listing_id), PRICE + COLLATERAL, lambda: d.market.order_count() == 1


def buyer_settle(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    listing_id = d.list_auction(d.alice, d.publish(d.alice), RESERVE, INCREMENT, DURATION, COLLATERAL)
    d.bid(d.bob, listing_id, RESERVE)
    owe_bob(d)
    d.env.time_travel(seconds=DURATION)
    return calldata("settle(uint256)", listing_id), 0, lambda: d.market.listing(listing_id).state == LISTING_ACTIVE


def buyer_withdraw_offer(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_bob(d)
    listing_id = d.list_negotiable(d.alice, d.publish(d.alice), PRICE, COLLATERAL)
    offer_id = d.make_offer(d.bob, listing_id, PRICE)
    return calldata("withdraw_offer(uint256)", offer_id), 0, lambda: d.market.offers(offer_id).state == OFFER_OPEN


BUYER_TARGETS: dict[str, Setup] = {
    "withdraw": buyer_withdraw,
    "confirm": buyer_confirm,
    "refund": buyer_refund,
    "release": buyer_release,
    "bid": buyer_bid,
    "buy": buyer_buy,
    "settle": buyer_settle,
    "withdraw_offer": buyer_withdraw_offer,
}


@pytest.mark.parametrize("target", list(BUYER_TARGETS))
def test_reentrant_buyer_cannot_withdraw_twice_or_reenter(d: Deployment, helper_deployer: Any, target: str) -> None:
    """Bob's receive hook calls ``target`` back while being paid: the lock rejects it, Bob gets exactly what
    he is owed, once, and the call made afterwards, outside the withdrawal, works."""
    payload, value, untouched = BUYER_TARGETS[target](d)
    install(d, helper_deployer, d.bob, payload, value, strict=False)
    owed = d.pending(d.bob)
    bob_before, market_before = d.balance(d.bob), d.balance(d.market)

    with d.env.prank(d.bob.address):
        d.market.withdraw(ETHER)

    assert reentry_logs(d) == [(payload[:4], False)]
    assert d.balance(d.bob) == bob_before + owed
    assert d.balance(d.market) == market_before - owed
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


@pytest.mark.parametrize("target", ["withdraw", "confirm", "refund", "bid"])
def test_reentrant_buyer_that_reverts_gets_nothing_and_loses_nothing(
    d: Deployment, helper_deployer: Any, target: str
) -> None:
    """A payee that reverts unless its call back succeeds makes the whole withdraw revert; the debt stands."""
    payload, value, untouched = BUYER_TARGETS[target](d)
    install(d, helper_deployer, d.bob, payload, value, strict=True)
    owed = d.pending(d.bob)
    bob_before, market_before = d.balance(d.bob), d.balance(d.market)

    with d.env.prank(d.bob.address), pytest.raises(BoaError):
        d.market.withdraw(ETHER)

    assert (d.balance(d.bob), d.balance(d.market)) == (bob_before, market_before)
    assert d.pending(d.bob) == owed
    assert untouched()
    d.assert_solvent()
    d.env.set_code(d.bob.address, b"")  # the delegation is removed: the debt is still paid, once
    with d.env.prank(d.bob.address):
        d.market.withdraw(ETHER)
    assert d.balance(d.bob) == bob_before + owed
    with d.env.prank(d.bob.address), boa.reverts("escrow: nothing to withdraw"):
        d.market.withdraw(ETHER)


# --- the seller's account re-enters while withdrawing its proceeds -------------------------------------------


def owe_alice(d: Deployment) -> int:
    _, _, order_id = sale(d)
    d.deliver(order_id)
    d.confirm(order_id)
    owed = PRICE - FEE + COLLATERAL
    assert d.pending(d.alice) == owed
    return owed


def seller_withdraw(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    return calldata("withdraw(address)", ETHER), 0, lambda: True


def seller_cancel(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    token_id, listing_id = d.publish_and_list(d.alice, PRICE, collateral=COLLATERAL, **WINDOWS)
    return calldata("cancel(uint256)", listing_id), 0, lambda: d.catalog.ownerOf(token_id) == d.market.address


def seller_settle(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    listing_id = d.list_auction(d.alice, d.publish(d.alice), RESERVE, INCREMENT, DURATION, COLLATERAL)
    d.env.time_travel(seconds=DURATION)
    return calldata("settle(uint256)", listing_id), 0, lambda: d.market.listing(listing_id).state == LISTING_ACTIVE


def seller_release(d: Deployment) -> tuple[bytes, int, Callable[[], bool]]:
    owe_alice(d)
    _, _, order_id = sale(d)
    d.deliver(order_id)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
    return calldata("release(uint256)", order_id), 0, lambda: d.market.order(order_id).state == ORDER_DELIVERED


SELLER_TARGETS: dict[str, Setup] = {
    "withdraw": seller_withdraw,
    "cancel": seller_cancel,
    "settle": seller_settle,
    "release": seller_release,
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


# --- the platform's fee account is a contract that re-enters -------------------------------------------------


def test_reentrant_fee_recipient_cannot_resolve_during_its_withdrawal(d: Deployment, helper_deployer: Any) -> None:
    """A contract owner (fee recipient and arbiter) re-enters ``resolve`` while collecting its fees."""
    _, _, disputed_id = sale(d)
    d.deliver(disputed_id)
    with d.env.prank(d.bob.address):
        d.market.dispute(disputed_id, digest("reason"))
    payload = calldata("resolve(uint256,uint256,bytes32)", disputed_id, RULING_FOR_SELLER, digest("evidence"))
    attacker = helper_deployer("ReentrantReceiver.vy").deploy(d.market.address, payload, 0, False)
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(attacker.address)
    owe_alice(d)  # the fee of this sale goes to the new owner
    assert d.pending(attacker.address) == FEE

    with d.env.prank(attacker.address):
        d.market.withdraw(ETHER)

    assert reentry_logs(d) == [(payload[:4], False)]
    assert d.balance(attacker) == FEE
    assert d.market.order(disputed_id).state == ORDER_DISPUTED
    d.assert_solvent(extra=(attacker,))
    d.env.raw_call(d.market.address, data=payload, sender=attacker.address)
    assert d.market.order(disputed_id).state == ORDER_COMPLETED
    d.assert_solvent(extra=(attacker,))


# --- an ERC-20 whose transfer hook re-enters ----------------------------------------------------------------


@pytest.fixture
def hook_token(d: Deployment, helper_deployer: Any) -> Any:
    """A re-entrant ERC-20 held and approved by Alice, Bob and Carol."""
    token = helper_deployer("ReentrantToken.vy").deploy()
    for actor in (d.alice, d.bob, d.carol):
        token.mint(actor.address, TOKEN_START_BALANCE)
        d.approve(token, actor)
    return token


def token_sale(d: Deployment, token: Any, buyer: Any = None) -> tuple[int, int, int]:
    return d.sale(d.alice, buyer or d.bob, PRICE, collateral=COLLATERAL, payment_token=token.address, **WINDOWS)


@pytest.mark.parametrize("target", ["refund", "release", "withdraw"])
def test_reentrant_token_cannot_reenter_during_withdraw(d: Deployment, hook_token: Any, target: str) -> None:
    """While the market pays Bob in the token, the token calls back into the market: the lock rejects it."""
    _, _, owed_order = token_sale(d, hook_token)
    _, _, victim = token_sale(d, hook_token, buyer=d.carol)
    if target == "release":
        d.deliver(victim)
    d.env.time_travel(seconds=max(DELIVERY_WINDOW, CONFIRM_WINDOW) + 1)
    d.market.refund(owed_order)
    owed = d.pending(d.bob, hook_token.address)
    assert owed == PRICE + 2 * COLLATERAL
    payload = {
        "refund": calldata("refund(uint256)", victim),
        "release": calldata("release(uint256)", victim),
        "withdraw": calldata("withdraw(address)", hook_token.address),
    }[target]
    hook_token.arm(d.market.address, payload)
    state_before = d.market.order(victim).state

    with d.env.prank(d.bob.address):
        d.market.withdraw(hook_token.address)

    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    assert hook_token.balanceOf(d.bob.address) == TOKEN_START_BALANCE - PRICE - COLLATERAL + owed
    assert d.pending(d.bob, hook_token.address) == 0
    assert d.market.order(victim).state == state_before
    d.assert_solvent(hook_token, extra=(hook_token,))

    hook_token.disarm()  # control: the same call, made normally, is valid (except a second withdrawal)
    if target == "withdraw":
        with d.env.prank(hook_token.address), boa.reverts("escrow: nothing to withdraw"):
            d.market.withdraw(hook_token.address)
    else:
        d.env.raw_call(d.market.address, data=payload)
        assert d.market.order(victim).state in (ORDER_REFUNDED, ORDER_COMPLETED)
    d.assert_solvent(hook_token, extra=(hook_token,))


@pytest.mark.parametrize("pricing", ["buy", "bid", "make_offer"])
def test_reentrant_token_cannot_reenter_while_payment_is_pulled(d: Deployment, hook_token: Any, pricing: str) -> None:
    """While the market pulls a payment with transferFrom, the token calls back (refund of an expired order):
    the lock rejects it, the payment is booked exactly once."""
    _, _, victim = token_sale(d, hook_token, buyer=d.carol)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    payment_token = hook_token.address
    if pricing == "buy":
        _, listing_id = d.publish_and_list(d.alice, PRICE, collateral=COLLATERAL, payment_token=payment_token)
        call: Callable[[], Any] = lambda: d.market.buy(listing_id)  # noqa: E731
    elif pricing == "bid":
        listing_id = d.list_auction(
            d.alice, d.publish(d.alice), RESERVE, INCREMENT, DURATION, COLLATERAL, payment_token
        )
        call = lambda: d.market.bid(listing_id, RESERVE)  # noqa: E731
    else:
        listing_id = d.list_negotiable(d.alice, d.publish(d.alice), PRICE, COLLATERAL, payment_token)
        call = lambda: d.market.make_offer(listing_id, PRICE, d.env.timestamp + 600)  # noqa: E731
    escrowed_before = d.market.escrowed(payment_token)
    payload = calldata("refund(uint256)", victim)
    hook_token.arm(d.market.address, payload)

    with d.env.prank(d.bob.address):
        call()

    assert (hook_token.attempts(), hook_token.successes()) == (1, 0)
    assert d.market.escrowed(payment_token) == escrowed_before + PRICE + COLLATERAL
    assert hook_token.balanceOf(d.bob.address) == TOKEN_START_BALANCE - PRICE - COLLATERAL
    assert d.market.order(victim).state == ORDER_PAID
    d.assert_solvent(hook_token, extra=(hook_token,))
    hook_token.disarm()
    d.env.raw_call(d.market.address, data=payload)
    assert d.market.order(victim).state == ORDER_REFUNDED
    d.assert_solvent(hook_token, extra=(hook_token,))


# --- payees that need more than the 2,300 gas stipend --------------------------------------------------------


def test_withdraw_pays_fee_treasury_contract(d: Deployment, helper_deployer: Any) -> None:
    """The platform moves fee collection to a treasury contract; the treasury can collect (all gas forwarded)."""
    treasury = helper_deployer("FeeTreasury.vy").deploy()
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(treasury.address)
    owe_alice(d)
    assert d.pending(treasury.address) == FEE

    treasury.collect(d.market.address, ETHER)

    assert treasury.received() == FEE
    assert d.balance(treasury) == FEE
    assert d.pending(treasury.address) == 0
    d.assert_solvent(extra=(treasury,))


def test_withdraw_pays_smart_account_buyer_its_refund(d: Deployment, helper_deployer: Any) -> None:
    """A buyer whose account has wallet code (EIP-7702) is refunded and can withdraw the refund."""
    owe_bob(d)
    wallet = helper_deployer("FeeTreasury.vy").deploy()
    d.env.set_code(d.bob.address, d.env.get_code(wallet.address))
    bob_before = d.balance(d.bob)

    with d.env.prank(d.bob.address):
        d.market.withdraw(ETHER)

    assert d.balance(d.bob) == bob_before + PRICE + 2 * COLLATERAL
    assert d.pending(d.bob) == 0
    assert d.balance(d.market) == 0
