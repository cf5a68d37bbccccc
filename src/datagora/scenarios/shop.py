"""The checkout half of the shopping-cart paper's story (Shrestha, Joshi, Vassileva): a coffee shop sells the
shipped catalogue (``scenarios/data/shop_products.csv``) through its shop node; customers generated with Faker
(seeded, names kept off-chain by the shop) fill carts, check out in ether with the double-deposit collateral
and pay from their own accounts; the shop delivers and the customers confirm; one order the shop never ships is
refunded after its deadline; the same cart paid from a second tab and a customer without enough ether are
refused before anything is sent. Balances before and after, and the escrow's books, are checked on chain.

:func:`run` plays it on a fresh Registry and Shop. No printing: every step is a
:class:`~datagora.scenarios.records.Step` passed to ``on_step`` and kept in the returned record. The consent half
(customer data in streams, consent, rewards, erasure) is :mod:`datagora.scenarios.consent`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import InsufficientFunds
from datagora.domain.models import OrgStatus, TxResult
from datagora.index import EventIndexer, open_engine
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import registry
from datagora.services import shop as service
from datagora.services.participant import Participant
from datagora.storage.shop_store import ShopStore

StepHook = Callable[[Step], None]

SHOP_NAME = "Northside Coffee"
FAKER_SEED = 12
"""Seed of the Faker generator (``en_GB``) that names the customers: the same names every run."""
CUSTOMERS = 3
WINDOW = 86_400
"""Delivery and confirmation windows of the demo shop, in seconds."""
BOND = 2 * WEI


@dataclass
class Customer:
    """A generated customer: their name and e-mail (kept by the shop node only), their own account."""

    name: str
    email: str
    account: LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass
class ShopDemo:
    """A run: its record (``scenario``), the contracts, the shop service, the customers, and each account's
    balance in wei before and after (``balances[label] = (before, after)``)."""

    scenario: ScenarioResult
    contracts: Contracts
    shop: service.ShopService
    customers: list[Customer]
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.scenario.ok


def make_customers(count: int, seed: int = FAKER_SEED) -> list[Customer]:
    """``count`` customers with Faker names and e-mail addresses (locale ``en_GB``, seeded) and fresh accounts."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(seed)
    out = []
    for _ in range(count):
        first, last = fake.first_name(), fake.last_name()
        out.append(Customer(f"{first} {last}", f"{first}.{last}@{fake.free_email_domain()}".lower(), Account.create()))
    return out


