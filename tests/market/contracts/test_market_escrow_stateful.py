"""Stateful fuzzing of the Market and UseRights against a Python model (hypothesis ``RuleBasedStateMachine``).

Four traders in three organisations (Alice and Carol in Acme, Bob in Beta, Dave in Gamma, which starts
ToAudit), a customer (Erin), a stranger (Mallory), the supervisor and the platform (owner, arbiter and fee
recipient of both) interleave every action of the two sale contracts at random: list (fixed price, negotiable,
English auction; use-right in UseRights), cancel, buy, buy_queries, record_query (with valid, compact EIP-2098,
forged, replayed and malformed buyer signatures), expire, make_offer, counter_offer, accept_offer,
accept_counter, reject_offer, withdraw_offer, bid, settle, deliver, confirm, dispute (buyer, platform or
stranger), resolve (each ruling), release, refund and withdraw (from either contract), in ether and in a
DemoToken ERC-20 (with finite allowances and a trader short of tokens), while the platform changes the
brokerage fees, the management fees and the dispute window, the
supervisor audits and suspends organisations, and time passes (landing on and next to every deadline). Every
call's outcome is predicted by the model: its effects and events, or its exact revert message.

Invariants after every step:

* solvency, for each sale contract (each has its own escrow book), for ether and for the token: its balance ==
  ``escrowed(token)`` + sum of ``pending_withdrawals(account, token)`` over all accounts, and ``escrowed``
  equals what the live listings, auctions, offers and orders hold (seller collateral, highest bid + collateral,
  offer + collateral, price + both collaterals, unused use-right credit), recomputed from scratch;
* the chain agrees with the model: counters, parameters, pending amounts, every account's ether and token
  balance, and the listings / auctions / offers / orders / NFTs / allowances the step touched (all of them
  every ``FULL_CHECK_EVERY`` steps and at the end of a run);
* every order is in exactly one state, reached by an allowed transition and consistent with its listing's
  state; every pending or sold ownership listing has exactly one order, an accepted offer exactly one; the data
  NFT is in market custody exactly while its ownership listing is active or pending;
* ether and tokens are conserved across the accounts, the contracts and the market (gas price is 0);
* liveness (on a snapshot, every 5 steps in the default suite, every 25 in the slow run, and at the end of
  every run): past every deadline, a stranger settles every auction, closes every offer and refunds, releases
  or expires every order, sellers cancel their active listings (suspended or not), then every account
  withdraws exactly what it is owed and the market holds 0 ether, 0 tokens and no NFT: nothing owed can
  become unclaimable.

Most runs start from a seeded market (orders Paid, Delivered and Disputed, open and countered offers, an
auction with a bid, a use-right order), rules run only when they have something to act on (preconditions),
each rule gets one input wrong a quarter of the time (``flaw``) and time-sensitive rules may first let time
reach their deal's deadline or pass it by one second (``when``), so deep paths, every guard and every deadline
boundary are all reached. Listing and order ids of UseRights start above ``USE_RIGHTS_ID_OFFSET``, so the model
keeps the deals of both contracts in one table; a rule sends an id of the other contract now and then (an id the
contract does not know). The bugs it found in Market.vy (fixed) keep a regression test each at the end.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any, ClassVar

import boa
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.kits import compiled_contracts
from tests.kits.contract_kit import (
    DISPUTE_WINDOW,
    ETHER,
    FEE_BPS,
    KIND_MEMBER,
    KIND_OWNERSHIP,
    KIND_USE_RIGHT,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    LISTING_CLOSED,
    LISTING_PENDING,
    LISTING_SOLD,
    MAX_FEE_BPS,
    MAX_MANAGEMENT_FEE,
    MAX_QUERIES,
    MAX_WINDOW,
    MIN_WINDOW,
    OFFER_ACCEPTED,
    OFFER_COUNTERED,
    OFFER_OPEN,
    OFFER_REJECTED,
    OFFER_WITHDRAWN,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_DISPUTED,
    ORDER_PAID,
    ORDER_REFUNDED,
    OUTCOME_CONFIRMED,
    OUTCOME_DISPUTE_TIMEOUT,
    OUTCOME_FOR_BUYER,
    OUTCOME_FOR_SELLER,
    OUTCOME_NOT_DELIVERED,
    OUTCOME_REDELIVERED,
    OUTCOME_RELEASED,
    OUTCOME_USE_RIGHT_EXPIRED,
    PRICING_AUCTION,
    PRICING_FIXED,
    PRICING_NEGOTIATED,
    RULING_FOR_BUYER,
    RULING_FOR_SELLER,
    RULING_REDELIVERED,
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    USE_RIGHTS_ID_OFFSET,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    Deployment,
    digest,
    events,
)

MAX_AMOUNT = 2**160 - 1  # states.MAX_AMOUNT: the largest order amount the packed order storage holds
AUCTION_EXTENSION = 600  # states.AUCTION_EXTENSION: a bid this close to the end moves the end this far after it
OFFSET = USE_RIGHTS_ID_OFFSET
MAX_UINT256 = 2**256 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

TOKENS_PER_PUBLISHER = 6  # data NFTs Alice, Carol and Bob each publish before the run
TOKEN_BALANCE = 10**24  # DemoToken units minted to Alice, Carol and Bob
DAVE_TOKEN_BALANCE = 5 * 10**18  # Dave is short of tokens: large token payments fail on his balance
DAVE_ALLOWANCE = 10**21  # Dave's finite allowance shrinks with every pull
FULL_CHECK_EVERY = 10  # steps between comparisons of every listing / auction / offer / order with the chain
SLOW_STEPS_REQUIRED = 10_000
# Every Market, UseRights (and Registry) action the rules call; the slow test checks each one succeeded at least once.
ACTIONS = (
    "list",
    "list_negotiable",
    "list_auction",
    "list_use_right",
    "cancel",
    "buy",
    "buy_queries",
    "record_query",
    "expire",
    "make_offer",
    "counter_offer",
    "accept_offer",
    "accept_counter",
    "reject_offer",
    "withdraw_offer",
    "bid",
    "settle",
    "deliver",
    "confirm",
    "dispute",
    "resolve",
    "release",
    "refund",
    "withdraw",
    "set_parameters",
    "set_use_right_parameters",
    "set_status",
)

# Order state transitions Market.vy and UseRights.vy allow; COMPLETED and REFUNDED are final.
ORDER_TRANSITIONS = {
    ORDER_PAID: {ORDER_DELIVERED, ORDER_COMPLETED, ORDER_REFUNDED},
    ORDER_DELIVERED: {ORDER_DISPUTED, ORDER_COMPLETED},
    ORDER_DISPUTED: {ORDER_COMPLETED, ORDER_REFUNDED},
    ORDER_COMPLETED: set(),
    ORDER_REFUNDED: set(),
}
# The listing state each ownership order state implies.
LISTING_OF_ORDER = {
    ORDER_PAID: LISTING_PENDING,
    ORDER_DELIVERED: LISTING_PENDING,
    ORDER_DISPUTED: LISTING_PENDING,
    ORDER_COMPLETED: LISTING_SOLD,
    ORDER_REFUNDED: LISTING_CLOSED,
}
LIVE_ORDER = (ORDER_PAID, ORDER_DELIVERED, ORDER_DISPUTED)
LIVE_OFFER = (OFFER_OPEN, OFFER_COUNTERED)

# Strategies. A rule draws valid inputs plus a ``flaw``: None three times in four, else the one input to get
# wrong, so that most calls succeed and every guard is still hit; ``bad`` picks among the wrong values.
PICK = st.integers(min_value=0, max_value=63)
UNLIKELY = st.sampled_from([False, False, False, True])
PRICES = st.one_of(st.sampled_from([1, 3, 10_000, 10**15, 10**18, 10**20]), st.integers(1, 10**19))
COLLATERALS = st.sampled_from([0, 0, 1, 10**15, 10**18])
PAYMENTS = st.sampled_from(["ether", "token"])
BOOKS = st.sampled_from(["market", "use-rights"])
WINDOWS = st.sampled_from([MIN_WINDOW, MIN_WINDOW + 1, 3_600, 3_600, 86_400, 86_400, MAX_WINDOW])
BAD_WINDOWS = (0, MIN_WINDOW - 1, MAX_WINDOW + 1)
INCREMENTS = st.sampled_from([1, 10**15, 10**18])
MAX_QUERY_CHOICES = st.sampled_from([1, 3, 10, MAX_QUERIES])
BAD_MAX_QUERIES = (0, MAX_QUERIES + 1)
QUERY_COUNTS = st.sampled_from([1, 2, 3])
EXPIRY_DELTAS = st.sampled_from([1, 60, 3_600, 86_400, 86_400, MAX_WINDOW])
BAD_EXPIRY_DELTAS = (0, MAX_WINDOW + 1)
OFFER_AMOUNTS = st.sampled_from(["ask", "below", "above"])
COUNTERS = st.sampled_from(["up", "down"])
BID_RAISES = st.sampled_from(["min", "over"])
EXTRAS = st.integers(min_value=1, max_value=10**18)
FEES = st.sampled_from([0, 1, FEE_BPS, 999, MAX_FEE_BPS])
MANAGEMENT_FEES = st.sampled_from([0, 0, 1, 10**15, MAX_MANAGEMENT_FEE])
DISPUTE_WINDOWS = st.sampled_from([MIN_WINDOW, 3_600, DISPUTE_WINDOW, MAX_WINDOW])
ALLOWANCES = st.sampled_from([0, 10**18, 10**21, MAX_UINT256])
STATUSES = st.sampled_from([STATUS_AUDITED] * 6 + [STATUS_SUSPENDED, STATUS_TO_AUDIT])
WHEN = st.sampled_from([None] * 10 + ["at", "after"])  # let time reach an entity's deadline before acting
RULINGS = st.sampled_from([RULING_FOR_SELLER, RULING_REDELIVERED, RULING_FOR_BUYER])
# The empty flag and mixes of rulings reach the Market's own check; a bit beyond the three rulings does not decode
# at all (test_market_settlement.py covers that bare revert).
BAD_RULINGS = (
    0,
    RULING_FOR_SELLER | RULING_REDELIVERED,
    RULING_FOR_SELLER | RULING_FOR_BUYER,
    RULING_REDELIVERED | RULING_FOR_BUYER,
    RULING_FOR_SELLER | RULING_REDELIVERED | RULING_FOR_BUYER,
)
# Mostly short waits (the rules' ``when`` and time_reaches_deadline hit the exact boundaries), a few long jumps.
DELAYS = st.sampled_from([1, 59, 60, 61, 600, 3_599, 3_600, 3_601] * 2 + [86_400, DISPUTE_WINDOW, MAX_WINDOW])
SIGNATURE_FLAWS = ("other signer", "stale index", "other query", "zero v", "high s", "short")
OWNERSHIP_FLAWS = ("seller", "token", "price", "delivery_window", "confirm_window", "payment_token", "value")
OWNERSHIP_TERMS = {
    "seller": PICK,
    "token_pick": PICK,
    "price": PRICES,
    "collateral": COLLATERALS,
    "payment": PAYMENTS,
    "delivery_window": WINDOWS,
    "confirm_window": WINDOWS,
    "bad": PICK,
}


def flaws(*names: str) -> st.SearchStrategy[str | None]:
    """None three times in four, else one of ``names``."""
    return st.sampled_from([None] * (3 * len(names)) + list(names))


def module_word(contract: Any, module: str, name: str) -> int:
    """The storage word of variable ``name`` of Vyper module ``module`` in ``contract`` (titanoboa's ``_storage``
    holds the contract's own variables only), found in the compiler's storage layout."""
    slot = contract.compiler_data.storage_layout["storage_layout"][module][name]["slot"]
    return int(boa.env.get_storage(contract.address, slot))


# ---------------------------------------------------------------- model


@dataclass
class ListingM:
    """Field order of Market.Listing (the unpacked ``listing()`` view)."""

    seller: str
    token_id: int
    kind: int
    pricing: int
    state: int
    price: int
    collateral: int
    payment_token: str
    delivery_window: int
    confirm_window: int
    max_queries: int


@dataclass
class AuctionM:
    """Field order of Market.Auction."""

    end_time: int
    min_increment: int
    highest_bidder: str = ZERO_ADDRESS
    highest_bid: int = 0


@dataclass
class OrderM:
    """Field order of Market.Order (the unpacked ``order()`` view)."""

    listing_id: int
    buyer: str
    amount: int
    state: int
    fee_bps: int
    deadline: int
    queries_left: int
    queries_total: int


@dataclass
class OfferM:
    """Field order of Market.Offer."""

    listing_id: int
    buyer: str
    amount: int
    counter: int
    expiry: int
    state: int


NO_LISTING = ListingM(ZERO_ADDRESS, 0, 0, 0, 0, 0, 0, ETHER, 0, 0, 0)
NO_AUCTION = AuctionM(0, 0)
NO_ORDER = OrderM(0, ZERO_ADDRESS, 0, 0, 0, 0, 0, 0)
NO_OFFER = OfferM(0, ZERO_ADDRESS, 0, 0, 0, 0)


def is_fixed_sale(listing: ListingM) -> bool:
    return listing.state == LISTING_ACTIVE and listing.kind == KIND_OWNERSHIP and listing.pricing == PRICING_FIXED


def is_use_right_sale(listing: ListingM) -> bool:
    return listing.state == LISTING_ACTIVE and listing.kind == KIND_USE_RIGHT


def is_negotiation(listing: ListingM) -> bool:
    return listing.state == LISTING_ACTIVE and listing.pricing == PRICING_NEGOTIATED


def is_auction(listing: ListingM) -> bool:
    return listing.state == LISTING_ACTIVE and listing.pricing == PRICING_AUCTION


def is_live_offer(offer: OfferM) -> bool:
    return offer.state in LIVE_OFFER


def is_open_use_right_order(order: OrderM) -> bool:
    return order.state == ORDER_PAID and order.queries_total > 0


def has_queries_left(order: OrderM) -> bool:
    return order.state == ORDER_PAID and order.queries_left > 0


def is_undelivered(order: OrderM) -> bool:
    return order.state == ORDER_PAID and order.queries_total == 0


def is_refundable(order: OrderM) -> bool:
    return order.queries_total == 0 and order.state in (ORDER_PAID, ORDER_DISPUTED)


@dataclass
class Model:
    """What the Market, UseRights, the Catalog and the DemoToken should hold, owe and say. ``escrowed`` and
    ``pending`` are kept per book (the contract's address); ``allowance`` per (owner, spender)."""

    owner: str
    market: str
    fee_bps: int
    management_fee: int
    dispute_window: int
    ur_fee_bps: int
    ur_management_fee: int
    member_of: dict[str, int]
    status: dict[int, int]
    nft_owner: dict[int, str]
    ether: dict[str, int]
    tokens: dict[str, int]
    allowance: dict[tuple[str, str], int]
    listings: dict[int, ListingM] = field(default_factory=dict)
    auctions: dict[int, AuctionM] = field(default_factory=dict)
    orders: dict[int, OrderM] = field(default_factory=dict)
    offers: dict[int, OfferM] = field(default_factory=dict)
    order_of_offer: dict[int, int] = field(default_factory=dict)
    listing_fee_bps: dict[int, int] = field(default_factory=dict)  # Market.listing_fee_bps: the fee when listed
    pending: dict[tuple[str, str, str], int] = field(default_factory=dict)
    escrowed: dict[tuple[str, str], int] = field(default_factory=dict)

    def audited(self, account: str) -> bool:
        """Registry.is_audited: a member of an Audited organisation."""
        organisation = self.member_of.get(account)
        return organisation is not None and self.status[organisation] == STATUS_AUDITED

    def pull_error(self, book: str, payer: str, payment_token: str, amount: int) -> str | None:
        """The revert of escrow._pull_token into ``book`` (snekmate ERC-20: allowance first, then balance)."""
        if payment_token == ETHER or amount == 0:
            return None
        if self.allowance[(payer, book)] < amount:
            return "erc20: insufficient allowance"
        if self.tokens[payer] < amount:
            return "erc20: transfer amount exceeds balance"
        return None

    def take(self, book: str, payer: str, payment_token: str, amount: int) -> None:
        """Escrow ``amount`` from ``payer`` in ``book`` (ether already left with msg.value; a token by
        transferFrom)."""
        if payment_token != ETHER and amount > 0:
            self.tokens[payer] -= amount
            if self.allowance[(payer, book)] != MAX_UINT256:
                self.allowance[(payer, book)] -= amount
        self.escrowed[(book, payment_token)] += amount

    def release(self, book: str, account: str, payment_token: str, amount: int) -> None:
        """escrow._release: move ``amount`` from ``book``'s escrow to what ``account`` may withdraw there."""
        self.escrowed[(book, payment_token)] -= amount
        assert self.escrowed[(book, payment_token)] >= 0, f"escrow of {payment_token} would go negative"
        self.credit(book, account, payment_token, amount)

    def credit(self, book: str, account: str, payment_token: str, amount: int) -> None:
        if amount > 0:
            key = (book, account, payment_token)
            self.pending[key] = self.pending.get(key, 0) + amount

    def set_order_state(self, order_id: int, state: int) -> None:
        order = self.orders[order_id]
        assert state in ORDER_TRANSITIONS[order.state], f"order {order_id}: {order.state} -> {state}"
        order.state = state


def counted(function: Callable[..., None]) -> Callable[..., None]:
    """Count a rule's executions in the machine class (the slow test checks the total)."""

    @functools.wraps(function)
    def step(self: MarketMachine, **arguments: Any) -> None:
        type(self).steps_run += 1
        self.steps_here += 1
        function(self, **arguments)

    return step


# ---------------------------------------------------------------- machine


class MarketMachine(RuleBasedStateMachine):
    """Rules drive the real Market and UseRights; the model predicts each outcome. Class attributes are bound per
    test."""

    d: ClassVar[Deployment]
    token: ClassVar[Any]
    max_steps: ClassVar[int]
    liveness_every: ClassVar[int]
    steps_run: ClassVar[int] = 0
    outcomes: ClassVar[Counter[tuple[str, str]]]

    def __init__(self) -> None:
        super().__init__()
        d = self.d
        self._anchor = d.env.anchor()
        self._anchor.__enter__()
        self.recording = True
        self.steps_here = 0
        self.market = str(d.market.address)
        self.use_rights = str(d.use_rights.address)
        self.books = (self.market, self.use_rights)
        self.ur = dataclasses.replace(d, market=d.use_rights)  # the kit's helpers (sign_query) on UseRights
        self.token_address = str(self.token.address)
        self.signers = {account.address: account for account in d.actors}
        self.everyone = list(self.signers)
        self.traders = [d.alice.address, d.carol.address, d.bob.address, d.dave.address]
        self.stranger = d.mallory.address
        self.bogus_token = d.erin.address  # an account, not a contract
        self.ether_holders = [
            *self.everyone,
            *self.books,
            d.catalog.address,
            d.registry.address,
            self.token_address,
        ]
        self.organisations = (d.acme_id, d.beta_id, d.gamma_id)
        self.model = Model(
            owner=str(d.market.owner()),
            market=self.market,
            fee_bps=int(d.market.fee_bps()),
            management_fee=int(d.market.management_fee()),
            dispute_window=int(d.market.dispute_window()),
            ur_fee_bps=int(d.use_rights.fee_bps()),
            ur_management_fee=int(d.use_rights.management_fee()),
            member_of={
                a: int(d.registry.organisation_of(a))
                for a in self.everyone
                if int(d.registry.account_kind(a)) == KIND_MEMBER
            },
            status={o: int(d.registry.organisations(o).status) for o in self.organisations},
            nft_owner={t: str(d.catalog.ownerOf(t)) for t in range(1, int(d.catalog.dataset_count()) + 1)},
            ether={a: d.balance(a) for a in self.everyone},
            tokens={a: int(self.token.balanceOf(a)) for a in self.everyone},
            allowance={(a, b): int(self.token.allowance(a, b)) for a in self.everyone for b in self.books},
            escrowed={(b, t): int(self.contract_at(b).escrowed(t)) for b in self.books for t in self.payment_tokens},
        )
        assert set(self.model.escrowed.values()) == {0}
        assert str(d.use_rights.owner()) == self.model.owner
        self.total_ether = sum(d.balance(a) for a in self.ether_holders)
        self.total_tokens = int(self.token.totalSupply())
        self.watched: dict[str, set[Any]] = {
            "listings": set(),
            "orders": set(),
            "offers": set(),
            "nfts": set(),
            "accounts": set(),
        }

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    # --- helpers -------------------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        return int(self.d.env.timestamp)

    def transact(
        self, action: str, sender: str, error: str | None, call: Callable[..., Any], *args: Any, value: int = 0
    ) -> Any:
        """Send ``call(*args)`` from ``sender`` with ``value`` wei; expect the revert ``error`` word for word, or
        success (then the sender's ether balance drops by ``value``)."""
        if self.recording:
            outcome = error or "ok"
            event(f"{action}: {outcome}")
            type(self).outcomes[(action, outcome)] += 1
        assert value <= self.model.ether[sender], "the test would overdraw an account"
        self.watched["accounts"].add(sender)
        self.last_contract = getattr(call, "contract", None)
        if error is not None:
            with boa.reverts(error):
                call(*args, sender=sender, value=value)
            return None
        result = call(*args, sender=sender, value=value)
        self.model.ether[sender] -= value
        return result

    def expect(self, name: str, **fields: Any) -> None:
        """The last call's contract emitted exactly one ``name`` event with these arguments (all of them)."""
        contract = self.last_contract
        found = events(contract, name)
        assert len(found) == 1, f"expected one {name} event, got {contract.get_logs()}"
        actual = found[0]._asdict()
        actual.pop("address")
        assert actual == fields, name

    def watch(self, listings: tuple[int, ...] = (), orders: tuple[int, ...] = (), offers: tuple[int, ...] = ()) -> None:
        """Compare these entities (and their NFTs) with the chain after this step, whatever the outcome."""
        m = self.model
        self.watched["listings"].update(listings)
        self.watched["orders"].update(orders)
        self.watched["offers"].update(offers)
        for offer_id in offers:
            self.watched["listings"].add(m.offers.get(offer_id, NO_OFFER).listing_id)
        for order_id in orders:
            self.watched["listings"].add(m.orders.get(order_id, NO_ORDER).listing_id)
        for listing_id in self.watched["listings"]:
            if listing_id in m.listings:
                self.watched["nfts"].add(m.listings[listing_id].token_id)

    def payment_token(self, payment: str) -> str:
        return {"ether": ETHER, "token": self.token_address}[payment]

    @property
    def payment_tokens(self) -> tuple[str, str]:
        return (ETHER, self.token_address)

    def contract_at(self, book: str) -> Any:
        return self.d.use_rights if book == self.use_rights else self.d.market

    @staticmethod
    def is_use_right_id(entity_id: int) -> bool:
        """UseRights numbers its listings and orders above OFFSET, the Market below."""
        return entity_id > OFFSET

    def contract_of(self, entity_id: int) -> Any:
        """The contract that knows listing or order ``entity_id``."""
        return self.d.use_rights if self.is_use_right_id(entity_id) else self.d.market

    def market_listing(self, listing_id: int) -> ListingM:
        """What the Market's ``listing()`` says: nothing for a UseRights id."""
        return NO_LISTING if self.is_use_right_id(listing_id) else self.model.listings.get(listing_id, NO_LISTING)

    def use_right_listing(self, listing_id: int) -> ListingM:
        """What UseRights' ``listing()`` says: nothing for a Market id."""
        if not self.is_use_right_id(listing_id):
            return NO_LISTING
        return self.model.listings.get(listing_id, NO_LISTING)

    def market_order(self, order_id: int) -> OrderM:
        return NO_ORDER if self.is_use_right_id(order_id) else self.model.orders.get(order_id, NO_ORDER)

    def use_right_order(self, order_id: int) -> OrderM:
        return self.model.orders.get(order_id, NO_ORDER) if self.is_use_right_id(order_id) else NO_ORDER

    @staticmethod
    def next_id(entities: dict[int, Any], use_right: bool) -> int:
        """The id the next listing or order of the Market (or of UseRights) gets."""
        if use_right:
            return OFFSET + 1 + sum(1 for i in entities if i > OFFSET)
        return 1 + sum(1 for i in entities if i <= OFFSET)

    def caller(self, right: bool, party: str, pick: int) -> str:
        """The right party, or any account (possibly the right one)."""
        return party if right and party in self.signers else self.everyone[pick % len(self.everyone)]

    def buyer_for(self, right: bool, listing: ListingM, pick: int) -> str:
        """An audited member other than the seller when ``right`` and there is one, else any account."""
        m = self.model
        candidates = [a for a in self.traders if a != listing.seller and m.audited(a)]
        if not (right and candidates):
            candidates = self.everyone
        return candidates[pick % len(candidates)]

    @staticmethod
    def exists(entities: dict[int, Any], good: Callable[[Any], bool]) -> bool:
        return any(good(entity) for entity in entities.values())

    @staticmethod
    def choose(fit: bool, pick: int, good: list[int], existing: list[int]) -> int:
        """An id from ``good`` when ``fit`` and there is one, else any existing id (of either contract) or the
        next, unknown one of the Market or of UseRights."""
        market_ids = [i for i in existing if i <= OFFSET]
        unknown = [len(market_ids) + 1, OFFSET + len(existing) - len(market_ids) + 1]
        pool = good if fit and good else [*existing, *unknown]
        return pool[pick % len(pool)]

    def pay_error(self, payer: str, payment_token: str, amount: int, value: int, book: str | None = None) -> str | None:
        """The revert of a payment into ``book`` (default the Market): ether must arrive as msg.value (checked by
        the contract, "module: wrong value"), a token by transferFrom with no value (escrow._pull_token)."""
        book = book or self.market
        wrong = "use-rights: wrong value" if book == self.use_rights else "market: wrong value"
        if payment_token == ETHER:
            return None if value == amount else wrong
        if value != 0:
            return wrong
        return self.model.pull_error(book, payer, payment_token, amount)

    @staticmethod
    def value_for(payment_token: str, amount: int, offset: int) -> int:
        """The msg.value to send for ``amount``: right (offset 0) or off by ``offset`` wei."""
        return max(0, (amount if payment_token == ETHER else 0) + offset)

    @staticmethod
    def amount_error(amount: int, prefix: str = "market") -> str | None:
        """An order amount must fit the packed order storage (Market._open_order, UseRights.buy_queries)."""
        return f"{prefix}: amount too large" if amount > MAX_AMOUNT else None

    def buyer_error(self, listing: ListingM, buyer: str, prefix: str = "market") -> str | None:
        """Market._check_buyer, or UseRights._check_buyer with ``prefix`` "use-rights"."""
        m = self.model
        if listing.state != LISTING_ACTIVE:
            return f"{prefix}: listing not active"
        if listing.seller == buyer:
            return f"{prefix}: own listing"
        if not m.audited(buyer):
            return f"{prefix}: buyer not audited"
        if not m.audited(listing.seller):
            return f"{prefix}: seller not audited"
        return None

    def seller_error(self, seller: str, token_id: int, prefix: str = "market") -> str | None:
        """Market._check_seller, or UseRights._check_seller with ``prefix`` "use-rights"."""
        if not self.model.audited(seller):
            return f"{prefix}: seller not audited"
        if self.model.nft_owner[token_id] != seller:
            return f"{prefix}: not token owner"
        return None

    def open_order(self, listing_id: int, buyer: str, amount: int, queries: int) -> int:
        """Market._open_order (or UseRights.buy_queries when ``queries`` > 0), after the money is in escrow;
        checks OrderPaid and returns the new id."""
        m = self.model
        listing = m.listings[listing_id]
        order_id = self.next_id(m.orders, queries > 0)
        deadline = self.now + listing.delivery_window
        current = m.ur_fee_bps if queries > 0 else m.fee_bps
        fee_bps = min(current, m.listing_fee_bps[listing_id])
        m.orders[order_id] = OrderM(listing_id, buyer, amount, ORDER_PAID, fee_bps, deadline, queries, queries)
        collateral = 0
        if listing.kind == KIND_OWNERSHIP:
            collateral = listing.collateral
            listing.state = LISTING_PENDING
        self.expect(
            "OrderPaid",
            order_id=order_id,
            listing_id=listing_id,
            buyer=buyer,
            amount=amount,
            fee_bps=fee_bps,
            collateral=collateral,
            queries=queries,
            deadline=deadline,
        )
        self.watch(orders=(order_id,))
        return order_id

    def settle_for_seller(self, order_id: int, outcome: int) -> None:
        """Market._settle_for_seller: the sale completes, the NFT goes to the buyer."""
        m = self.model
        order = m.orders[order_id]
        listing = m.listings[order.listing_id]
        fee = order.amount * order.fee_bps // 10_000
        collateral = listing.collateral
        # Confirmed: each party's collateral back; redelivered (the seller sent fabricated data): both to the
        # buyer; released or the buyer's claim false: both to the seller.
        seller_credit, buyer_credit = order.amount - fee + 2 * collateral, 0
        if outcome == OUTCOME_CONFIRMED:
            seller_credit, buyer_credit = order.amount - fee + collateral, collateral
        elif outcome == OUTCOME_REDELIVERED:
            seller_credit, buyer_credit = order.amount - fee, 2 * collateral
        self.expect(
            "Settled",
            order_id=order_id,
            listing_id=order.listing_id,
            outcome=outcome,
            seller_credit=seller_credit,
            buyer_credit=buyer_credit,
            fee=fee,
        )
        m.set_order_state(order_id, ORDER_COMPLETED)
        listing.state = LISTING_SOLD
        m.release(self.market, listing.seller, listing.payment_token, seller_credit)
        m.release(self.market, order.buyer, listing.payment_token, buyer_credit)
        m.release(self.market, m.owner, listing.payment_token, fee)
        m.nft_owner[listing.token_id] = order.buyer

    def settle_for_buyer(self, order_id: int, outcome: int) -> None:
        """Market._settle_for_buyer: the sale fails, the NFT returns to the seller."""
        m = self.model
        order = m.orders[order_id]
        listing = m.listings[order.listing_id]
        buyer_credit = order.amount + listing.collateral
        seller_credit = 0
        if outcome == OUTCOME_DISPUTE_TIMEOUT:
            seller_credit = listing.collateral
        else:
            buyer_credit += listing.collateral
        self.expect(
            "Settled",
            order_id=order_id,
            listing_id=order.listing_id,
            outcome=outcome,
            seller_credit=seller_credit,
            buyer_credit=buyer_credit,
            fee=0,
        )
        m.set_order_state(order_id, ORDER_REFUNDED)
        listing.state = LISTING_CLOSED
        m.release(self.market, order.buyer, listing.payment_token, buyer_credit)
        m.release(self.market, listing.seller, listing.payment_token, seller_credit)
        m.nft_owner[listing.token_id] = listing.seller

    def close_offer(self, offer_id: int, by: str, rejected: bool) -> None:
        m = self.model
        offer = m.offers[offer_id]
        listing = m.listings[offer.listing_id]
        self.expect("OfferClosed", offer_id=offer_id, by=by, rejected=rejected)
        offer.state = OFFER_REJECTED if rejected else OFFER_WITHDRAWN
        m.release(self.market, offer.buyer, listing.payment_token, offer.amount + listing.collateral)

    # --- actions: predict, call, check, apply (shared by the rules and the liveness drive) ------------------

    def do_list(
        self,
        pricing: int,
        seller: str,
        token_id: int,
        price: int,
        collateral: int,
        payment_token: str,
        delivery_window: int,
        confirm_window: int,
        value_offset: int,
        min_increment: int = 1,
        duration: int = MIN_WINDOW,
    ) -> None:
        m, d = self.model, self.d
        fee = m.management_fee
        value = max(0, fee + (collateral if payment_token == ETHER else 0) + value_offset)
        error = None
        if pricing == PRICING_AUCTION and min_increment == 0:
            error = "market: zero increment"
        elif pricing == PRICING_AUCTION and not MIN_WINDOW <= duration <= MAX_WINDOW:
            error = "market: bad duration"
        elif error := self.seller_error(seller, token_id):
            pass
        elif price == 0:
            error = "market: zero price"
        elif not MIN_WINDOW <= delivery_window <= MAX_WINDOW:
            error = "market: bad delivery window"
        elif not MIN_WINDOW <= confirm_window <= MAX_WINDOW:
            error = "market: bad confirm window"
        elif payment_token == self.bogus_token:
            error = "escrow: token not a contract"
        elif value != fee + (collateral if payment_token == ETHER else 0):
            error = "market: wrong value"
        else:
            error = m.pull_error(self.market, seller, payment_token, collateral)
        terms = (collateral, payment_token, delivery_window, confirm_window)
        if pricing == PRICING_FIXED:
            args: tuple[Any, ...] = ("list", d.market.list, token_id, price, *terms)
        elif pricing == PRICING_NEGOTIATED:
            args = ("list_negotiable", d.market.list_negotiable, token_id, price, *terms)
        else:
            args = ("list_auction", d.market.list_auction, token_id, price, min_increment, duration, *terms)
        self.watched["nfts"].add(token_id)
        listing_id = self.transact(args[0], seller, error, *args[1:], value=value)
        if error is not None:
            return
        assert listing_id == self.next_id(m.listings, False)
        m.credit(self.market, m.owner, ETHER, fee)
        m.take(self.market, seller, payment_token, collateral)
        m.nft_owner[token_id] = self.market
        listing = ListingM(
            seller,
            token_id,
            KIND_OWNERSHIP,
            pricing,
            LISTING_ACTIVE,
            price,
            collateral,
            payment_token,
            delivery_window,
            confirm_window,
            0,
        )
        m.listings[listing_id] = listing
        m.listing_fee_bps[listing_id] = m.fee_bps
        self.expect(
            "Listed",
            listing_id=listing_id,
            token_id=token_id,
            seller=seller,
            kind=KIND_OWNERSHIP,
            pricing=pricing,
            price=price,
            collateral=collateral,
            payment_token=payment_token,
            delivery_window=delivery_window,
            confirm_window=confirm_window,
            management_fee=fee,
        )
        if pricing == PRICING_AUCTION:
            m.auctions[listing_id] = AuctionM(self.now + duration, min_increment)
            self.expect(
                "AuctionOpened", listing_id=listing_id, min_increment=min_increment, end_time=self.now + duration
            )
        self.watch(listings=(listing_id,))

    def do_list_use_right(
        self,
        seller: str,
        token_id: int,
        price: int,
        max_queries: int,
        usage_window: int,
        payment_token: str,
        policy_hash: bytes,
        value_offset: int,
    ) -> None:
        m, d = self.model, self.d
        fee = m.ur_management_fee
        value = max(0, fee + value_offset)
        error = self.seller_error(seller, token_id, "use-rights")
        if error is not None:
            pass
        elif price == 0:
            error = "use-rights: zero price"
        elif not 0 < max_queries <= MAX_QUERIES:
            error = "use-rights: bad max queries"
        elif not MIN_WINDOW <= usage_window <= MAX_WINDOW:
            error = "use-rights: bad usage window"
        elif policy_hash == ZERO_BYTES32:
            error = "use-rights: empty policy hash"
        elif payment_token == self.bogus_token:
            error = "escrow: token not a contract"
        elif value != fee:
            error = "use-rights: wrong value"
        listing_id = self.transact(
            "list_use_right",
            seller,
            error,
            d.use_rights.list_use_right,
            token_id,
            price,
            max_queries,
            usage_window,
            payment_token,
            policy_hash,
            value=value,
        )
        if error is not None:
            return
        assert listing_id == self.next_id(m.listings, True)
        m.credit(self.use_rights, m.owner, ETHER, fee)
        m.listings[listing_id] = ListingM(
            seller,
            token_id,
            KIND_USE_RIGHT,
            PRICING_FIXED,
            LISTING_ACTIVE,
            price,
            0,
            payment_token,
            usage_window,
            0,
            max_queries,
        )
        m.listing_fee_bps[listing_id] = m.ur_fee_bps  # UseRights keeps the fee in force at listing too
        self.expect(
            "Listed",
            listing_id=listing_id,
            token_id=token_id,
            seller=seller,
            kind=KIND_USE_RIGHT,
            pricing=PRICING_FIXED,
            price=price,
            collateral=0,
            payment_token=payment_token,
            delivery_window=usage_window,
            confirm_window=0,
            management_fee=fee,
        )
        self.expect("UseRightTerms", listing_id=listing_id, max_queries=max_queries, policy_hash=policy_hash)
        self.watch(listings=(listing_id,))

    def do_cancel(self, listing_id: int, caller: str) -> None:
        """Market.cancel, or UseRights.cancel for a UseRights id."""
        m = self.model
        use_right = self.is_use_right_id(listing_id)
        prefix = "use-rights" if use_right else "market"
        listing = m.listings.get(listing_id, NO_LISTING)
        error = None
        if listing.seller != caller:
            error = f"{prefix}: not seller"
        elif listing.state != LISTING_ACTIVE:
            error = f"{prefix}: listing not active"
        elif listing.pricing == PRICING_AUCTION and m.auctions[listing_id].highest_bidder != ZERO_ADDRESS:
            error = "market: auction has bids"
        self.watch(listings=(listing_id,))
        self.transact("cancel", caller, error, self.contract_of(listing_id).cancel, listing_id)
        if error is not None:
            return
        self.expect("ListingCancelled", listing_id=listing_id, token_id=listing.token_id, seller=caller)
        listing.state = LISTING_CANCELLED
        if listing.kind == KIND_OWNERSHIP:
            m.release(self.market, caller, listing.payment_token, listing.collateral)
            m.nft_owner[listing.token_id] = caller

    def do_buy(self, listing_id: int, buyer: str, value_offset: int) -> None:
        m, d = self.model, self.d
        listing = self.market_listing(listing_id)
        amount = listing.price + listing.collateral
        value = self.value_for(listing.payment_token, amount, value_offset)
        error = None
        if listing.pricing != PRICING_FIXED:
            error = "market: not a fixed-price sale"
        else:
            error = self.buyer_error(listing, buyer) or self.pay_error(buyer, listing.payment_token, amount, value)
            error = error or self.amount_error(listing.price)
        self.watch(listings=(listing_id,))
        order_id = self.transact("buy", buyer, error, d.market.buy, listing_id, value=value)
        if error is None:
            m.take(self.market, buyer, listing.payment_token, amount)
            assert order_id == self.open_order(listing_id, buyer, listing.price, 0)

    def do_buy_queries(self, listing_id: int, buyer: str, queries: int, value_offset: int) -> None:
        m, d = self.model, self.d
        listing = self.use_right_listing(listing_id)
        amount = listing.price * queries
        value = self.value_for(listing.payment_token, amount, value_offset)
        error = None
        if error := self.buyer_error(listing, buyer, "use-rights"):
            pass
        elif not 0 < queries <= listing.max_queries:
            error = "use-rights: bad query count"
        elif m.nft_owner[listing.token_id] != listing.seller:  # sold, or in custody for an ownership listing
            error = "use-rights: seller not token owner"
        else:
            error = self.pay_error(buyer, listing.payment_token, amount, value, self.use_rights)
            error = error or self.amount_error(amount, "use-rights")
        self.watch(listings=(listing_id,))
        order_id = self.transact(
            "buy_queries", buyer, error, d.use_rights.buy_queries, listing_id, queries, value=value
        )
        if error is None:
            m.take(self.use_rights, buyer, listing.payment_token, amount)
            assert order_id == self.open_order(listing_id, buyer, amount, queries)

    def query_signature(
        self, order_id: int, order: OrderM, listing: ListingM, kind: str
    ) -> tuple[bytes, bytes, str | None]:
        """(query hash, signature, the signature check's revert or None) for a signature of ``kind``."""
        d = self.d
        index = order.queries_total - order.queries_left
        query_hash = digest(f"query-{order_id}-{index}")
        signer = self.signers.get(order.buyer, d.mallory)
        if kind == "other signer":
            signer = self.signers.get(listing.seller, d.mallory)
        signed_index = index + 1 if kind == "stale index" else index
        signed_hash = digest("another query") if kind == "other query" else query_hash
        signature = self.ur.sign_query(signer, order_id, signed_index, signed_hash)
        r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
        if kind == "compact":  # EIP-2098 (r, yParity·2^255 + s): the same signature, accepted
            return query_hash, r + ((v - 27) << 255 | s).to_bytes(32, "big"), None
        if kind == "zero v":
            return query_hash, signature[:64] + b"\x00", "ecdsa: invalid signature"
        if kind == "high s":  # the malleable twin (r, n - s, flipped v)
            return (
                query_hash,
                r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v]),
                "ecdsa: invalid signature `s` value",
            )
        if kind == "short":
            return query_hash, signature[:10], "use-rights: bad buyer signature"
        if kind in ("other signer", "stale index", "other query"):
            return query_hash, signature, "use-rights: bad buyer signature"
        return query_hash, signature, None

    def do_record_query(self, order_id: int, caller: str, kind: str) -> None:
        m, d = self.model, self.d
        order = self.use_right_order(order_id)
        listing = m.listings.get(order.listing_id, NO_LISTING)
        error = None
        if order.state != ORDER_PAID:
            error = "use-rights: order not paid"
        elif listing.seller != caller:
            error = "use-rights: not seller"
        elif self.now > order.deadline:
            error = "use-rights: usage window over"
        elif order.queries_left == 0:
            error = "use-rights: no queries left"
        query_hash, signature, signature_error = digest("no query"), b"", None
        if order.buyer in self.signers and order.queries_total > 0:
            query_hash, signature, signature_error = self.query_signature(order_id, order, listing, kind)
        error = error or signature_error
        result_hash = digest(f"result-{order_id}")
        self.watch(orders=(order_id,))
        self.transact(
            "record_query", caller, error, d.use_rights.record_query, order_id, query_hash, result_hash, signature
        )
        if error is not None:
            return
        fee = listing.price * order.fee_bps // 10_000
        self.expect(
            "QueryAnswered",
            order_id=order_id,
            index=order.queries_total - order.queries_left,
            query_hash=query_hash,
            result_hash=result_hash,
            seller_amount=listing.price - fee,
            fee=fee,
        )
        order.queries_left -= 1
        order.amount -= listing.price
        m.release(self.use_rights, caller, listing.payment_token, listing.price - fee)
        m.release(self.use_rights, m.owner, listing.payment_token, fee)

    def do_expire(self, order_id: int, caller: str) -> None:
        m, d = self.model, self.d
        order = self.use_right_order(order_id)
        error = None
        if order.state != ORDER_PAID:
            error = "use-rights: order not paid"
        elif self.now <= order.deadline:
            error = "use-rights: usage window not over"
        self.watch(orders=(order_id,))
        self.transact("expire", caller, error, d.use_rights.expire, order_id)
        if error is not None:
            return
        refund = order.amount
        self.expect(
            "Settled",
            order_id=order_id,
            listing_id=order.listing_id,
            outcome=OUTCOME_USE_RIGHT_EXPIRED,
            seller_credit=0,
            buyer_credit=refund,
            fee=0,
        )
        order.amount = 0
        m.set_order_state(order_id, ORDER_REFUNDED if order.queries_left == order.queries_total else ORDER_COMPLETED)
        m.release(self.use_rights, order.buyer, m.listings[order.listing_id].payment_token, refund)

    def do_make_offer(self, listing_id: int, buyer: str, amount: int, expiry: int, value_offset: int) -> None:
        m, d = self.model, self.d
        listing = self.market_listing(listing_id)
        escrow = amount + listing.collateral
        value = self.value_for(listing.payment_token, escrow, value_offset)
        error = None
        if listing.pricing != PRICING_NEGOTIATED:
            error = "market: not negotiable"
        elif error := self.buyer_error(listing, buyer):
            pass
        elif amount == 0:
            error = "market: zero amount"
        elif not self.now < expiry <= self.now + MAX_WINDOW:
            error = "market: bad expiry"
        else:
            error = self.pay_error(buyer, listing.payment_token, escrow, value)
        self.watch(listings=(listing_id,))
        offer_id = self.transact(
            "make_offer", buyer, error, d.market.make_offer, listing_id, amount, expiry, value=value
        )
        if error is not None:
            return
        assert offer_id == len(m.offers) + 1
        m.take(self.market, buyer, listing.payment_token, escrow)
        m.offers[offer_id] = OfferM(listing_id, buyer, amount, 0, expiry, OFFER_OPEN)
        self.expect("OfferMade", offer_id=offer_id, listing_id=listing_id, buyer=buyer, amount=amount, expiry=expiry)
        self.watch(offers=(offer_id,))

    def live_offer_error(self, offer: OfferM) -> str | None:
        """Market._live_offer."""
        if offer.state not in LIVE_OFFER:
            return "market: offer not open"
        if self.now > offer.expiry:
            return "market: offer expired"
        return None

    def do_counter_offer(self, offer_id: int, caller: str, counter: int) -> None:
        m, d = self.model, self.d
        offer = m.offers.get(offer_id, NO_OFFER)
        listing = m.listings.get(offer.listing_id, NO_LISTING)
        error = self.live_offer_error(offer)
        if error is not None:
            pass
        elif listing.seller != caller:
            error = "market: not seller"
        elif listing.state != LISTING_ACTIVE:
            error = "market: listing not active"
        elif counter == 0 or counter == offer.amount:
            error = "market: bad counter"
        self.watch(offers=(offer_id,))
        self.transact("counter_offer", caller, error, d.market.counter_offer, offer_id, counter)
        if error is None:
            self.expect("OfferCountered", offer_id=offer_id, listing_id=offer.listing_id, counter=counter)
            offer.counter = counter
            offer.state = OFFER_COUNTERED

    def do_accept_offer(self, offer_id: int, caller: str) -> None:
        m, d = self.model, self.d
        offer = m.offers.get(offer_id, NO_OFFER)
        listing = m.listings.get(offer.listing_id, NO_LISTING)
        error = self.live_offer_error(offer)
        if error is not None:
            pass
        elif listing.seller != caller:
            error = "market: not seller"
        else:
            error = self.buyer_error(listing, offer.buyer) or self.amount_error(offer.amount)
        self.watch(offers=(offer_id,))
        order_id = self.transact("accept_offer", caller, error, d.market.accept_offer, offer_id)
        if error is not None:
            return
        offer.state = OFFER_ACCEPTED
        assert order_id == self.open_order(offer.listing_id, offer.buyer, offer.amount, 0)
        m.order_of_offer[offer_id] = order_id
        self.expect("OfferAccepted", offer_id=offer_id, order_id=order_id, price=offer.amount)

    def do_accept_counter(self, offer_id: int, caller: str, value_offset: int, counter_offset: int = 0) -> None:
        m, d = self.model, self.d
        offer = m.offers.get(offer_id, NO_OFFER)
        named = max(offer.counter + counter_offset, 0)  # the counter the buyer names (read before a new counter)
        listing = m.listings.get(offer.listing_id, NO_LISTING)
        top_up = max(offer.counter - offer.amount, 0)
        value = self.value_for(listing.payment_token, top_up, value_offset)
        error = self.live_offer_error(offer)
        if error is not None:
            pass
        elif offer.buyer != caller:
            error = "market: not offer buyer"
        elif offer.state != OFFER_COUNTERED:
            error = "market: no counter"
        elif named != offer.counter:
            error = "market: counter changed"
        elif (audit := self.buyer_error(listing, caller)) is not None:
            error = audit
        elif offer.counter > offer.amount:
            error = self.pay_error(caller, listing.payment_token, top_up, value) or self.amount_error(offer.counter)
        elif value != 0:
            error = "market: wrong value"
        self.watch(offers=(offer_id,))
        order_id = self.transact("accept_counter", caller, error, d.market.accept_counter, offer_id, named, value=value)
        if error is not None:
            return
        if top_up > 0:
            m.take(self.market, caller, listing.payment_token, top_up)
        else:
            m.release(self.market, caller, listing.payment_token, offer.amount - offer.counter)
        offer.state = OFFER_ACCEPTED
        assert order_id == self.open_order(offer.listing_id, caller, offer.counter, 0)
        m.order_of_offer[offer_id] = order_id
        self.expect("OfferAccepted", offer_id=offer_id, order_id=order_id, price=offer.counter)

    def do_reject_offer(self, offer_id: int, caller: str) -> None:
        m, d = self.model, self.d
        offer = m.offers.get(offer_id, NO_OFFER)
        error = None
        if offer.state not in LIVE_OFFER:
            error = "market: offer not open"
        elif m.listings[offer.listing_id].seller != caller:
            error = "market: not seller"
        self.watch(offers=(offer_id,))
        self.transact("reject_offer", caller, error, d.market.reject_offer, offer_id)
        if error is None:
            self.close_offer(offer_id, caller, rejected=True)

    def do_withdraw_offer(self, offer_id: int, caller: str) -> None:
        m, d = self.model, self.d
        offer = m.offers.get(offer_id, NO_OFFER)
        error = None
        if offer.state not in LIVE_OFFER:
            error = "market: offer not open"
        elif offer.buyer != caller and self.now <= offer.expiry:
            error = "market: not offer buyer"
        self.watch(offers=(offer_id,))
        self.transact("withdraw_offer", caller, error, d.market.withdraw_offer, offer_id)
        if error is None:
            self.close_offer(offer_id, caller, rejected=False)

    def do_bid(self, listing_id: int, bidder: str, amount: int, value_offset: int) -> None:
        m, d = self.model, self.d
        listing = self.market_listing(listing_id)
        auction = m.auctions.get(listing_id, NO_AUCTION)
        escrow = amount + listing.collateral
        value = self.value_for(listing.payment_token, escrow, value_offset)
        error = None
        if listing.pricing != PRICING_AUCTION:
            error = "market: not an auction"
        elif self.now >= auction.end_time:
            error = "market: auction ended"
        elif error := self.buyer_error(listing, bidder):
            pass
        elif amount < listing.price:
            error = "market: below reserve"
        elif amount > MAX_AMOUNT:
            error = "market: amount too large"
        elif auction.highest_bidder != ZERO_ADDRESS and amount < auction.highest_bid + auction.min_increment:
            error = "market: bid too low"
        else:
            error = self.pay_error(bidder, listing.payment_token, escrow, value)
        self.watch(listings=(listing_id,))
        self.transact("bid", bidder, error, d.market.bid, listing_id, amount, value=value)
        if error is not None:
            return
        self.expect("BidPlaced", listing_id=listing_id, bidder=bidder, amount=amount, outbid=auction.highest_bidder)
        m.take(self.market, bidder, listing.payment_token, escrow)
        if auction.highest_bidder != ZERO_ADDRESS:
            outbid = auction.highest_bid + listing.collateral
            m.release(self.market, auction.highest_bidder, listing.payment_token, outbid)
        auction.highest_bidder, auction.highest_bid = bidder, amount
        if auction.end_time - self.now < AUCTION_EXTENSION:  # soft close
            auction.end_time = self.now + AUCTION_EXTENSION
            self.expect("AuctionExtended", listing_id=listing_id, end_time=auction.end_time)

    def do_settle(self, listing_id: int, caller: str) -> None:
        m, d = self.model, self.d
        listing = self.market_listing(listing_id)
        auction = m.auctions.get(listing_id, NO_AUCTION)
        error = None
        if listing.pricing != PRICING_AUCTION:
            error = "market: not an auction"
        elif listing.state != LISTING_ACTIVE:
            error = "market: listing not active"
        elif self.now < auction.end_time:
            error = "market: auction not ended"
        elif auction.highest_bidder != ZERO_ADDRESS:
            error = self.amount_error(auction.highest_bid)
        self.watch(listings=(listing_id,))
        order_id = self.transact("settle", caller, error, d.market.settle, listing_id)
        if error is not None:
            return
        if auction.highest_bidder == ZERO_ADDRESS:
            assert order_id == 0
            self.expect("AuctionSettled", listing_id=listing_id, winner=ZERO_ADDRESS, amount=0, order_id=0)
            listing.state = LISTING_CLOSED
            m.release(self.market, listing.seller, listing.payment_token, listing.collateral)
            m.nft_owner[listing.token_id] = listing.seller
        else:
            assert order_id == self.open_order(listing_id, auction.highest_bidder, auction.highest_bid, 0)
            self.expect(
                "AuctionSettled",
                listing_id=listing_id,
                winner=auction.highest_bidder,
                amount=auction.highest_bid,
                order_id=order_id,
            )

    def do_deliver(self, order_id: int, caller: str, empty_hash: bool) -> None:
        m, d = self.model, self.d
        order = self.market_order(order_id)
        listing = m.listings.get(order.listing_id, NO_LISTING)
        delivery_hash = ZERO_BYTES32 if empty_hash else digest(f"ciphertext-{order_id}")
        error = None
        if order.state != ORDER_PAID:
            error = "market: order not paid"
        elif listing.seller != caller:
            error = "market: not seller"
        elif self.now > order.deadline:
            error = "market: delivery deadline passed"
        elif empty_hash:
            error = "market: empty delivery hash"
        self.watch(orders=(order_id,))
        self.transact("deliver", caller, error, d.market.deliver, order_id, delivery_hash)
        if error is None:
            deadline = self.now + listing.confirm_window
            self.expect(
                "Delivered", order_id=order_id, seller=caller, delivery_hash=delivery_hash, confirm_deadline=deadline
            )
            m.set_order_state(order_id, ORDER_DELIVERED)
            order.deadline = deadline

    def do_confirm(self, order_id: int, caller: str) -> None:
        d = self.d
        order = self.market_order(order_id)
        error = None
        if order.buyer != caller:
            error = "market: not buyer"
        elif order.state not in (ORDER_DELIVERED, ORDER_DISPUTED):
            error = "market: order not delivered"
        self.watch(orders=(order_id,))
        self.transact("confirm", caller, error, d.market.confirm, order_id)
        if error is None:
            self.settle_for_seller(order_id, OUTCOME_CONFIRMED)

    def do_dispute(self, order_id: int, caller: str) -> None:
        m, d = self.model, self.d
        order = self.market_order(order_id)
        reason_hash = digest(f"reason-{order_id}")
        error = None
        if order.state != ORDER_DELIVERED:
            error = "market: order not delivered"
        elif caller not in (order.buyer, m.owner):
            error = "market: not buyer or platform"
        elif self.now > order.deadline:
            error = "market: confirm deadline passed"
        self.watch(orders=(order_id,))
        self.transact("dispute", caller, error, d.market.dispute, order_id, reason_hash)
        if error is None:
            deadline = self.now + m.dispute_window
            self.expect("Disputed", order_id=order_id, by=caller, reason_hash=reason_hash, resolve_deadline=deadline)
            m.set_order_state(order_id, ORDER_DISPUTED)
            order.deadline = deadline

    def do_resolve(self, order_id: int, caller: str, ruling: int) -> None:
        m, d = self.model, self.d
        order = self.market_order(order_id)
        evidence_hash = digest(f"evidence-{order_id}")
        error = None
        if caller != m.owner:
            error = "ownable: caller is not the owner"
        elif ruling not in (RULING_FOR_SELLER, RULING_REDELIVERED, RULING_FOR_BUYER):
            error = "market: bad ruling"
        elif order.state != ORDER_DISPUTED:
            error = "market: order not disputed"
        elif self.now > order.deadline:
            error = "market: dispute deadline passed"
        self.watch(orders=(order_id,))
        self.transact("resolve", caller, error, d.market.resolve, order_id, ruling, evidence_hash)
        if error is not None:
            return
        self.expect("Resolved", order_id=order_id, ruling=ruling, evidence_hash=evidence_hash)
        if ruling == RULING_FOR_SELLER:
            self.settle_for_seller(order_id, OUTCOME_FOR_SELLER)
        elif ruling == RULING_REDELIVERED:
            self.settle_for_seller(order_id, OUTCOME_REDELIVERED)
        else:
            self.settle_for_buyer(order_id, OUTCOME_FOR_BUYER)

    def do_release(self, order_id: int, caller: str) -> None:
        d = self.d
        order = self.market_order(order_id)
        error = None
        if order.state != ORDER_DELIVERED:
            error = "market: order not delivered"
        elif self.now <= order.deadline:
            error = "market: confirm deadline not passed"
        self.watch(orders=(order_id,))
        self.transact("release", caller, error, d.market.release, order_id)
        if error is None:
            self.settle_for_seller(order_id, OUTCOME_RELEASED)

    def do_refund(self, order_id: int, caller: str) -> None:
        d = self.d
        order = self.market_order(order_id)
        error = None
        if order.state not in (ORDER_PAID, ORDER_DISPUTED):
            error = "market: not refundable"
        elif order.state == ORDER_PAID and self.now <= order.deadline:
            error = "market: delivery deadline not passed"
        elif order.state == ORDER_DISPUTED and self.now <= order.deadline:
            error = "market: dispute deadline not passed"
        self.watch(orders=(order_id,))
        self.transact("refund", caller, error, d.market.refund, order_id)
        if error is None:
            outcome = OUTCOME_NOT_DELIVERED if order.state == ORDER_PAID else OUTCOME_DISPUTE_TIMEOUT
            self.settle_for_buyer(order_id, outcome)

    def do_withdraw(self, account: str, payment_token: str, book: str | None = None) -> None:
        """escrow.withdraw of the Market, or of UseRights when ``book`` is its address."""
        m = self.model
        book = book or self.market
        amount = m.pending.get((book, account, payment_token), 0)
        error = None if amount > 0 else "escrow: nothing to withdraw"
        self.transact("withdraw", account, error, self.contract_at(book).withdraw, payment_token)
        if error is not None:
            return
        self.expect("Withdrawn", account=account, payment_token=payment_token, amount=amount)
        m.pending[(book, account, payment_token)] = 0
        if payment_token == ETHER:
            m.ether[account] += amount
        else:
            m.tokens[account] += amount

    # --- seeding: most runs start with deals in every state, so deep actions have targets from the first step --

    @initialize(seed=st.sampled_from([True, True, True, False]), payments=st.lists(PAYMENTS, min_size=7, max_size=7))
    def seed_market(self, seed: bool, payments: list[str]) -> None:
        """Alice, Bob and Carol open (model-checked, not counted as steps): fixed-price orders Paid, Delivered and
        Disputed, an active fixed-price listing, a negotiation with an open and a countered offer, an auction
        with a bid and a use-right order with one query answered; each deal in ether or the token."""
        self.steps_here += 1  # a hypothesis step, though not a counted rule step
        if not seed:
            return
        m = self.model
        alice, bob, carol = self.d.alice.address, self.d.bob.address, self.d.carol.address
        price, collateral = 10**18, 10**17
        tokens = [self.payment_token(payment) for payment in payments]
        self.recording = False

        def free_token(owner: str) -> int:
            return min(t for t, holder in m.nft_owner.items() if holder == owner)

        for stage, (seller, buyer) in enumerate([(alice, bob), (alice, bob), (carol, bob)]):
            self.do_list(PRICING_FIXED, seller, free_token(seller), price, collateral, tokens[stage], 3_600, 7_200, 0)
            self.do_buy(len(m.listings), buyer, 0)
            if stage >= 1:
                self.do_deliver(len(m.orders), seller, empty_hash=False)
            if stage >= 2:
                self.do_dispute(len(m.orders), buyer)
        self.do_list(PRICING_FIXED, bob, free_token(bob), price, collateral, tokens[3], 3_600, 7_200, 0)
        self.do_list(PRICING_NEGOTIATED, carol, free_token(carol), price, collateral, tokens[4], 3_600, 7_200, 0)
        self.do_make_offer(len(m.listings), bob, price, self.now + 86_400, 0)
        self.do_make_offer(len(m.listings), alice, price // 2, self.now + 3_600, 0)
        self.do_counter_offer(len(m.offers), carol, price * 3 // 4)
        self.do_list(
            PRICING_AUCTION, bob, free_token(bob), price, collateral, tokens[5], 3_600, 7_200, 0, 10**15, 3_600
        )
        self.do_bid(len(m.listings), alice, price, 0)
        self.do_list_use_right(alice, free_token(alice), price // 10, 10, 86_400, tokens[6], digest("odrl-policy"), 0)
        self.do_buy_queries(OFFSET + 1, bob, 3, 0)
        self.do_record_query(OFFSET + 1, alice, "valid")
        self.recording = True
        assert all(o.state in LIVE_ORDER for o in m.orders.values()) and len(m.orders) == 4
        assert [o.state for o in m.offers.values()] == [OFFER_OPEN, OFFER_COUNTERED]

    # --- rules: draw the parties and inputs (valid unless ``flaw`` says which one is wrong), then act -----------

    def listing_for(
        self, flaw: str | None, pick: int, good: Callable[[ListingM], bool], running: bool | None = None
    ) -> int:
        """A ``good`` listing, for an auction preferably one still running (``running`` True) or ended (False)."""
        m, now = self.model, self.now
        fitting = [i for i, lst in m.listings.items() if good(lst)]
        if running is not None:
            fitting = [i for i in fitting if (now < m.auctions[i].end_time) == running] or fitting
        return self.choose(flaw != "listing", pick, fitting, list(m.listings))

    def order_for(self, flaw: str | None, pick: int, good: Callable[[OrderM], bool], timely: bool | None = None) -> int:
        """A ``good`` order, preferably one whose deadline has (``timely`` False) or has not (True) passed."""
        m, now = self.model, self.now
        fitting = [i for i, o in m.orders.items() if good(o)]
        if timely is not None:
            fitting = [i for i in fitting if (m.orders[i].deadline >= now) == timely] or fitting
        return self.choose(flaw != "order", pick, fitting, list(m.orders))

    def offer_for(self, flaw: str | None, pick: int, good: Callable[[OfferM], bool], timely: bool = True) -> int:
        """A ``good`` offer, preferably one not yet expired (``timely``) or expired."""
        m, now = self.model, self.now
        fitting = [i for i, o in m.offers.items() if good(o)]
        fitting = [i for i in fitting if (m.offers[i].expiry >= now) == timely] or fitting
        return self.choose(flaw != "offer", pick, fitting, list(m.offers))

    def seller_and_token(self, flaw: str | None, seller: int, token_pick: int) -> tuple[str, int]:
        """An audited trader holding a data NFT and one of its NFTs, unless ``flaw`` is "seller" or "token"."""
        m = self.model
        holders = sorted({owner for owner in m.nft_owner.values() if owner in self.traders and m.audited(owner)})
        accounts = self.everyone if flaw == "seller" else holders or self.traders
        account = accounts[seller % len(accounts)]
        tokens = sorted(t for t, owner in m.nft_owner.items() if (owner == account) != (flaw == "token"))
        tokens = tokens or sorted(m.nft_owner)
        return account, tokens[token_pick % len(tokens)]

    def wait(self, moment: int, when: str | None) -> None:
        """Time passes to exactly ``moment`` ("at") or one second past it ("after"), if that is still ahead:
        every deadline guard switches there."""
        if when is not None and moment > 0:
            target = moment + (1 if when == "after" else 0)
            if target > self.now:
                self.d.env.time_travel(seconds=target - self.now)

    @staticmethod
    def offset(flaw: str | None, bad: int) -> int:
        """The msg.value error: one wei short or over when ``flaw`` is "value"."""
        return (-1, 1)[bad % 2] if flaw == "value" else 0

    def list_ownership(
        self,
        pricing: int,
        flaw: str | None,
        seller: int,
        token_pick: int,
        price: int,
        collateral: int,
        payment: str,
        delivery_window: int,
        confirm_window: int,
        bad: int,
        min_increment: int = 1,
        duration: int = MIN_WINDOW,
    ) -> None:
        account, token_id = self.seller_and_token(flaw, seller, token_pick)
        bad_window = BAD_WINDOWS[bad % len(BAD_WINDOWS)]
        self.do_list(
            pricing,
            account,
            token_id,
            0 if flaw == "price" else price,
            collateral,
            self.bogus_token if flaw == "payment_token" else self.payment_token(payment),
            bad_window if flaw == "delivery_window" else delivery_window,
            bad_window if flaw == "confirm_window" else confirm_window,
            self.offset(flaw, bad),
            0 if flaw == "increment" else min_increment,
            bad_window if flaw == "duration" else duration,
        )

    @rule(flaw=flaws(*OWNERSHIP_FLAWS), **OWNERSHIP_TERMS)
    @counted
    def list_fixed(self, **terms: Any) -> None:
        self.list_ownership(PRICING_FIXED, **terms)

    @rule(flaw=flaws(*OWNERSHIP_FLAWS), **OWNERSHIP_TERMS)
    @counted
    def list_negotiable(self, **terms: Any) -> None:
        self.list_ownership(PRICING_NEGOTIATED, **terms)

    @rule(
        flaw=flaws(*OWNERSHIP_FLAWS, "increment", "duration"),
        min_increment=INCREMENTS,
        duration=WINDOWS,
        **OWNERSHIP_TERMS,
    )
    @counted
    def list_auction(self, **terms: Any) -> None:
        self.list_ownership(PRICING_AUCTION, **terms)

    @rule(
        flaw=flaws("seller", "token", "price", "max_queries", "usage_window", "policy", "payment_token", "value"),
        seller=PICK,
        token_pick=PICK,
        price=PRICES,
        max_queries=MAX_QUERY_CHOICES,
        usage_window=WINDOWS,
        payment=PAYMENTS,
        bad=PICK,
    )
    @counted
    def list_use_right(
        self,
        flaw: str | None,
        seller: int,
        token_pick: int,
        price: int,
        max_queries: int,
        usage_window: int,
        payment: str,
        bad: int,
    ) -> None:
        account, token_id = self.seller_and_token(flaw, seller, token_pick)
        self.do_list_use_right(
            account,
            token_id,
            0 if flaw == "price" else price,
            BAD_MAX_QUERIES[bad % 2] if flaw == "max_queries" else max_queries,
            BAD_WINDOWS[bad % len(BAD_WINDOWS)] if flaw == "usage_window" else usage_window,
            self.bogus_token if flaw == "payment_token" else self.payment_token(payment),
            ZERO_BYTES32 if flaw == "policy" else digest(f"odrl-policy-{token_id}"),
            self.offset(flaw, bad),
        )

    @precondition(lambda self: self.exists(self.model.listings, lambda lst: lst.state == LISTING_ACTIVE))
    @rule(flaw=flaws("listing", "caller"), pick=PICK, who=PICK)
    @counted
    def cancel(self, flaw: str | None, pick: int, who: int) -> None:
        listing_id = self.listing_for(flaw, pick, lambda lst: lst.state == LISTING_ACTIVE)
        seller = self.model.listings.get(listing_id, NO_LISTING).seller
        self.do_cancel(listing_id, self.caller(flaw != "caller", seller, who))

    @precondition(lambda self: self.exists(self.model.listings, is_fixed_sale))
    @rule(flaw=flaws("listing", "buyer", "value"), pick=PICK, who=PICK, bad=PICK)
    @counted
    def buy(self, flaw: str | None, pick: int, who: int, bad: int) -> None:
        listing_id = self.listing_for(
            flaw,
            pick,
            is_fixed_sale,
        )
        listing = self.model.listings.get(listing_id, NO_LISTING)
        self.do_buy(listing_id, self.buyer_for(flaw != "buyer", listing, who), self.offset(flaw, bad))

    @precondition(lambda self: self.exists(self.model.listings, is_use_right_sale))
    @rule(flaw=flaws("listing", "buyer", "queries", "value"), pick=PICK, who=PICK, queries=QUERY_COUNTS, bad=PICK)
    @counted
    def buy_queries(self, flaw: str | None, pick: int, who: int, queries: int, bad: int) -> None:
        listing_id = self.listing_for(flaw, pick, is_use_right_sale)
        listing = self.model.listings.get(listing_id, NO_LISTING)
        count = (0, listing.max_queries + 1)[bad % 2] if flaw == "queries" else min(queries, listing.max_queries)
        self.do_buy_queries(listing_id, self.buyer_for(flaw != "buyer", listing, who), count, self.offset(flaw, bad))

    @precondition(lambda self: self.exists(self.model.orders, has_queries_left))
    @rule(flaw=flaws("order", "caller", *SIGNATURE_FLAWS), pick=PICK, who=PICK, compact=UNLIKELY, when=WHEN)
    @counted
    def record_query(self, flaw: str | None, pick: int, who: int, compact: bool, when: str | None) -> None:
        m = self.model
        order_id = self.order_for(flaw, pick, has_queries_left, timely=True)
        self.wait(m.orders.get(order_id, NO_ORDER).deadline, when)
        seller = m.listings.get(m.orders.get(order_id, NO_ORDER).listing_id, NO_LISTING).seller
        kind = flaw if flaw in SIGNATURE_FLAWS else "compact" if compact else "valid"
        self.do_record_query(order_id, self.caller(flaw != "caller", seller, who), kind)

    @precondition(lambda self: self.exists(self.model.orders, is_open_use_right_order))
    @rule(flaw=flaws("order"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def expire(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        order_id = self.order_for(flaw, pick, is_open_use_right_order, timely=False)
        self.wait(self.model.orders.get(order_id, NO_ORDER).deadline, when)
        self.do_expire(order_id, self.everyone[who % len(self.everyone)])

    @precondition(lambda self: self.exists(self.model.listings, is_negotiation))
    @rule(
        flaw=flaws("listing", "buyer", "amount", "expiry", "value"),
        pick=PICK,
        who=PICK,
        amount=OFFER_AMOUNTS,
        extra=EXTRAS,
        expiry=EXPIRY_DELTAS,
        bad=PICK,
    )
    @counted
    def make_offer(self, flaw: str | None, pick: int, who: int, amount: str, extra: int, expiry: int, bad: int) -> None:
        listing_id = self.listing_for(flaw, pick, is_negotiation)
        listing = self.model.listings.get(listing_id, NO_LISTING)
        offered = {"ask": listing.price, "below": max(listing.price // 2, 1), "above": listing.price + extra}[amount]
        self.do_make_offer(
            listing_id,
            self.buyer_for(flaw != "buyer", listing, who),
            0 if flaw == "amount" else offered,
            self.now + (BAD_EXPIRY_DELTAS[bad % 2] if flaw == "expiry" else expiry),
            self.offset(flaw, bad),
        )

    @precondition(lambda self: self.exists(self.model.offers, is_live_offer))
    @rule(
        flaw=flaws("offer", "caller", "counter"),
        pick=PICK,
        who=PICK,
        counter=COUNTERS,
        delta=EXTRAS,
        bad=PICK,
        when=WHEN,
    )
    @counted
    def counter_offer(
        self, flaw: str | None, pick: int, who: int, counter: str, delta: int, bad: int, when: str | None
    ) -> None:
        m = self.model
        offer_id = self.offer_for(flaw, pick, is_live_offer)
        offer = m.offers.get(offer_id, NO_OFFER)
        self.wait(offer.expiry, when)
        seller = m.listings.get(offer.listing_id, NO_LISTING).seller
        price = offer.amount + delta
        if counter == "down" and offer.amount > delta:
            price = offer.amount - delta
        if flaw == "counter":
            price = (offer.amount, 0)[bad % 2]
        self.do_counter_offer(offer_id, self.caller(flaw != "caller", seller, who), price)

    @precondition(lambda self: self.exists(self.model.offers, is_live_offer))
    @rule(flaw=flaws("offer", "caller"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def accept_offer(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        m = self.model
        offer_id = self.offer_for(flaw, pick, is_live_offer)
        self.wait(m.offers.get(offer_id, NO_OFFER).expiry, when)
        seller = m.listings.get(m.offers.get(offer_id, NO_OFFER).listing_id, NO_LISTING).seller
        self.do_accept_offer(offer_id, self.caller(flaw != "caller", seller, who))

    @precondition(lambda self: self.exists(self.model.offers, lambda o: o.state == OFFER_COUNTERED))
    @rule(flaw=flaws("offer", "caller", "value", "counter"), pick=PICK, who=PICK, bad=PICK, when=WHEN)
    @counted
    def accept_counter(self, flaw: str | None, pick: int, who: int, bad: int, when: str | None) -> None:
        offer_id = self.offer_for(flaw, pick, lambda o: o.state == OFFER_COUNTERED)
        self.wait(self.model.offers.get(offer_id, NO_OFFER).expiry, when)
        buyer = self.model.offers.get(offer_id, NO_OFFER).buyer
        stale = (-1, 1)[bad % 2] * (1 + bad) if flaw == "counter" else 0  # a counter other than the seller's
        self.do_accept_counter(offer_id, self.caller(flaw != "caller", buyer, who), self.offset(flaw, bad), stale)

    @precondition(lambda self: self.exists(self.model.offers, is_live_offer))
    @rule(flaw=flaws("offer", "caller"), pick=PICK, who=PICK)
    @counted
    def reject_offer(self, flaw: str | None, pick: int, who: int) -> None:
        m = self.model
        offer_id = self.offer_for(flaw, pick, is_live_offer)
        seller = m.listings.get(m.offers.get(offer_id, NO_OFFER).listing_id, NO_LISTING).seller
        self.do_reject_offer(offer_id, self.caller(flaw != "caller", seller, who))

    @precondition(lambda self: self.exists(self.model.offers, is_live_offer))
    @rule(flaw=flaws("offer", "caller"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def withdraw_offer(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        """The buyer withdraws; with the "caller" flaw anyone tries (and succeeds after the expiry)."""
        offer_id = self.offer_for(flaw, pick, is_live_offer, timely=flaw != "caller")
        self.wait(self.model.offers.get(offer_id, NO_OFFER).expiry, when)
        buyer = self.model.offers.get(offer_id, NO_OFFER).buyer
        self.do_withdraw_offer(offer_id, self.caller(flaw != "caller", buyer, who))

    @precondition(lambda self: self.exists(self.model.listings, is_auction))
    @rule(
        flaw=flaws("listing", "bidder", "amount", "value"),
        pick=PICK,
        who=PICK,
        raise_by=BID_RAISES,
        extra=EXTRAS,
        bad=PICK,
        when=WHEN,
    )
    @counted
    def bid(self, flaw: str | None, pick: int, who: int, raise_by: str, extra: int, bad: int, when: str | None) -> None:
        m = self.model
        listing_id = self.listing_for(flaw, pick, is_auction, running=True)
        self.wait(m.auctions.get(listing_id, NO_AUCTION).end_time, when)
        listing = m.listings.get(listing_id, NO_LISTING)
        auction = m.auctions.get(listing_id, NO_AUCTION)
        lowest = listing.price
        if auction.highest_bidder != ZERO_ADDRESS:
            lowest = auction.highest_bid + auction.min_increment
        amount = lowest + extra if raise_by == "over" else lowest
        if flaw == "amount":
            amount = max(lowest - 1, 0)
        bidder = self.buyer_for(flaw != "bidder", listing, who)
        self.do_bid(listing_id, bidder, amount, self.offset(flaw, bad))

    @precondition(lambda self: self.exists(self.model.listings, is_auction))
    @rule(flaw=flaws("listing"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def settle(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        listing_id = self.listing_for(flaw, pick, is_auction, running=False)
        self.wait(self.model.auctions.get(listing_id, NO_AUCTION).end_time, when)
        self.do_settle(listing_id, self.everyone[who % len(self.everyone)])

    @precondition(lambda self: self.exists(self.model.orders, is_undelivered))
    @rule(flaw=flaws("order", "caller", "hash"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def deliver(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        m = self.model
        order_id = self.order_for(flaw, pick, is_undelivered, timely=True)
        self.wait(m.orders.get(order_id, NO_ORDER).deadline, when)
        seller = m.listings.get(m.orders.get(order_id, NO_ORDER).listing_id, NO_LISTING).seller
        self.do_deliver(order_id, self.caller(flaw != "caller", seller, who), empty_hash=flaw == "hash")

    @precondition(lambda self: self.exists(self.model.orders, lambda o: o.state in (ORDER_DELIVERED, ORDER_DISPUTED)))
    @rule(flaw=flaws("order", "caller"), pick=PICK, who=PICK)
    @counted
    def confirm(self, flaw: str | None, pick: int, who: int) -> None:
        order_id = self.order_for(flaw, pick, lambda o: o.state in (ORDER_DELIVERED, ORDER_DISPUTED))
        buyer = self.model.orders.get(order_id, NO_ORDER).buyer
        self.do_confirm(order_id, self.caller(flaw != "caller", buyer, who))

    @precondition(lambda self: self.exists(self.model.orders, lambda o: o.state == ORDER_DELIVERED))
    @rule(flaw=flaws("order", "caller"), pick=PICK, who=PICK, by_platform=UNLIKELY, when=WHEN)
    @counted
    def dispute(self, flaw: str | None, pick: int, who: int, by_platform: bool, when: str | None) -> None:
        m = self.model
        order_id = self.order_for(flaw, pick, lambda o: o.state == ORDER_DELIVERED, timely=True)
        self.wait(m.orders.get(order_id, NO_ORDER).deadline, when)
        party = m.owner if by_platform else m.orders.get(order_id, NO_ORDER).buyer
        self.do_dispute(order_id, self.caller(flaw != "caller", party, who))

    @precondition(lambda self: self.exists(self.model.orders, lambda o: o.state == ORDER_DISPUTED))
    @rule(flaw=flaws("order", "caller", "ruling"), pick=PICK, who=PICK, ruling=RULINGS, bad=PICK, when=WHEN)
    @counted
    def resolve(self, flaw: str | None, pick: int, who: int, ruling: int, bad: int, when: str | None) -> None:
        order_id = self.order_for(flaw, pick, lambda o: o.state == ORDER_DISPUTED, timely=True)
        self.wait(self.model.orders.get(order_id, NO_ORDER).deadline, when)
        ruling = BAD_RULINGS[bad % len(BAD_RULINGS)] if flaw == "ruling" else ruling
        self.do_resolve(order_id, self.caller(flaw != "caller", self.model.owner, who), ruling)

    @precondition(lambda self: self.exists(self.model.orders, lambda o: o.state == ORDER_DELIVERED))
    @rule(flaw=flaws("order"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def release(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        order_id = self.order_for(flaw, pick, lambda o: o.state == ORDER_DELIVERED, timely=False)
        self.wait(self.model.orders.get(order_id, NO_ORDER).deadline, when)
        self.do_release(order_id, self.everyone[who % len(self.everyone)])

    @precondition(lambda self: self.exists(self.model.orders, is_refundable))
    @rule(flaw=flaws("order"), pick=PICK, who=PICK, when=WHEN)
    @counted
    def refund(self, flaw: str | None, pick: int, who: int, when: str | None) -> None:
        order_id = self.order_for(flaw, pick, is_refundable, timely=False)
        self.wait(self.model.orders.get(order_id, NO_ORDER).deadline, when)
        self.do_refund(order_id, self.everyone[who % len(self.everyone)])

    @rule(flaw=flaws("account", "token"), who=PICK, payment=PAYMENTS, book=BOOKS)
    @counted
    def withdraw(self, flaw: str | None, who: int, payment: str, book: str) -> None:
        """An account owed something in the token by the Market (or UseRights) withdraws there; flawed: any
        account, or a token nobody is owed."""
        address = self.use_rights if book == "use-rights" else self.market
        payment_token = self.bogus_token if flaw == "token" else self.payment_token(payment)
        owed = [a for a in self.everyone if self.model.pending.get((address, a, payment_token), 0) > 0]
        accounts = owed if owed and flaw != "account" else self.everyone
        self.do_withdraw(accounts[who % len(accounts)], payment_token, address)

    @rule(
        flaw=flaws("caller", "fee", "management_fee", "dispute_window"),
        who=PICK,
        fee_bps=FEES,
        management_fee=MANAGEMENT_FEES,
        dispute_window=DISPUTE_WINDOWS,
        bad=PICK,
    )
    @counted
    def set_parameters(
        self, flaw: str | None, who: int, fee_bps: int, management_fee: int, dispute_window: int, bad: int
    ) -> None:
        m, d = self.model, self.d
        caller = self.caller(flaw != "caller", m.owner, who)
        fee_bps = MAX_FEE_BPS + 1 if flaw == "fee" else fee_bps
        management_fee = MAX_MANAGEMENT_FEE + 1 if flaw == "management_fee" else management_fee
        dispute_window = BAD_WINDOWS[bad % len(BAD_WINDOWS)] if flaw == "dispute_window" else dispute_window
        error = None
        if caller != m.owner:
            error = "ownable: caller is not the owner"
        elif fee_bps > MAX_FEE_BPS:
            error = "market: fee too high"
        elif management_fee > MAX_MANAGEMENT_FEE:
            error = "market: management fee too high"
        elif not MIN_WINDOW <= dispute_window <= MAX_WINDOW:
            error = "market: bad dispute window"
        self.transact("set_parameters", caller, error, d.market.set_parameters, fee_bps, management_fee, dispute_window)
        if error is None:
            self.expect(
                "ParametersChanged", fee_bps=fee_bps, management_fee=management_fee, dispute_window=dispute_window
            )
            m.fee_bps, m.management_fee, m.dispute_window = fee_bps, management_fee, dispute_window

    @rule(
        flaw=flaws("caller", "fee", "management_fee"),
        who=PICK,
        fee_bps=FEES,
        management_fee=MANAGEMENT_FEES,
    )
    @counted
    def set_use_right_parameters(self, flaw: str | None, who: int, fee_bps: int, management_fee: int) -> None:
        """The platform sets UseRights' own brokerage and management fees."""
        m, d = self.model, self.d
        caller = self.caller(flaw != "caller", m.owner, who)
        fee_bps = MAX_FEE_BPS + 1 if flaw == "fee" else fee_bps
        management_fee = MAX_MANAGEMENT_FEE + 1 if flaw == "management_fee" else management_fee
        error = None
        if caller != m.owner:
            error = "ownable: caller is not the owner"
        elif fee_bps > MAX_FEE_BPS:
            error = "use-rights: fee too high"
        elif management_fee > MAX_MANAGEMENT_FEE:
            error = "use-rights: management fee too high"
        self.transact("set_use_right_parameters", caller, error, d.use_rights.set_parameters, fee_bps, management_fee)
        if error is None:
            self.expect("ParametersChanged", fee_bps=fee_bps, management_fee=management_fee)
            m.ur_fee_bps, m.ur_management_fee = fee_bps, management_fee

    @rule(organisation=st.integers(min_value=0, max_value=2), status=STATUSES)
    @counted
    def set_status(self, organisation: int, status: int) -> None:
        """The supervisor audits, suspends or sends back to audit an organisation (mostly re-audits)."""
        m, d = self.model, self.d
        organisation_id = self.organisations[organisation]
        error = "registry: status unchanged" if m.status[organisation_id] == status else None
        self.transact("set_status", d.supervisor.address, error, d.registry.set_status, organisation_id, status)
        m.status[organisation_id] = status

    @rule(who=PICK, amount=ALLOWANCES, book=BOOKS)
    @counted
    def approve_token(self, who: int, amount: int, book: str) -> None:
        """A trader sets the Market's (or UseRights') DemoToken allowance (0 and small ones make token payments
        fail)."""
        account = self.traders[who % len(self.traders)]
        spender = self.use_rights if book == "use-rights" else self.market
        self.transact("approve_token", account, None, self.token.approve, spender, amount)
        self.model.allowance[(account, spender)] = amount

    @rule(seconds=DELAYS)
    @counted
    def time_passes(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    @rule(pick=PICK, offset=st.sampled_from([-1, 0, 0, 1, 1]))
    @counted
    def time_reaches_deadline(self, pick: int, offset: int) -> None:
        """Land on, just before or just after an open deadline, offer expiry or auction end: guards switch there."""
        m = self.model
        moments = sorted(
            {o.deadline for o in m.orders.values() if o.state in LIVE_ORDER}
            | {o.expiry for o in m.offers.values() if o.state in LIVE_OFFER}
            | {a.end_time for i, a in m.auctions.items() if m.listings[i].state == LISTING_ACTIVE}
        )
        if moments:
            target = moments[pick % len(moments)] + offset
            if target > self.now:
                self.d.env.time_travel(seconds=target - self.now)

    # --- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def after_every_step(self) -> None:
        full = self.steps_here % FULL_CHECK_EVERY == 0 or self.steps_here == self.max_steps
        self.market_holds_exactly_what_it_owes()
        self.escrow_is_what_live_deals_hold()
        self.chain_matches_model(full)
        self.states_are_consistent()
        self.value_is_conserved()
        for watched in self.watched.values():
            watched.clear()
        if self.steps_here > 0 and (self.steps_here % self.liveness_every == 0 or self.steps_here == self.max_steps):
            self.nothing_owed_becomes_unclaimable()

    def market_holds_exactly_what_it_owes(self) -> None:
        """For each sale contract, ether and token: its balance is its escrow plus everything it owes to any
        account that can be owed (every actor: an unexpected payee would leave the sum short), and both equal
        the model's."""
        d, m = self.d, self.model
        for book in self.books:
            contract = self.contract_at(book)
            for payment_token in self.payment_tokens:
                owed = 0
                for account in self.everyone:
                    amount = int(contract.pending_withdrawals(account, payment_token))
                    assert amount == m.pending.get((book, account, payment_token), 0), (book, account)
                    owed += amount
                escrowed = int(contract.escrowed(payment_token))
                held = d.balance(book) if payment_token == ETHER else int(self.token.balanceOf(book))
                assert escrowed == m.escrowed[(book, payment_token)], (book, payment_token)
                assert held == escrowed + owed, (book, payment_token)

    def escrow_is_what_live_deals_hold(self) -> None:
        """Recompute escrow from scratch: what the live listings, auctions, offers and orders hold."""
        m, market, use_rights = self.model, self.market, self.use_rights
        held = {(b, t): 0 for b in self.books for t in self.payment_tokens}
        for listing_id, listing in m.listings.items():
            if listing.kind == KIND_OWNERSHIP and listing.state == LISTING_ACTIVE:
                held[(market, listing.payment_token)] += listing.collateral
                auction = m.auctions.get(listing_id)
                if auction is not None and auction.highest_bidder != ZERO_ADDRESS:
                    held[(market, listing.payment_token)] += auction.highest_bid + listing.collateral
        for offer in m.offers.values():
            if offer.state in LIVE_OFFER:
                listing = m.listings[offer.listing_id]
                held[(market, listing.payment_token)] += offer.amount + listing.collateral
        for order in m.orders.values():
            listing = m.listings[order.listing_id]
            if order.queries_total > 0 and order.state == ORDER_PAID:
                held[(use_rights, listing.payment_token)] += order.amount
            elif order.queries_total == 0 and order.state in LIVE_ORDER:
                held[(market, listing.payment_token)] += order.amount + 2 * listing.collateral
        assert held == m.escrowed

    def chain_matches_model(self, full: bool) -> None:
        """Counters and parameters (storage), and through the views the entities this step touched; every
        entity, pending amount and allowance when ``full``."""
        d, m = self.d, self.model
        storage, ur_storage = d.market._storage, d.use_rights._storage
        next_listing, next_order = self.next_id(m.listings, False), self.next_id(m.orders, False)
        next_ur_listing, next_ur_order = self.next_id(m.listings, True), self.next_id(m.orders, True)
        # One counter word: listing_count | order_count << 64 | offer_count << 128 | 1 << 255 (never zero).
        counts = module_word(d.market, "order_book", "_counts")
        assert counts >> 255 == 1 and (counts >> 192) & (2**63 - 1) == 0
        assert counts & (2**64 - 1) == next_listing - 1
        assert (counts >> 64) & (2**64 - 1) == next_order - 1
        assert (counts >> 128) & (2**64 - 1) == len(m.offers)
        assert module_word(d.market, "order_book", "fee_bps") == m.fee_bps
        assert storage.management_fee.get() == m.management_fee
        assert module_word(d.market, "order_lifecycle", "dispute_window") == m.dispute_window
        assert ur_storage._last_listing_id.get() == next_ur_listing - 1
        assert ur_storage._last_order_id.get() == next_ur_order - 1
        assert (ur_storage.fee_bps.get(), ur_storage.management_fee.get()) == (m.ur_fee_bps, m.ur_management_fee)
        listings, orders, offers = self.watched["listings"], self.watched["orders"], self.watched["offers"]
        nfts, accounts = self.watched["nfts"], self.watched["accounts"] & set(self.traders)
        if full:
            listings = {*m.listings, next_listing, next_ur_listing}
            orders = {*m.orders, next_order, next_ur_order}
            offers = {*m.offers, len(m.offers) + 1}
            nfts, accounts = set(m.nft_owner), set(self.traders)
            assert (d.market.listing_count(), d.market.order_count(), d.market.offer_count()) == (
                next_listing - 1,
                next_order - 1,
                len(m.offers),
            )
            assert (d.use_rights.listing_count(), d.use_rights.order_count()) == (
                next_ur_listing - OFFSET - 1,
                next_ur_order - OFFSET - 1,
            )
            assert (d.market.fee_bps(), d.market.management_fee(), d.market.dispute_window()) == (
                m.fee_bps,
                m.management_fee,
                m.dispute_window,
            )
            assert (d.use_rights.fee_bps(), d.use_rights.management_fee()) == (m.ur_fee_bps, m.ur_management_fee)
        for listing_id in listings:
            view = self.contract_of(listing_id).listing(listing_id)
            assert tuple(view) == astuple(m.listings.get(listing_id, NO_LISTING)), listing_id
            assert tuple(d.market.auctions(listing_id)) == astuple(m.auctions.get(listing_id, NO_AUCTION)), listing_id
            if listing_id in m.listing_fee_bps:
                assert self.contract_of(listing_id).listing_fee_bps(listing_id) == m.listing_fee_bps[listing_id], (
                    listing_id
                )
        for order_id in orders:
            view = self.contract_of(order_id).order(order_id)
            assert tuple(view) == astuple(m.orders.get(order_id, NO_ORDER)), order_id
        for offer_id in offers:
            assert tuple(d.market.offers(offer_id)) == astuple(m.offers.get(offer_id, NO_OFFER)), offer_id
        for token_id in nfts:
            assert d.catalog.ownerOf(token_id) == m.nft_owner[token_id], token_id
        for account in accounts:
            for spender in self.books:
                assert int(self.token.allowance(account, spender)) == m.allowance[(account, spender)], account

    def states_are_consistent(self) -> None:
        """Each order in exactly one state, matching its listing's; one order per sold or pending listing; the
        NFT in market custody exactly while its ownership listing is active or pending."""
        m = self.model
        orders_of: dict[int, list[int]] = {}
        for order_id, order in m.orders.items():
            listing = m.listings[order.listing_id]
            orders_of.setdefault(order.listing_id, []).append(order_id)
            if order.queries_total == 0:
                assert listing.kind == KIND_OWNERSHIP
                assert listing.state == LISTING_OF_ORDER[order.state], (order_id, order.state, listing.state)
            else:
                assert listing.kind == KIND_USE_RIGHT
                assert listing.state in (LISTING_ACTIVE, LISTING_CANCELLED)
                assert order.state in (ORDER_PAID, ORDER_COMPLETED, ORDER_REFUNDED)
                assert 0 <= order.queries_left <= order.queries_total <= listing.max_queries
                used = order.queries_total - order.queries_left
                if order.state == ORDER_PAID:
                    assert order.amount == order.queries_left * listing.price
                else:
                    assert order.amount == 0
                    assert (order.state == ORDER_COMPLETED) == (used > 0)
        custody: set[int] = set()
        for listing_id, listing in m.listings.items():
            if listing.kind == KIND_USE_RIGHT:
                continue
            count = len(orders_of.get(listing_id, []))
            if listing.state in (LISTING_PENDING, LISTING_SOLD):
                assert count == 1, listing_id
            elif listing.state == LISTING_CLOSED:
                assert count == 1 or (count == 0 and listing.pricing == PRICING_AUCTION), listing_id
            else:
                assert count == 0, listing_id
            if listing.state in (LISTING_ACTIVE, LISTING_PENDING):
                assert listing.token_id not in custody, "one NFT in two live listings"
                custody.add(listing.token_id)
            assert (listing.pricing == PRICING_AUCTION) == (listing_id in m.auctions)
        for token_id, owner in m.nft_owner.items():
            assert (owner == self.market) == (token_id in custody), token_id
        accepted = [i for i, o in m.offers.items() if o.state == OFFER_ACCEPTED]
        assert sorted(accepted) == sorted(m.order_of_offer)
        for offer_id, order_id in m.order_of_offer.items():
            offer, order = m.offers[offer_id], m.orders[order_id]
            assert (order.listing_id, order.buyer) == (offer.listing_id, offer.buyer)
            assert order.amount in (offer.amount, offer.counter)
        assert len({m.offers[i].listing_id for i in accepted}) == len(accepted), "two accepted offers on a listing"

    def value_is_conserved(self) -> None:
        d, m = self.d, self.model
        assert d.env.get_gas_price() == 0
        assert sum(d.balance(a) for a in self.ether_holders) == self.total_ether
        tokens = 0
        for account in self.everyone:
            assert d.balance(account) == m.ether[account], account
            balance = int(self.token.balanceOf(account))
            assert balance == m.tokens[account], account
            tokens += balance
        tokens += sum(int(self.token.balanceOf(book)) for book in self.books)
        assert tokens == int(self.token.totalSupply()) == self.total_tokens

    def nothing_owed_becomes_unclaimable(self) -> None:
        """On a snapshot, drive everything open to an end (strangers and parties only), then withdraw it all."""
        saved = copy.deepcopy(self.model)
        self.recording = False
        try:
            with self.d.env.anchor():
                self.drive_to_the_end()
        finally:
            self.model = saved
            self.recording = True
            for watched in self.watched.values():
                watched.clear()

    def pass_every_deadline(self) -> None:
        m = self.model
        moments = [o.deadline for o in m.orders.values()] + [o.expiry for o in m.offers.values()]
        moments += [a.end_time for a in m.auctions.values()]
        latest = max([self.now, *moments])
        self.d.env.time_travel(seconds=latest + 1 - self.now)

    def drive_to_the_end(self) -> None:
        d, m = self.d, self.model
        stranger = self.stranger
        self.pass_every_deadline()
        for listing_id, listing in list(m.listings.items()):
            if listing.pricing == PRICING_AUCTION and listing.state == LISTING_ACTIVE:
                self.do_settle(listing_id, stranger)
        for offer_id, offer in list(m.offers.items()):
            if offer.state in LIVE_OFFER:
                self.do_withdraw_offer(offer_id, stranger)
        for listing_id, listing in list(m.listings.items()):
            if listing.state == LISTING_ACTIVE:
                self.do_cancel(listing_id, listing.seller)
        self.pass_every_deadline()  # settled auctions opened orders with fresh deadlines
        for order_id, order in list(m.orders.items()):
            if order.state == ORDER_PAID and order.queries_total > 0:
                self.do_expire(order_id, stranger)
            elif order.state in (ORDER_PAID, ORDER_DISPUTED):
                self.do_refund(order_id, stranger)
            elif order.state == ORDER_DELIVERED:
                self.do_release(order_id, stranger)
        assert all(o.state not in LIVE_ORDER for o in m.orders.values())
        assert all(o.state not in LIVE_OFFER for o in m.offers.values())
        assert all(lst.state != LISTING_ACTIVE for lst in m.listings.values())
        assert set(m.escrowed.values()) == {0}
        for book in self.books:
            contract = self.contract_at(book)
            for payment_token in self.payment_tokens:
                assert int(contract.escrowed(payment_token)) == 0
                for account in self.everyone:
                    before = d.balance(account) if payment_token == ETHER else int(self.token.balanceOf(account))
                    owed = m.pending.get((book, account, payment_token), 0)
                    assert int(contract.pending_withdrawals(account, payment_token)) == owed
                    if owed > 0:
                        self.do_withdraw(account, payment_token, book)
                    after = d.balance(account) if payment_token == ETHER else int(self.token.balanceOf(account))
                    assert after == before + owed
            assert d.balance(book) == 0
            assert int(self.token.balanceOf(book)) == 0
        for token_id in m.nft_owner:
            assert d.catalog.ownerOf(token_id) != self.market, token_id


# ---------------------------------------------------------------- running it


@pytest.fixture(scope="module")
def demo_token_deployer() -> Any:
    return compiled_contracts.deployer("DemoToken.vy")


def prepare_world(d: Deployment, demo_token_deployer: Any) -> Any:
    """Alice, Carol and Bob publish ``TOKENS_PER_PUBLISHER`` datasets each and every trader approves the Market
    for NFTs; the platform deploys a DemoToken and mints to the traders, who approve the Market and UseRights
    (Dave for a finite amount, and with few tokens). Returns the token."""
    for publisher in (d.alice, d.carol, d.bob):
        for _ in range(TOKENS_PER_PUBLISHER):
            d.publish(publisher)
    d.catalog.setApprovalForAll(d.market.address, True, sender=d.dave.address)
    token = demo_token_deployer.deploy("Datagora Dollar", "DGD", sender=d.platform.address)
    for trader in (d.alice, d.carol, d.bob):
        token.mint(trader.address, TOKEN_BALANCE, sender=d.platform.address)
        for spender in (d.market, d.use_rights):
            token.approve(spender.address, MAX_UINT256, sender=trader.address)
    token.mint(d.dave.address, DAVE_TOKEN_BALANCE, sender=d.platform.address)
    for spender in (d.market, d.use_rights):
        token.approve(spender.address, DAVE_ALLOWANCE, sender=d.dave.address)
    assert d.env.get_gas_price() == 0, "value conservation assumes titanoboa's default gas price of 0"
    return token


def bind_machine(d: Deployment, token: Any, steps: int, liveness_every: int) -> type[MarketMachine]:
    """A MarketMachine class bound to this deployment and token, running the liveness drive every
    ``liveness_every`` steps, with a fresh step counter and outcome tally."""
    attributes = {
        "d": d,
        "token": token,
        "max_steps": steps,
        "liveness_every": liveness_every,
        "steps_run": 0,
        "outcomes": Counter(),
    }
    return type("BoundMarketMachine", (MarketMachine,), attributes)


def run_market_machine(machine: type[MarketMachine], max_examples: int, derandomize: bool) -> None:
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=machine.max_steps,
            deadline=None,
            database=None,
            derandomize=derandomize,
            print_blob=True,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
            ],
        ),
    )


def test_market_state_machine(d: Deployment, demo_token_deployer: Any) -> None:
    """The default-suite version: 5 runs of up to 50 steps, derandomized (the same runs every time), with the
    liveness drive every 5 steps."""
    machine = bind_machine(d, prepare_world(d, demo_token_deployer), steps=50, liveness_every=5)
    run_market_machine(machine, max_examples=5, derandomize=True)  # the slow test below runs 10,000 steps
    assert machine.steps_run >= 5 * 50 // 2


@pytest.mark.slow
@pytest.mark.timeout(1_800)
def test_market_state_machine_10000_steps(
    d: Deployment, demo_token_deployer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """At least 10,000 rule steps (counted, not assumed) in runs of up to 100, with fresh random runs each time;
    every action succeeds somewhere. Prints the step count, the time and the outcome of every action."""
    machine = bind_machine(d, prepare_world(d, demo_token_deployer), steps=100, liveness_every=25)
    started = time.perf_counter()
    while machine.steps_run < SLOW_STEPS_REQUIRED:  # usually once: 110 runs of about 97 counted steps
        missing = SLOW_STEPS_REQUIRED - machine.steps_run
        run_market_machine(machine, max_examples=max(10, missing * 11 // 1_000), derandomize=False)
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nmarket state machine: {machine.steps_run} steps in {seconds:.0f} s")
        for (action, outcome), count in sorted(machine.outcomes.items()):
            print(f"  {count:6d}  {action}: {outcome}")
    assert machine.steps_run >= SLOW_STEPS_REQUIRED
    succeeded = {action for action, outcome in machine.outcomes if outcome == "ok"}
    assert succeeded >= set(ACTIONS), sorted(set(ACTIONS) - succeeded)


# ---------------------------------------------------------------- bugs the machine found (fixed in Market.vy)


@pytest.mark.parametrize("suspended", ["seller", "buyer"])
def test_suspended_party_cannot_conclude_a_negotiation(d: Deployment, suspended: str) -> None:
    """accept_offer / accept_counter apply the same audit checks as buy(), make_offer() and bid()."""
    price = 10**18
    token_id = d.publish(d.alice)
    listing_id = d.market.list_negotiable(token_id, price, 0, ETHER, 3_600, 7_200, sender=d.alice.address)
    offer_id = d.market.make_offer(listing_id, price, d.env.timestamp + 3_600, value=price, sender=d.bob.address)
    if suspended == "seller":
        d.set_status(d.acme_id, STATUS_SUSPENDED)
        with boa.reverts("market: seller not audited"):
            d.market.accept_offer(offer_id, sender=d.alice.address)
    else:
        d.market.counter_offer(offer_id, price // 2, sender=d.alice.address)
        d.set_status(d.beta_id, STATUS_SUSPENDED)
        with boa.reverts("market: buyer not audited"):
            d.market.accept_counter(offer_id, price // 2, sender=d.bob.address)


def test_an_auction_can_always_be_settled(d: Deployment, demo_token_deployer: Any) -> None:
    """An ERC-20 with a large supply (here minted) would let a bidder bid more than an order can hold: bid()
    refuses it ("market: amount too large"), so settle() always works."""
    huge = MAX_AMOUNT + 1
    token = demo_token_deployer.deploy("Datagora Dollar", "DGD", sender=d.platform.address)
    token.mint(d.bob.address, huge, sender=d.platform.address)
    token.approve(d.market.address, huge, sender=d.bob.address)
    token_id = d.publish(d.alice)
    listing_id = d.market.list_auction(
        token_id, 1, 1, MIN_WINDOW, 0, token.address, 3_600, 7_200, sender=d.alice.address
    )
    with boa.reverts("market: amount too large"):
        d.market.bid(listing_id, huge, sender=d.bob.address)
    d.env.time_travel(seconds=MIN_WINDOW)
    d.market.settle(listing_id, sender=d.mallory.address)
