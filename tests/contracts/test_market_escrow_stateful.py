"""Stateful fuzzing of the Market escrow against a Python model (hypothesis ``RuleBasedStateMachine``).

Four traders in three organisations (Alice and Carol in Acme, Bob in Beta, Dave in Gamma, which starts
ToAudit), a customer (Erin) and a stranger (Mallory) list, buy (at the right and wrong prices), deliver,
confirm, release, refund, cancel and withdraw while the platform changes the fee, the supervisor audits and
suspends organisations and time passes. Every call's outcome is predicted by the model: either its effects
and event, or its exact revert message.

Invariants after every step:

* solvency: market balance == ``escrowed()`` + sum of ``pending_withdrawals`` over all accounts;
* the chain agrees with the model (listings, orders, pending amounts, fee, every account's balance);
* every order is in exactly one state consistent with its listing's state, every listing with an order has
  exactly one, and the NFT is where that state says;
* total ether across the accounts and the market is conserved (gas price is 0 in titanoboa);
* liveness: from the current state, past every deadline, every Paid order can be refunded and every
  Delivered order released by a stranger and every active listing cancelled by its seller (suspended or
  not), after which every account owed money withdraws it exactly and the market is left holding no ether
  and no token: nothing owed can become unclaimable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import boa
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.contracts.contract_kit import (
    FEE_BPS,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    LISTING_CLOSED,
    LISTING_PENDING,
    LISTING_SOLD,
    MAX_FEE_BPS,
    MAX_WINDOW,
    MIN_WINDOW,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_PAID,
    ORDER_REFUNDED,
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    digest,
)

TOKENS_PER_PUBLISHER = 2
# Mostly valid inputs, with the invalid ones each guard needs; sampled_from repeats weight the draw.
PRICES = st.one_of(st.sampled_from([1, 39, 40, 10_000, 10**18, 0]), st.integers(min_value=1, max_value=10**20))
VALID_WINDOWS = [MIN_WINDOW, MIN_WINDOW + 1, 3_600, 86_400, MAX_WINDOW]
WINDOWS = st.sampled_from(VALID_WINDOWS * 3 + [0, MIN_WINDOW - 1, MAX_WINDOW + 1])
DELAYS = st.sampled_from([1, 59, 60, 61, 3_599, 3_600, 3_601, 86_400, MAX_WINDOW])
FEES = st.sampled_from([0, 1, FEE_BPS, 999, MAX_FEE_BPS, MAX_FEE_BPS + 1])
LIKELY = st.sampled_from([True, True, True, False])
UNLIKELY = st.sampled_from([False, False, False, True])
STATUSES = st.sampled_from([STATUS_AUDITED] * 3 + [STATUS_SUSPENDED, STATUS_TO_AUDIT])
ORDER_TO_LISTING = {
    ORDER_PAID: LISTING_PENDING,
    ORDER_DELIVERED: LISTING_PENDING,
    ORDER_COMPLETED: LISTING_SOLD,
    ORDER_REFUNDED: LISTING_CLOSED,
}


@dataclass(frozen=True)
class ListingModel:
    seller: str
    token_id: int
    price: int
    delivery_window: int
    confirm_window: int
    state: int


@dataclass(frozen=True)
class OrderModel:
    listing_id: int
    buyer: str
    fee: int
    deadline: int
    state: int
    delivery_hash: bytes = ZERO_BYTES32


@dataclass
class Model:
    """What the Market should hold, owe and say."""

    owner: str
    fee_bps: int
    organisation_of: dict[str, int]
    status: dict[int, int]
    token_owner: dict[int, str]
    balances: dict[str, int]
    listings: dict[int, ListingModel] = field(default_factory=dict)
    orders: dict[int, OrderModel] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    escrowed: int = 0

    def audited(self, account: str) -> bool:
        organisation = self.organisation_of.get(account, 0)
        return organisation != 0 and self.status[organisation] == STATUS_AUDITED

    def credit(self, account: str, amount: int) -> None:
        self.pending[account] = self.pending.get(account, 0) + amount


class EscrowMachine(RuleBasedStateMachine):
    """Rules drive the real Market; the model predicts each outcome. ``d`` is bound by the test."""

    d: ClassVar[Deployment]

    listings = Bundle("listings")
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        d = self.d
        self._anchor = d.env.anchor()
        self._anchor.__enter__()
        self.traders = [d.alice.address, d.carol.address, d.bob.address, d.dave.address]
        self.buyers = [*self.traders, d.erin.address]
        self.accounts = [*self.buyers, d.platform.address, d.mallory.address]
        self.everyone = [a.address for a in d.actors]
        self.model = Model(
            owner=str(d.market.owner()),
            fee_bps=int(d.market.fee_bps()),
            organisation_of={a: int(d.registry.organisation_of(a)) for a in self.accounts},
            status={o: int(d.registry.organisations(o).status) for o in (d.acme_id, d.beta_id, d.gamma_id)},
            token_owner={t: str(d.catalog.ownerOf(t)) for t in range(1, int(d.catalog.dataset_count()) + 1)},
            balances={a: d.balance(a) for a in self.everyone},
        )
        self.total_ether = self.ether_in_play()

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------------------

    def ether_in_play(self) -> int:
        d = self.d
        return sum(d.balance(a) for a in self.everyone) + sum(d.balance(c) for c in (d.market, d.catalog, d.registry))

    def transact(self, name: str, sender: str, error: str | None, call: Any) -> Any:
        """Run ``call`` as ``sender``; expect the revert ``error`` word for word, or success."""
        event(f"{name}: {error or 'ok'}")  # labels the outcome in hypothesis' statistics
        with self.d.env.prank(sender):
            if error is not None:
                with boa.reverts(error):
                    call()
                return None
            return call()

    def complete(self, order_id: int, by_deadline: bool) -> None:
        m, d = self.model, self.d
        order = m.orders[order_id]
        listing = m.listings[order.listing_id]
        assert_event(
            d.market,
            "Confirmed",
            order_id=order_id,
            buyer=order.buyer,
            token_id=listing.token_id,
            seller_amount=listing.price - order.fee,
            fee=order.fee,
            by_deadline=by_deadline,
        )
        m.orders[order_id] = replace(order, state=ORDER_COMPLETED)
        m.listings[order.listing_id] = replace(listing, state=LISTING_SOLD)
        m.escrowed -= listing.price
        m.credit(listing.seller, listing.price - order.fee)
        if order.fee > 0:
            m.credit(m.owner, order.fee)
        m.token_owner[listing.token_id] = order.buyer

    # --- rules ---------------------------------------------------------------------------------------------

    @rule(
        target=listings,
        seller=st.integers(min_value=0, max_value=3),
        pick=st.integers(min_value=0, max_value=2**16),
        own_token=LIKELY,
        price=PRICES,
        delivery_window=WINDOWS,
        confirm_window=WINDOWS,
    )
    def list_token(
        self, seller: int, pick: int, own_token: bool, price: int, delivery_window: int, confirm_window: int
    ) -> Any:
        m, d = self.model, self.d
        account = self.traders[seller]
        owned = sorted(t for t, owner in m.token_owner.items() if owner == account)
        candidates = owned if own_token and owned else sorted(m.token_owner)
        token_id = candidates[pick % len(candidates)]
        error = None
        if not m.audited(account):
            error = "market: seller not audited"
        elif m.token_owner[token_id] != account:
            error = "market: not token owner"
        elif price == 0:
            error = "market: zero price"
        elif not MIN_WINDOW <= delivery_window <= MAX_WINDOW:
            error = "market: bad delivery window"
        elif not MIN_WINDOW <= confirm_window <= MAX_WINDOW:
            error = "market: bad confirm window"
        listing_id = self.transact(
            "list", account, error, lambda: d.market.list(token_id, price, delivery_window, confirm_window)
        )
        if error is not None:
            return multiple()
        assert listing_id == len(m.listings) + 1
        assert_event(
            d.market,
            "Listed",
            listing_id=listing_id,
            token_id=token_id,
            seller=account,
            price=price,
            delivery_window=delivery_window,
            confirm_window=confirm_window,
        )
        m.listings[listing_id] = ListingModel(account, token_id, price, delivery_window, confirm_window, LISTING_ACTIVE)
        m.token_owner[token_id] = str(d.market.address)
        return listing_id

    @rule(listing_id=listings, by_seller=LIKELY, caller=st.integers(min_value=0, max_value=3))
    def cancel(self, listing_id: int, by_seller: bool, caller: int) -> None:
        m, d = self.model, self.d
        listing = m.listings[listing_id]
        account = listing.seller if by_seller else self.traders[caller]
        error = None
        if listing.seller != account:
            error = "market: not seller"
        elif listing.state != LISTING_ACTIVE:
            error = "market: listing not active"
        self.transact("cancel", account, error, lambda: d.market.cancel(listing_id))
        if error is None:
            assert_event(d.market, "ListingCancelled", listing_id=listing_id, token_id=listing.token_id, seller=account)
            m.listings[listing_id] = replace(listing, state=LISTING_CANCELLED)
            m.token_owner[listing.token_id] = account

    @rule(
        target=orders,
        listing_id=listings,
        eligible=LIKELY,
        buyer=st.integers(min_value=0, max_value=2**16),
        overpay=st.sampled_from([0] * 5 + [-1, 1, 10**18]),
    )
    def buy(self, listing_id: int, eligible: bool, buyer: int, overpay: int) -> Any:
        """``eligible`` picks an audited buyer other than the seller when there is one."""
        m, d = self.model, self.d
        listing = m.listings[listing_id]
        candidates = [a for a in self.buyers if a != listing.seller and m.audited(a)]
        if not (eligible and candidates):
            candidates = self.buyers
        account = candidates[buyer % len(candidates)]
        value = max(listing.price + overpay, 0)
        error = None
        if listing.state != LISTING_ACTIVE:
            error = "market: listing not active"
        elif listing.seller == account:
            error = "market: own listing"
        elif not m.audited(account):
            error = "market: buyer not audited"
        elif not m.audited(listing.seller):
            error = "market: seller not audited"
        elif value != listing.price:
            error = "market: wrong price"
        order_id = self.transact("buy", account, error, lambda: d.market.buy(listing_id, value=value))
        if error is not None:
            return multiple()
        fee = listing.price * m.fee_bps // 10_000
        deadline = d.env.timestamp + listing.delivery_window
        assert order_id == len(m.orders) + 1
        assert_event(
            d.market,
            "OrderPaid",
            order_id=order_id,
            listing_id=listing_id,
            buyer=account,
            price=listing.price,
            fee=fee,
            delivery_deadline=deadline,
        )
        m.orders[order_id] = OrderModel(listing_id, account, fee, deadline, ORDER_PAID)
        m.listings[listing_id] = replace(listing, state=LISTING_PENDING)
        m.escrowed += listing.price
        m.balances[account] -= listing.price
        return order_id

    @rule(order_id=orders, by_seller=LIKELY, empty_hash=UNLIKELY)
    def deliver(self, order_id: int, by_seller: bool, empty_hash: bool) -> None:
        m, d = self.model, self.d
        order = m.orders[order_id]
        listing = m.listings[order.listing_id]
        account = listing.seller if by_seller else order.buyer
        delivery_hash = ZERO_BYTES32 if empty_hash else digest(f"ciphertext-{order_id}")
        error = None
        if order.state != ORDER_PAID:
            error = "market: order not paid"
        elif listing.seller != account:
            error = "market: not seller"
        elif d.env.timestamp > order.deadline:
            error = "market: delivery deadline passed"
        elif empty_hash:
            error = "market: empty delivery hash"
        self.transact("deliver", account, error, lambda: d.market.deliver(order_id, delivery_hash))
        if error is None:
            deadline = d.env.timestamp + listing.confirm_window
            assert_event(
                d.market,
                "Delivered",
                order_id=order_id,
                seller=account,
                delivery_hash=delivery_hash,
                confirm_deadline=deadline,
            )
            m.orders[order_id] = replace(order, state=ORDER_DELIVERED, deadline=deadline, delivery_hash=delivery_hash)

    @rule(order_id=orders, by_buyer=LIKELY)
    def confirm(self, order_id: int, by_buyer: bool) -> None:
        m, d = self.model, self.d
        order = m.orders[order_id]
        account = order.buyer if by_buyer else m.listings[order.listing_id].seller
        error = None
        if order.buyer != account:
            error = "market: not buyer"
        elif order.state != ORDER_DELIVERED:
            error = "market: order not delivered"
        self.transact("confirm", account, error, lambda: d.market.confirm(order_id))
        if error is None:
            self.complete(order_id, by_deadline=False)

    @rule(order_id=orders, caller=st.integers(min_value=0, max_value=6))
    def release(self, order_id: int, caller: int) -> None:
        m, d = self.model, self.d
        order = m.orders[order_id]
        error = None
        if order.state != ORDER_DELIVERED:
            error = "market: order not delivered"
        elif d.env.timestamp <= order.deadline:
            error = "market: confirm deadline not passed"
        self.transact("release", self.accounts[caller], error, lambda: d.market.release(order_id))
        if error is None:
            self.complete(order_id, by_deadline=True)

    @rule(order_id=orders, caller=st.integers(min_value=0, max_value=6))
    def refund(self, order_id: int, caller: int) -> None:
        m, d = self.model, self.d
        order = m.orders[order_id]
        listing = m.listings[order.listing_id]
        error = None
        if order.state != ORDER_PAID:
            error = "market: order not paid"
        elif d.env.timestamp <= order.deadline:
            error = "market: delivery deadline not passed"
        self.transact("refund", self.accounts[caller], error, lambda: d.market.refund(order_id))
        if error is None:
            assert_event(d.market, "Refunded", order_id=order_id, buyer=order.buyer, amount=listing.price)
            m.orders[order_id] = replace(order, state=ORDER_REFUNDED)
            m.listings[order.listing_id] = replace(listing, state=LISTING_CLOSED)
            m.escrowed -= listing.price
            m.credit(order.buyer, listing.price)
            m.token_owner[listing.token_id] = listing.seller

    @rule(owed=LIKELY, who=st.integers(min_value=0, max_value=2**16))
    def withdraw(self, owed: bool, who: int) -> None:
        """``owed`` picks an account with something pending when there is one."""
        m, d = self.model, self.d
        candidates = [a for a in self.accounts if m.pending.get(a, 0) > 0]
        if not (owed and candidates):
            candidates = self.accounts
        account = candidates[who % len(candidates)]
        amount = m.pending.get(account, 0)
        error = None if amount > 0 else "market: nothing to withdraw"
        self.transact("withdraw", account, error, d.market.withdraw)
        if error is None:
            assert_event(d.market, "Withdrawn", account=account, amount=amount)
            m.pending[account] = 0
            m.balances[account] += amount

    @rule(new_fee=FEES, by_owner=LIKELY)
    def set_fee(self, new_fee: int, by_owner: bool) -> None:
        m, d = self.model, self.d
        account = d.platform.address if by_owner else d.alice.address
        error = None
        if not by_owner:
            error = "ownable: caller is not the owner"
        elif new_fee > MAX_FEE_BPS:
            error = "market: fee too high"
        self.transact("set_fee", account, error, lambda: d.market.set_fee(new_fee))
        if error is None:
            assert_event(d.market, "FeeChanged", old_fee_bps=m.fee_bps, new_fee_bps=new_fee)
            m.fee_bps = new_fee

    @rule(organisation=st.integers(min_value=0, max_value=2), status=STATUSES)
    def set_status(self, organisation: int, status: int) -> None:
        m, d = self.model, self.d
        organisation_id = (d.acme_id, d.beta_id, d.gamma_id)[organisation]
        error = "registry: status unchanged" if m.status[organisation_id] == status else None
        self.transact("set_status", d.supervisor.address, error, lambda: d.registry.set_status(organisation_id, status))
        m.status[organisation_id] = status

    @rule(seconds=DELAYS)
    def time_passes(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    @rule(order_id=orders, offset=st.sampled_from([0, 1]))
    def time_reaches_deadline(self, order_id: int, offset: int) -> None:
        """Land exactly on (or one second past) an open order's deadline, where the guards switch."""
        order, now = self.model.orders[order_id], self.d.env.timestamp
        if order.state in (ORDER_PAID, ORDER_DELIVERED) and order.deadline + offset > now:
            self.d.env.time_travel(seconds=order.deadline + offset - now)

    # --- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def market_holds_exactly_what_it_owes(self) -> None:
        d, m = self.d, self.model
        owed = sum(int(d.market.pending_withdrawals(a)) for a in self.everyone)
        assert d.balance(d.market) == d.market.escrowed() + owed
        assert d.market.escrowed() == m.escrowed
        in_escrow = [o for o in m.orders.values() if o.state in (ORDER_PAID, ORDER_DELIVERED)]
        assert m.escrowed == sum(m.listings[o.listing_id].price for o in in_escrow)

    @invariant()
    def chain_matches_model(self) -> None:
        d, m = self.d, self.model
        assert d.market.listing_count() == len(m.listings)
        assert d.market.order_count() == len(m.orders)
        assert d.market.fee_bps() == m.fee_bps
        for listing_id, listing in m.listings.items():
            assert tuple(d.market.listings(listing_id)) == (
                listing.seller,
                listing.token_id,
                listing.price,
                listing.delivery_window,
                listing.confirm_window,
                listing.state,
            )
        for order_id, order in m.orders.items():
            assert tuple(d.market.orders(order_id)) == (
                order.listing_id,
                order.buyer,
                order.fee,
                order.deadline,
                order.state,
                order.delivery_hash,
            )
        for account in self.everyone:
            assert d.market.pending_withdrawals(account) == m.pending.get(account, 0)
            assert d.balance(account) == m.balances[account]

    @invariant()
    def orders_listings_and_tokens_agree(self) -> None:
        d, m = self.d, self.model
        orders_of: dict[int, list[int]] = {}
        for order_id, order in m.orders.items():
            assert order.state in ORDER_TO_LISTING
            assert m.listings[order.listing_id].state == ORDER_TO_LISTING[order.state]
            orders_of.setdefault(order.listing_id, []).append(order_id)
        for listing_id, listing in m.listings.items():
            has_order = listing.state in (LISTING_PENDING, LISTING_SOLD, LISTING_CLOSED)
            assert len(orders_of.get(listing_id, [])) == (1 if has_order else 0)
            if listing.state in (LISTING_ACTIVE, LISTING_PENDING):
                assert m.token_owner[listing.token_id] == d.market.address
        live = {lst.token_id for lst in m.listings.values() if lst.state in (LISTING_ACTIVE, LISTING_PENDING)}
        for token_id, owner in m.token_owner.items():
            assert d.catalog.ownerOf(token_id) == owner
            assert (owner == d.market.address) == (token_id in live)

    @invariant()
    def ether_is_conserved(self) -> None:
        assert self.d.env.get_gas_price() == 0
        assert self.ether_in_play() == self.total_ether

    @invariant()
    def nothing_owed_becomes_unclaimable(self) -> None:
        d, m = self.d, self.model
        with d.env.anchor():
            d.env.time_travel(seconds=MAX_WINDOW + 1)
            for order_id, order in m.orders.items():
                with d.env.prank(d.mallory.address):
                    if order.state == ORDER_PAID:
                        d.market.refund(order_id)
                    elif order.state == ORDER_DELIVERED:
                        d.market.release(order_id)
            assert d.market.escrowed() == 0
            for listing_id, listing in m.listings.items():
                if listing.state == LISTING_ACTIVE:
                    with d.env.prank(listing.seller):
                        d.market.cancel(listing_id)
            for account in self.everyone:
                owed = int(d.market.pending_withdrawals(account))
                if owed > 0:
                    before = d.balance(account)
                    with d.env.prank(account):
                        d.market.withdraw()
                    assert d.balance(account) == before + owed
            assert d.balance(d.market) == 0
            for token_id in m.token_owner:
                assert d.catalog.ownerOf(token_id) != d.market.address


def prepare_world(d: Deployment) -> None:
    """Alice, Carol and Bob publish ``TOKENS_PER_PUBLISHER`` datasets each; every trader approves the market."""
    for publisher in (d.alice, d.carol, d.bob):
        for _ in range(TOKENS_PER_PUBLISHER):
            d.publish(publisher)
    with d.env.prank(d.dave.address):
        d.catalog.setApprovalForAll(d.market.address, True)
    assert d.env.get_gas_price() == 0, "ether conservation assumes titanoboa's default gas price of 0"


def run_escrow_machine(d: Deployment, max_examples: int, steps: int) -> None:
    prepare_world(d)
    machine = type("BoundEscrowMachine", (EscrowMachine,), {"d": d})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_escrow_state_machine(d: Deployment) -> None:
    run_escrow_machine(d, max_examples=30, steps=30)


@pytest.mark.slow
@pytest.mark.timeout(1_800)
def test_escrow_state_machine_long(d: Deployment) -> None:
    """About 4,000 steps in sequences of up to 100 (the default run has up to 900 in sequences of 30)."""
    run_escrow_machine(d, max_examples=40, steps=100)