def run(chain: Chain, workdir: Path, *, on_step: StepHook = lambda s: None) -> ShopDemo:
    """Play the checkout story on ``chain`` (new funded accounts, a fresh Registry and Shop) with the shop's
    stores under ``workdir``. The chain must let time be moved (the embedded chain, Anvil) for the refund. Raises
    ``ChainError`` / ``TransactionReverted`` on chain failures."""
    result = ScenarioResult("shop", "A shopping cart paid in ether with double-deposit collateral", "ESCROW EMPTY")

    def step(actor: str, name: str, action: str, *txs: TxResult) -> None:
        record = Step(actor, name, action, tuple(txs))
        result.steps.append(record)
        on_step(record)

    supervisor, platform = Account.create(), Account.create()
    seller = Participant("shop", Account.create(), workdir / "shop")
    customers = make_customers(CUSTOMERS)
    poor = make_customers(1, seed=FAKER_SEED + 1)[0]
    for account in (supervisor, platform, seller.account):
        chain.fund(account.address, 10 * WEI)
    for c in customers:
        chain.fund(c.address, WEI)
    chain.fund(poor.address, WEI // 1000)
    step("chain", "fund", f"gave the shop 10 ETH and {len(customers)} customers 1 ETH each; one more holds 0.001 ETH")
    contracts = Contracts.deploy(chain, supervisor, platform, only=["Registry", "Shop"])
    step("platform", "deploy", f"deployed the Registry and the Shop at {contracts.shop.address}")
    org, tx = registry.register_organisation(contracts, seller, SHOP_NAME)
    _, audited = registry.set_status(contracts, supervisor, org.id, OrgStatus.AUDITED)
    step("supervisor", "audit", f"registered and audited {SHOP_NAME!r} (organisation #{org.id})", tx, audited)

    catalogue = service.load_catalogue(service.shipped_catalogue())
    engine = open_engine(f"sqlite:///{workdir / 'shop-index.db'}")
    indexer = EventIndexer(contracts, engine)
    shop = service.ShopService(contracts, seller.account, catalogue, ShopStore(seller.paths.shop), engine)
    seller_before = chain.balance(seller.address)
    txs = service.open_shop(
        contracts, seller.account, bond=BOND, collateral_bps=10_000, delivery_window=WINDOW, confirm_window=WINDOW
    )
    step(
        "shop",
        "open shop",
        f"opened with {len(catalogue)} products, a 100 % deposit on each side and a bond of {amount(BOND)}; "
        "1 day to deliver, 1 day to confirm",
        *txs,
    )
    before = {c.name: chain.balance(c.address) for c in customers}

    rng = random.Random(FAKER_SEED)
    quotes: list[tuple[Customer, service.Quote]] = []
    cheap = sorted(catalogue.products.values(), key=lambda p: p.price_wei)[:20]
    for customer in customers:
        for product in rng.sample(cheap, 3):
            shop.add(customer.address, product.sku, rng.randint(1, 2))
        cart = shop.cart(customer.address)
        step(
            customer.name,
            f"cart {customer.name}",
            f"filled a cart: {', '.join(f'{li.quantity} × {li.product.name}' for li in cart.lines)} "
            f"({amount(cart.total)})",
        )
        quote = shop.quote(customer.address)
        paid = service.pay(contracts, customer.account, quote)
        shop.record_paid(quote.order_id)
        quotes.append((customer, quote))
        step(
            customer.name,
            f"pay {customer.name}",
            f"paid {amount(quote.amount)} and a deposit of {amount(quote.collateral)} from their own account",
            paid,
        )

    first, first_quote = quotes[0]
    try:
        service.pay(contracts, first.account, first_quote)
        refused_twice = False
    except service.CartAlreadyPaid:
        refused_twice = True
    step(first.name, "second tab", "paid the same cart again from another tab: refused, nothing sent")

    shop.add(poor.address, cheap[-1].sku)
    poor_quote = shop.quote(poor.address)
    try:
        service.pay(contracts, poor.account, poor_quote)
        refused_poor = False
    except InsufficientFunds:
        refused_poor = True
    step(poor.name, "too little ether", f"holds {amount(WEI // 1000)}: told so before anything was sent")

    for customer, quote in quotes[:-1]:
        tx = shop.deliver(quote.order_id, f"Parcel for {customer.name}, tracking DG{quote.order_hash.hex()[:10]}")
        step("shop", f"deliver {customer.name}", "marked the order delivered (the shipping note's hash on chain)", tx)
        tx = service.confirm(contracts, customer.account, quote.order_id)
        step(customer.name, f"confirm {customer.name}", "confirmed the parcel arrived: the shop is paid", tx)
    late, late_quote = quotes[-1]
    chain.advance_time(WINDOW + 1)
    tx = service.refund(contracts, late.account, late_quote.order_id)
    step(
        late.name,
        "refund",
        f"the shop never shipped: after the deadline took back {amount(late_quote.amount)}, their deposit and the "
        "shop's",
        tx,
    )
    for customer, _ in quotes:
        tx_w = service.withdraw(contracts, customer.account)
        if tx_w is not None:
            step(customer.name, f"withdraw {customer.name}", "withdrew what the shop owed them", tx_w)
    tx_w = service.withdraw(contracts, seller.account)
    if tx_w is not None:
        step("shop", "withdraw", "withdrew the price of the confirmed orders", tx_w)
    free = contracts.shop.bond(seller.address)
    if free:
        tx = contracts.shop.withdraw_bond(seller.account, free)
        tx_w = service.withdraw(contracts, seller.account)
        step("shop", "close bond", f"took its bond back ({amount(free)})", tx, *([tx_w] if tx_w else []))

    indexer.sync()
    history = shop.orders()
    engine.dispose()
    demo = ShopDemo(result, contracts, shop, customers)
    for c in customers:
        demo.balances[c.name] = (before[c.name], chain.balance(c.address))
    demo.balances["shop"] = (seller_before, chain.balance(seller.address))
    held = chain.balance(contracts.shop.address)
    result.outcome = "ESCROW EMPTY" if held == 0 and contracts.shop.escrowed() == 0 else f"{amount(held)} LEFT"
    confirmed_total = sum(q.amount for _, q in quotes[:-1])
    result.checks += [
        Check("the second payment of the same cart was refused before sending", refused_twice),
        Check("the customer without enough ether was told before sending", refused_poor),
        Check(
            f"the index holds {len(quotes)} orders: {len(quotes) - 1} completed, 1 refunded",
            sorted(o.state for o in history) == sorted(["completed"] * (len(quotes) - 1) + ["refunded"]),
        ),
        Check(
            f"the shop gained the {amount(confirmed_total)} of the confirmed orders minus gas, and lost its deposit "
            f"on the refunded one ({amount(late_quote.collateral)})",
            _near(demo.balances["shop"][1] - seller_before, confirmed_total - late_quote.collateral),
        ),
        Check(
            "the refunded customer got back their payment, their deposit and the shop's deposit",
            _near(demo.balances[late.name][1] - before[late.name], late_quote.collateral),
        ),
    ]
    return demo


def _near(gain: int, expected: int) -> bool:
    """``gain`` (wei) is ``expected`` less what gas cost (under 0.01 ETH)."""
    return expected - WEI // 100 < gain <= expected
