"""Shop.vy: shopping-cart orders paid in ether through escrow with the double-deposit collateral (Shrestha,
Joshi, Vassileva), deadlines, and one payment per cart.

Default shop in these tests: Alice (Acme, audited) sells with a collateral of 100 % (10,000 bps), delivery
window 3,600 s, confirmation window 7,200 s, and a bond of 5 ether; Erin (a customer) checks out a 1-ether cart
quoted by Alice. Each function: success with its event and effects, every guard word for word; the hypothesis
tests fuzz the settlement arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    ETHER,
    MAX_WINDOW,
    MIN_WINDOW,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_PAID,
    ORDER_REFUNDED,
    OUTCOME_CONFIRMED,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_RELEASED,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    assert_event,
    digest,
)
from tests.kits.shopchain_fixtures import ShopChain

PRICE = 10**18
BPS = 10_000
DELIVERY, CONFIRM = 3_600, 7_200
BOND = 5 * 10**18
CART = digest("cart: 2 x espresso beans, 1 x grinder")
DELIVERY_HASH = digest("shipping note")


@dataclass
class Paid:
    order_hash: bytes
    amount: int
    collateral: int
    deadline: int


def open_shop(sc: ShopChain, bps: int = BPS, bond: int = BOND) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        sc.shop.set_terms(bps, DELIVERY, CONFIRM)
        if bond:
            sc.shop.deposit_bond(value=bond)


def pay(sc: ShopChain, order_hash: bytes = CART, amount: int = PRICE, bps: int = BPS, buyer: object = None) -> Paid:
    d = sc.d
    who = buyer or d.erin
    expiry = sc.now() + 600
    signature = sc.quote(order_hash, who.address, amount, expiry)  # type: ignore[attr-defined]
    collateral = amount * bps // 10_000
    with d.env.prank(who.address):  # type: ignore[attr-defined]
        sc.shop.pay(order_hash, d.alice.address, amount, expiry, signature, value=amount + collateral)
    return Paid(order_hash, amount, collateral, sc.now() + DELIVERY)


@pytest.fixture
def paid(sc: ShopChain) -> Paid:
    open_shop(sc)
    return pay(sc)


def deliver(sc: ShopChain, p: Paid) -> None:
    with sc.d.env.prank(sc.d.alice.address):
        sc.shop.deliver(p.order_hash, DELIVERY_HASH)


def solvent(sc: ShopChain, accounts: list[str]) -> None:
    """The shop's balance is what it escrows plus what it owes; escrowed is bonds plus open orders."""
    owed = sum(sc.shop.pending_withdrawals(a, ETHER) for a in accounts)
    assert sc.d.balance(sc.shop) == sc.shop.escrowed(ETHER) + owed


# --- terms and bond ---------------------------------------------------------------------------------------------


def test_set_terms(sc: ShopChain) -> None:
    d = sc.d
    with d.env.prank(d.alice.address):
        sc.shop.set_terms(BPS, DELIVERY, CONFIRM)
    assert_event(
        sc.shop,
        "ShopTermsSet",
        seller=d.alice.address,
        collateral_bps=BPS,
        delivery_window=DELIVERY,
        confirm_window=CONFIRM,
    )
    assert tuple(sc.shop.terms(d.alice.address)) == (BPS, DELIVERY, CONFIRM, True)
    assert tuple(sc.shop.terms(d.bob.address)) == (0, 0, 0, False)


@pytest.mark.parametrize(
    ("who", "bps", "delivery", "confirm", "message"),
    [
        ("dave", BPS, DELIVERY, CONFIRM, "shop: seller not audited"),
        ("erin", BPS, DELIVERY, CONFIRM, "shop: seller not audited"),
        ("alice", BPS + 1, DELIVERY, CONFIRM, "shop: collateral too high"),
        ("alice", BPS, MIN_WINDOW - 1, CONFIRM, "shop: bad delivery window"),
        ("alice", BPS, MAX_WINDOW + 1, CONFIRM, "shop: bad delivery window"),
        ("alice", BPS, DELIVERY, MIN_WINDOW - 1, "shop: bad confirm window"),
        ("alice", BPS, DELIVERY, MAX_WINDOW + 1, "shop: bad confirm window"),
    ],
)
def test_set_terms_guards(sc: ShopChain, who: str, bps: int, delivery: int, confirm: int, message: str) -> None:
    with sc.d.env.prank(getattr(sc.d, who).address), boa.reverts(message):
        sc.shop.set_terms(bps, delivery, confirm)


