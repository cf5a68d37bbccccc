"""Stateful fuzzing of Shop.vy against a Python model (hypothesis ``RuleBasedStateMachine``): escrow is conserved.

Two shops (Alice of Acme and Bob of Beta) set random terms and move their bonds in and out; three buyers (Erin,
Carol, Mallory) check out carts from a small set of cart hashes (so the same cart is often paid twice), with a
right or a wrong value, an expired quote or a quote signed by the other shop; shops deliver (in time or late),
buyers confirm, anyone releases or refunds (before or after the deadlines), everyone withdraws, time passes.
The model predicts every outcome: its effects or its exact revert message.

Invariants after every step: ether is conserved across the actors and the shop (gas price is 0); the shop's
balance equals ``escrowed`` plus every pending withdrawal; ``escrowed`` equals the bonds plus, for every open
order, its amount and both collaterals; the chain's bonds, pending amounts and order states are the model's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.kits.contract_kit import (
    ETHER,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_PAID,
    ORDER_REFUNDED,
    Deployment,
    digest,
)
from tests.kits.shopchain_fixtures import ShopChain

CARTS = [digest(f"cart {i}") for i in range(4)]
AMOUNTS = st.sampled_from([0, 1, 10**15, 10**18, 3 * 10**18])
WINDOW = 3_600


@dataclass
class ModelOrder:
    buyer: str
    seller: str
    amount: int
    collateral: int
    state: int
    deadline: int
    confirm_window: int


@dataclass
class Model:
    terms: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # bps, delivery, confirm
    bonds: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    orders: dict[bytes, ModelOrder] = field(default_factory=dict)


class ShopMachine(RuleBasedStateMachine):
    sc: ClassVar[ShopChain]
    outcomes: ClassVar[Counter[str]]

    def __init__(self) -> None:
        super().__init__()
        self.d: Deployment = self.sc.d
        self._anchor = self.d.env.anchor()
        self._anchor.__enter__()
        d = self.d
        self.sellers = [d.alice, d.bob]
        self.buyers = [d.erin, d.carol, d.mallory]
        self.everyone = [a.address for a in d.actors]
        self.model = Model()
        self.total = sum(d.balance(a) for a in self.everyone) + d.balance(self.sc.shop)

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @property
    def now(self) -> int:
        return int(self.d.env.timestamp)

    def _credit(self, who: str, amount: int) -> None:
        self.model.pending[who] = self.model.pending.get(who, 0) + amount

    @initialize(bps=st.sampled_from([0, 5_000, 10_000]))
    def open_alices_shop(self, bps: int) -> None:
        """Most runs need a shop with a bond to get past the first guards."""
        alice = self.d.alice.address
        with self.d.env.prank(alice):
            self.sc.shop.set_terms(bps, WINDOW, WINDOW)
            self.sc.shop.deposit_bond(value=5 * 10**18)
        self.model.terms[alice] = (bps, WINDOW, WINDOW)
        self.model.bonds[alice] = 5 * 10**18

    # --- rules --------------------------------------------------------------------------------------------------

    @rule(
        seller=st.integers(0, 1),
        bps=st.sampled_from([0, 2_500, 10_000, 10_001]),
        delivery=st.sampled_from([59, 60, WINDOW]),
        confirm=st.sampled_from([60, WINDOW]),
    )
    def set_terms(self, seller: int, bps: int, delivery: int, confirm: int) -> None:
        who = self.sellers[seller].address
        error = "shop: collateral too high" if bps > 10_000 else "shop: bad delivery window" if delivery < 60 else None
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.shop.set_terms(bps, delivery, confirm)
                return
            self.sc.shop.set_terms(bps, delivery, confirm)
        self.model.terms[who] = (bps, delivery, confirm)

    @rule(seller=st.integers(0, 1), amount=AMOUNTS)
    def deposit_bond(self, seller: int, amount: int) -> None:
        who = self.sellers[seller].address
        error = "shop: no such shop" if who not in self.model.terms else "shop: zero amount" if amount == 0 else None
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.shop.deposit_bond(value=amount)
                return
            self.sc.shop.deposit_bond(value=amount)
        self.model.bonds[who] = self.model.bonds.get(who, 0) + amount

    @rule(seller=st.integers(0, 1), amount=AMOUNTS, everything=st.booleans())
    def withdraw_bond(self, seller: int, amount: int, everything: bool) -> None:
        who = self.sellers[seller].address
        bond = self.model.bonds.get(who, 0)
        amount = bond if everything and bond else amount
        error = "shop: zero amount" if amount == 0 else "shop: bond too low" if amount > bond else None
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.shop.withdraw_bond(amount)
                return
            self.sc.shop.withdraw_bond(amount)
        self.model.bonds[who] = bond - amount
        self._credit(who, amount)

    @rule(
        cart=st.integers(0, 3),
        fresh=st.sampled_from([True, True, False]),
        buyer=st.integers(0, 2),
        seller=st.sampled_from([0, 0, 0, 1]),
        amount=st.sampled_from([0, 1, 10**15, 10**18, 10**18, 3 * 10**18]),
        flaw=st.sampled_from(["none"] * 6 + ["value", "expired", "signer"]),
    )
    def pay(self, cart: int, fresh: bool, buyer: int, seller: int, amount: int, flaw: str) -> None:
        """Mostly a cart not paid yet (``fresh``), otherwise any, often paid already."""
        unpaid = [c for c in CARTS if c not in self.model.orders]
        sc, order_hash = self.sc, unpaid[0] if fresh and unpaid else CARTS[cart]
        who, shop = self.buyers[buyer].address, self.sellers[seller]
        expiry = self.now - 1 if flaw == "expired" else self.now + 600
        signer = self.sellers[1 - seller] if flaw == "signer" else shop
        signature = sc.quote(order_hash, who, amount, expiry, signer=signer)
        terms = self.model.terms.get(shop.address)
        collateral = amount * terms[0] // 10_000 if terms else 0
        value = amount + collateral + (1 if flaw == "value" else 0)
        error = None
        if order_hash in self.model.orders:
            error = "shop: order already paid"
        elif terms is None:
            error = "shop: no such shop"
        elif amount == 0:
            error = "shop: bad amount"
        elif flaw == "expired":
            error = "shop: quote expired"
        elif flaw == "signer":
            error = "shop: bad seller signature"
        elif self.model.bonds.get(shop.address, 0) < collateral:
            error = "shop: seller bond too low"
        elif flaw == "value":
            error = "shop: wrong value"
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    sc.shop.pay(order_hash, shop.address, amount, expiry, signature, value=value)
                self.outcomes[error] += 1
                return
            sc.shop.pay(order_hash, shop.address, amount, expiry, signature, value=value)
        assert terms is not None
        self.outcomes["paid"] += 1
        self.model.bonds[shop.address] = self.model.bonds.get(shop.address, 0) - collateral
        self.model.orders[order_hash] = ModelOrder(
            who, shop.address, amount, collateral, ORDER_PAID, self.now + terms[1], terms[2]
        )

    def _in(self, *states: int) -> list[bytes]:
        return [h for h, o in self.model.orders.items() if o.state in states]

    def _order(self, pick: int, state: int) -> tuple[bytes, ModelOrder | None]:
        """An order in ``state`` (the rules run only when one exists); now and then (``pick`` 5) any cart hash."""
        candidates = self._in(state)
        order_hash = CARTS[pick % len(CARTS)] if pick == 5 else candidates[pick % len(candidates)]
        return order_hash, self.model.orders.get(order_hash)

    @precondition(lambda self: self._in(ORDER_PAID))
    @rule(cart=st.integers(0, 5), by_seller=st.sampled_from([True, True, True, False]))
    def deliver(self, cart: int, by_seller: bool) -> None:
        order_hash, o = self._order(cart, ORDER_PAID)
        who = o.seller if o and (by_seller or o.state != ORDER_PAID) else self.d.mallory.address
        error = None
        if o is None or o.state != ORDER_PAID:
            error = "shop: order not paid"
        elif who != o.seller:
            error = "shop: not seller"
        elif self.now > o.deadline:
            error = "shop: delivery deadline passed"
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.shop.deliver(order_hash, digest("note"))
                self.outcomes[error] += 1
                return
            self.sc.shop.deliver(order_hash, digest("note"))
        assert o is not None
        o.state, o.deadline = ORDER_DELIVERED, self.now + o.confirm_window
        self.outcomes["delivered"] += 1

    @precondition(lambda self: self._in(ORDER_DELIVERED))
    @rule(cart=st.integers(0, 5), by_buyer=st.sampled_from([True, True, True, False]))
    def confirm(self, cart: int, by_buyer: bool) -> None:
        order_hash, o = self._order(cart, ORDER_DELIVERED)
        who = o.buyer if o and (by_buyer or o.state != ORDER_DELIVERED) else self.d.alice.address
        error = None
        if o is None or o.state != ORDER_DELIVERED:
            error = "shop: order not delivered"
        elif who != o.buyer:
            error = "shop: not buyer"
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.shop.confirm(order_hash)
                self.outcomes[error] += 1
                return
            self.sc.shop.confirm(order_hash)
        assert o is not None
        o.state = ORDER_COMPLETED
        self._credit(o.seller, o.amount)
        self._credit(o.buyer, o.collateral)
        self.model.bonds[o.seller] = self.model.bonds.get(o.seller, 0) + o.collateral
        self.outcomes["confirmed"] += 1

    @precondition(lambda self: self._in(ORDER_DELIVERED))
    @rule(cart=st.integers(0, 5))
    def release(self, cart: int) -> None:
        order_hash, o = self._order(cart, ORDER_DELIVERED)
        error = None
        if o is None or o.state != ORDER_DELIVERED:
            error = "shop: order not delivered"
        elif self.now <= o.deadline:
            error = "shop: confirmation window open"
        with self.d.env.prank(self.d.mallory.address):
            if error:
                with boa.reverts(error):
                    self.sc.shop.release(order_hash)
                self.outcomes[error] += 1
                return
            self.sc.shop.release(order_hash)
        assert o is not None
        o.state = ORDER_COMPLETED
        self._credit(o.seller, o.amount + o.collateral)
        self.model.bonds[o.seller] = self.model.bonds.get(o.seller, 0) + o.collateral
        self.outcomes["released"] += 1

    @precondition(lambda self: self._in(ORDER_PAID))
    @rule(cart=st.integers(0, 5))
    def refund(self, cart: int) -> None:
        order_hash, o = self._order(cart, ORDER_PAID)
        error = None
        if o is None or o.state != ORDER_PAID:
            error = "shop: order not paid"
        elif self.now <= o.deadline:
            error = "shop: delivery window open"
        with self.d.env.prank(self.d.mallory.address):
            if error:
                with boa.reverts(error):
                    self.sc.shop.refund(order_hash)
                self.outcomes[error] += 1
                return
            self.sc.shop.refund(order_hash)
        assert o is not None
        o.state = ORDER_REFUNDED
        self._credit(o.buyer, o.amount + 2 * o.collateral)
        self.outcomes["refunded"] += 1

    @rule(account=st.integers(0, 7))
    def withdraw(self, account: int) -> None:
        who = self.everyone[account]
        owed = self.model.pending.get(who, 0)
        before = self.d.balance(who)
        with self.d.env.prank(who):
            if owed == 0:
                with boa.reverts("escrow: nothing to withdraw"):
                    self.sc.shop.withdraw(ETHER)
                return
            self.sc.shop.withdraw(ETHER)
        self.model.pending[who] = 0
        assert self.d.balance(who) == before + owed

    @rule(seconds=st.sampled_from([1, 59, 600, 3_600, 3_601]))
    def wait(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    # --- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def escrow_is_conserved(self) -> None:
        d, shop = self.d, self.sc.shop
        assert sum(d.balance(a) for a in self.everyone) + d.balance(shop) == self.total
        pending = sum(int(shop.pending_withdrawals(a, ETHER)) for a in self.everyone)
        assert d.balance(shop) == int(shop.escrowed(ETHER)) + pending
        open_orders = sum(
            o.amount + 2 * o.collateral for o in self.model.orders.values() if o.state in (ORDER_PAID, ORDER_DELIVERED)
        )
        assert int(shop.escrowed(ETHER)) == sum(self.model.bonds.values()) + open_orders

    @invariant()
    def chain_agrees_with_the_model(self) -> None:
        shop = self.sc.shop
        for who in self.everyone:
            assert int(shop.bonds(who)) == self.model.bonds.get(who, 0)
            assert int(shop.pending_withdrawals(who, ETHER)) == self.model.pending.get(who, 0)
        for order_hash, o in self.model.orders.items():
            chain = shop.order(order_hash)
            assert (chain.state, chain.deadline, chain.collateral) == (o.state, o.deadline, o.collateral)


def _run_shop_machine(sc: ShopChain, examples: int) -> None:
    """``examples`` runs of up to 50 steps, derandomized (the same runs every time)."""
    machine = type("BoundShopMachine", (ShopMachine,), {"sc": sc, "outcomes": Counter()})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=50,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    settled = sum(machine.outcomes[e] for e in ("confirmed", "released", "refunded"))
    assert machine.outcomes["paid"] > 0 and machine.outcomes["delivered"] > 0 and settled > 0, machine.outcomes


def test_shop_state_machine(sc: ShopChain) -> None:
    """12 runs in the default suite (the first few are too short to pay an order); the slow run below makes 40."""
    _run_shop_machine(sc, examples=12)


@pytest.mark.slow
def test_shop_state_machine_long(sc: ShopChain) -> None:
    _run_shop_machine(sc, examples=40)