def test_bond_deposit_and_withdrawal(sc: ShopChain) -> None:
    d = sc.d
    open_shop(sc, bond=0)
    with d.env.prank(d.alice.address):
        sc.shop.deposit_bond(value=BOND)
        assert_event(sc.shop, "BondDeposited", seller=d.alice.address, amount=BOND, bond=BOND)
        sc.shop.withdraw_bond(BOND // 5)
        assert_event(sc.shop, "BondWithdrawn", seller=d.alice.address, amount=BOND // 5, bond=BOND - BOND // 5)
        before = d.balance(d.alice)
        sc.shop.withdraw(ETHER)
    assert d.balance(d.alice) == before + BOND // 5
    assert sc.shop.bonds(d.alice.address) == BOND - BOND // 5
    assert sc.shop.escrowed(ETHER) == BOND - BOND // 5


def test_bond_guards(sc: ShopChain) -> None:
    d = sc.d
    with d.env.prank(d.bob.address), boa.reverts("shop: no such shop"):
        sc.shop.deposit_bond(value=1)
    open_shop(sc, bond=0)
    with d.env.prank(d.alice.address):
        with boa.reverts("shop: zero amount"):
            sc.shop.deposit_bond(value=0)
        with boa.reverts("shop: zero amount"):
            sc.shop.withdraw_bond(0)
        with boa.reverts("shop: bond too low"):
            sc.shop.withdraw_bond(1)


# --- pay ----------------------------------------------------------------------------------------------------------


def test_pay(sc: ShopChain) -> None:
    d = sc.d
    open_shop(sc)
    before = d.balance(d.erin)
    p = pay(sc)
    assert_event(
        sc.shop,
        "OrderPaid",
        order_hash=CART,
        buyer=d.erin.address,
        seller=d.alice.address,
        amount=PRICE,
        collateral=PRICE,
        deadline=p.deadline,
    )
    assert d.balance(d.erin) == before - 2 * PRICE
    assert tuple(sc.shop.order(CART)) == (d.erin.address, d.alice.address, PRICE, PRICE, ORDER_PAID, p.deadline)
    assert sc.shop.bonds(d.alice.address) == BOND - PRICE
    assert sc.shop.escrowed(ETHER) == BOND + 2 * PRICE
    assert sc.shop.order_count() == 1


def test_the_same_cart_cannot_be_paid_twice(sc: ShopChain, paid: Paid) -> None:
    """Two browser tabs, one cart: the second payment reverts and keeps its ether."""
    d = sc.d
    before = d.balance(d.erin)
    with boa.reverts("shop: order already paid"):
        pay(sc)
    with boa.reverts("shop: order already paid"):
        pay(sc, buyer=d.bob)
    assert d.balance(d.erin) == before


def test_pay_guards(sc: ShopChain) -> None:
    d = sc.d
    now = sc.now()

    def attempt(
        message: str,
        order_hash: bytes = CART,
        seller: str | None = None,
        amount: int = PRICE,
        expiry: int | None = None,
        signature: bytes | None = None,
        value: int | None = None,
        buyer: str | None = None,
    ) -> None:
        who = buyer or d.erin.address
        expiry = now + 600 if expiry is None else expiry
        sig = sc.quote(order_hash, who, amount, expiry) if signature is None else signature
        value = 2 * amount if value is None else value
        with d.env.prank(who), boa.reverts(message):
            sc.shop.pay(order_hash, seller or d.alice.address, amount, expiry, sig, value=value)

    attempt("shop: empty order hash", order_hash=ZERO_BYTES32)
    attempt("shop: no such shop")
    open_shop(sc, bond=PRICE)
    attempt("shop: own shop", buyer=d.alice.address)
    attempt("shop: no such shop", seller=d.bob.address)
    attempt("shop: bad amount", amount=0)
    attempt("shop: bad amount", amount=2**96, value=0)
    attempt("shop: quote expired", expiry=now - 1)
    attempt("shop: bad seller signature", signature=sc.quote(CART, d.erin.address, PRICE, now + 600, signer=d.bob))
    half_price = sc.quote(CART, d.erin.address, PRICE // 2, now + 600)
    attempt("shop: bad seller signature", signature=half_price)  # a quote for another amount
    attempt("shop: bad seller signature", signature=sc.quote(CART, d.bob.address, PRICE, now + 600))  # other buyer
    attempt("ecdsa: invalid signature", signature=b"\x00" * 65)  # snekmate refuses a zero signature
    attempt("shop: seller bond too low", amount=PRICE + 1)
    attempt("shop: wrong value", value=PRICE)
    attempt("shop: wrong value", value=2 * PRICE + 1)


def test_collateral_follows_the_terms_in_force_at_payment(sc: ShopChain) -> None:
    d = sc.d
    open_shop(sc, bps=2_500)
    p = pay(sc, bps=2_500)
    assert p.collateral == PRICE // 4
    with d.env.prank(d.alice.address):
        sc.shop.set_terms(0, DELIVERY, CONFIRM)
    assert sc.shop.order(CART).collateral == PRICE // 4
    pay(sc, order_hash=digest("another cart"), bps=0)
    assert sc.shop.order(digest("another cart")).collateral == 0


# --- deliver, confirm, release, refund ----------------------------------------------------------------------------


def test_deliver(sc: ShopChain, paid: Paid) -> None:
    deliver(sc, paid)
    confirm_deadline = sc.now() + CONFIRM
    assert_event(
        sc.shop, "OrderDelivered", order_hash=CART, delivery_hash=DELIVERY_HASH, confirm_deadline=confirm_deadline
    )
    order = sc.shop.order(CART)
    assert (order.state, order.deadline) == (ORDER_DELIVERED, confirm_deadline)


def test_deliver_guards(sc: ShopChain, paid: Paid) -> None:
    d = sc.d
    with d.env.prank(d.bob.address), boa.reverts("shop: not seller"):
        sc.shop.deliver(CART, DELIVERY_HASH)
    with d.env.prank(d.alice.address), boa.reverts("shop: order not paid"):
        sc.shop.deliver(digest("unknown cart"), DELIVERY_HASH)
    d.env.time_travel(seconds=DELIVERY + 1)
    with d.env.prank(d.alice.address), boa.reverts("shop: delivery deadline passed"):
        sc.shop.deliver(CART, DELIVERY_HASH)
    d.env.time_travel(seconds=-1)
    deliver(sc, paid)  # on the deadline second itself
    with d.env.prank(d.alice.address), boa.reverts("shop: order not paid"):
        sc.shop.deliver(CART, DELIVERY_HASH)


def test_confirm_settles_the_double_deposit(sc: ShopChain, paid: Paid) -> None:
    d = sc.d
    deliver(sc, paid)
    with d.env.prank(d.erin.address):
        sc.shop.confirm(CART)
    assert_event(
        sc.shop,
        "Settled",
        order_hash=CART,
        outcome=OUTCOME_CONFIRMED,
        seller_credit=PRICE,
        buyer_credit=PRICE,
        bond_returned=PRICE,
    )
    assert sc.shop.order(CART).state == ORDER_COMPLETED
    assert sc.shop.pending_withdrawals(d.alice.address, ETHER) == PRICE
    assert sc.shop.pending_withdrawals(d.erin.address, ETHER) == PRICE
    assert sc.shop.bonds(d.alice.address) == BOND
    solvent(sc, [d.alice.address, d.erin.address])


def test_confirm_guards(sc: ShopChain, paid: Paid) -> None:
    d = sc.d
    with d.env.prank(d.erin.address), boa.reverts("shop: order not delivered"):
        sc.shop.confirm(CART)
    deliver(sc, paid)
    for who in (d.alice, d.bob):
        with d.env.prank(who.address), boa.reverts("shop: not buyer"):
            sc.shop.confirm(CART)


def test_release_after_the_confirmation_window(sc: ShopChain, paid: Paid) -> None:
    d = sc.d
    deliver(sc, paid)
    d.env.time_travel(seconds=CONFIRM)
    with d.env.prank(d.mallory.address), boa.reverts("shop: confirmation window open"):
        sc.shop.release(CART)
    d.env.time_travel(seconds=1)
    with d.env.prank(d.mallory.address):
        sc.shop.release(CART)
    assert_event(
        sc.shop,
        "Settled",
        order_hash=CART,
        outcome=OUTCOME_RELEASED,
        seller_credit=2 * PRICE,
        buyer_credit=0,
        bond_returned=PRICE,
    )
    assert sc.shop.order(CART).state == ORDER_COMPLETED
    with d.env.prank(d.erin.address), boa.reverts("shop: order not delivered"):
        sc.shop.confirm(CART)
    with boa.reverts("shop: order not delivered"):
        sc.shop.release(CART)
    solvent(sc, [d.alice.address, d.erin.address])


def test_refund_after_the_delivery_deadline(sc: ShopChain, paid: Paid) -> None:
    d = sc.d
    with d.env.prank(d.mallory.address), boa.reverts("shop: delivery window open"):
        sc.shop.refund(CART)
    d.env.time_travel(seconds=DELIVERY + 1)
    with d.env.prank(d.mallory.address):
        sc.shop.refund(CART)
    assert_event(
        sc.shop,
        "Settled",
        order_hash=CART,
        outcome=OUTCOME_NOT_DELIVERED,
        seller_credit=0,
        buyer_credit=3 * PRICE,
        bond_returned=0,
    )
    assert sc.shop.order(CART).state == ORDER_REFUNDED
    assert sc.shop.bonds(d.alice.address) == BOND - PRICE  # the seller's collateral is forfeited
    with boa.reverts("shop: order not paid"):
        sc.shop.refund(CART)
    with boa.reverts("shop: order already paid"):
        pay(sc)  # a refunded cart stays paid once
    before = d.balance(d.erin)
    with d.env.prank(d.erin.address):
        sc.shop.withdraw(ETHER)
    assert d.balance(d.erin) == before + 3 * PRICE
    solvent(sc, [d.alice.address, d.erin.address])


def test_a_delivered_order_cannot_be_refunded(sc: ShopChain, paid: Paid) -> None:
    deliver(sc, paid)
    sc.d.env.time_travel(seconds=DELIVERY + CONFIRM + 1)
    with boa.reverts("shop: order not paid"):
        sc.shop.refund(CART)


def test_an_unknown_order_reads_as_empty(sc: ShopChain) -> None:
    assert tuple(sc.shop.order(CART)) == (ZERO_ADDRESS, ZERO_ADDRESS, 0, 0, 0, 0)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.integers(1, 10**20),
    bps=st.integers(0, BPS),
    ending=st.sampled_from(["confirm", "release", "refund"]),
)
def test_every_ending_pays_out_exactly_what_came_in(sc: ShopChain, amount: int, bps: int, ending: str) -> None:
    """seller credit + buyer credit + bond returned = amount + both collaterals; after withdrawals the shop holds
    the seller's bond only."""
    d = sc.d
    with d.env.anchor():
        open_shop(sc, bps=bps, bond=10**20)
        p = pay(sc, amount=amount, bps=bps)
        if ending == "refund":
            d.env.time_travel(seconds=DELIVERY + 1)
            sc.shop.refund(CART)
        else:
            deliver(sc, p)
            if ending == "confirm":
                with d.env.prank(d.erin.address):
                    sc.shop.confirm(CART)
            else:
                d.env.time_travel(seconds=CONFIRM + 1)
                sc.shop.release(CART)
        settled = next(e for e in sc.shop.get_logs() if type(e).__name__ == "Settled")
        assert settled.seller_credit + settled.buyer_credit + settled.bond_returned == amount + 2 * p.collateral
        for who in (d.alice, d.erin):
            if sc.shop.pending_withdrawals(who.address, ETHER):
                with d.env.prank(who.address):
                    sc.shop.withdraw(ETHER)
        assert sc.shop.escrowed(ETHER) == sc.shop.bonds(d.alice.address)
        assert d.balance(sc.shop) == sc.shop.bonds(d.alice.address)
