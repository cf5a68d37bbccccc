"""The shopping-cart paper's customer data story (Shrestha, Joshi, Vassileva): consent per purpose, a partner's
access with a reward, revocation, a refused access, erasure.

A shop (Acme Shop) keeps its customers' profiles (purchase history, demographics, contact details; generated with
Faker, seeded, so every run has the same people) encrypted off-chain and publishes each as a stream item. A partner
enterprise (Blue Partners) pre-funds reward tokens. The first customer consents to share their purchase history with
the partner for marketing for 30 days at 5 DGR per access; the partner finds the item by key in its own index, asks
for it for marketing (recorded, she is paid), receives it and checks its hash against the chain; a request for
another purpose is refused and the refusal recorded; the customer revokes and the next request is refused;
a second customer consents for research, is paid for one access and erases his purchase history: the shop destroys
its key and marks the item erased, and the next request fails as erased.

:func:`run` plays it on a fresh deployment. No printing: every step is a
:class:`~datagora.scenarios.records.Step` passed to ``on_step`` and kept in the returned record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.models import AccessRefusal, OrgStatus, TxResult
from datagora.index import EventIndexer, open_engine
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import consent as service
from datagora.services import registry
from datagora.services import streams as stream_service
from datagora.services.participant import Participant

StepHook = Callable[[Step], None]

SHOP_ORG = "Acme Shop"
PARTNER_ORG = "Blue Partners"
STREAM_NAME = "acme-shop/customers"
MARKETING = "https://w3id.org/dpv#Marketing"
RESEARCH = "https://w3id.org/dpv#ResearchAndDevelopment"
REWARD = 5 * WEI
"""RewardToken units per access (5 DGR)."""
DEPOSIT = 100 * WEI
CONSENT_DAYS = 30
FAKER_SEED = 12
CONTRACTS = ("Registry", "Streams", "RewardToken", "Consent")


def fake_customers(count: int, seed: int = FAKER_SEED) -> list[dict[str, Any]]:
    """``count`` customer profiles made with Faker (seeded: the same people every run): ``contact`` (name, e-mail,
    telephone, postal address), ``demographics`` (birth date, gender, job title) and ``purchases`` (orders of
    products with prices in ETH), each keyed with the schema.org terms :mod:`datagora.services.streams` takes."""
    from faker import Faker

    fake = Faker("en_GB")
    fake.seed_instance(seed)
    products = ["Espresso cups", "Walnut desk", "Linen shirt", "Trail shoes", "Tea sampler", "Desk lamp"]
    people = []
    for _ in range(count):
        orders = [
            {
                "orderNumber": f"A-{fake.random_int(1000, 9999)}",
                "orderDate": fake.date_between("-1y").isoformat(),
                "product": fake.random_element(products),
                "price": f"{fake.random_int(5, 90) / 1000:.3f}",
                "priceCurrency": "ETH",
                "quantity": fake.random_int(1, 3),
            }
            for _ in range(fake.random_int(1, 4))
        ]
        people.append(
            {
                "contact": {
                    "name": fake.name(),
                    "email": fake.email(),
                    "telephone": fake.phone_number(),
                    "address": {
                        "streetAddress": fake.street_address(),
                        "postalCode": fake.postcode(),
                        "addressLocality": fake.city(),
                        "addressCountry": "GB",
                    },
                },
                "demographics": {
                    "birthDate": fake.date_of_birth(minimum_age=18, maximum_age=80).isoformat(),
                    "gender": fake.random_element(["female", "male", "non-binary"]),
                    "jobTitle": fake.job(),
                },
                "purchases": orders,
            }
        )
    return people


@dataclass
class ConsentDemo:
    """A run: its record, the contracts, the shop's and the partner's participants, the customers (participants
    and their Faker profiles), the partner node's index engine, and the published items by customer and
    category."""

    scenario: ScenarioResult
    contracts: Contracts
    shop: Participant
    partner: Participant
    customers: list[Participant]
    profiles: list[dict[str, Any]]
    index_url: str
    items: dict[tuple[str, str], int] = field(default_factory=dict)
    txs: list[TxResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.scenario.ok


def run(
    chain: Chain,
    workdir: Path,
    *,
    customers: int = 3,  # at least 2
    fund_wei: int = 10 * WEI,
    on_step: StepHook = lambda s: None,
) -> ConsentDemo:
    """Play the story on ``chain`` with new funded accounts and a fresh deployment of Registry, Streams,
    RewardToken and Consent; the participants' homes and the partner's index live under ``workdir``. Raises
    ``ChainError`` / ``TransactionReverted`` on chain failures."""
    result = ScenarioResult("consent", "Customer data shared by consent, rewarded, revoked and erased", "ERASED")
    txs: list[TxResult] = []

    def step(actor: str, name: str, action: str, *done: TxResult) -> None:
        record = Step(actor, name, action, tuple(done))
        txs.extend(done)
        result.steps.append(record)
        on_step(record)

    supervisor, platform = Account.create(), Account.create()
    shop = Participant("shop", Account.create(), workdir / "shop")
    partner = Participant("partner", Account.create(), workdir / "partner")
    people = [
        Participant(f"customer-{i + 1}", Account.create(), workdir / f"customer-{i + 1}") for i in range(customers)
    ]
    for account in (supervisor, platform, shop.account, partner.account, *(p.account for p in people)):
        chain.fund(account.address, fund_wei)
    step(
        "chain",
        "fund",
        f"gave the supervisor, the platform, the shop, the partner and {customers} customers an account each",
    )
    contracts = Contracts.deploy(chain, supervisor, platform, only=CONTRACTS)
    step("platform", "deploy", "deployed Registry, Streams, RewardToken and Consent")
    shop_org, tx1 = registry.register_organisation(contracts, shop, SHOP_ORG)
    partner_org, tx2 = registry.register_organisation(contracts, partner, PARTNER_ORG)
    _, tx3 = registry.set_status(contracts, supervisor, shop_org.id, OrgStatus.AUDITED)
    _, tx4 = registry.set_status(contracts, supervisor, partner_org.id, OrgStatus.AUDITED)
    step("supervisor", "audit", f"registered and audited {SHOP_ORG} and {PARTNER_ORG}", tx1, tx2, tx3, tx4)
    regs = [registry.register_customer(contracts, p) for p in people]
    step("customers", "register", f"{customers} customers registered their encryption keys", *regs)

    stream_id, created = stream_service.open_stream(contracts, shop.account, STREAM_NAME)
    step("shop", "stream", f"created the stream {STREAM_NAME!r} (#{stream_id})", *([created] if created else []))
    profiles = fake_customers(customers)
    demo_items: dict[tuple[str, str], int] = {}
    published: list[TxResult] = []
    for person, profile in zip(people, profiles, strict=True):
        for item in stream_service.publish_customer(
            contracts,
            shop,
            stream_id,
            person.address,
            profile["purchases"],
            profile["demographics"],
            profile["contact"],
        ):
            demo_items[(person.address, item.category)] = item.item_id
            published.append(item.tx)
    step(
        "shop",
        "publish",
        f"stored {len(published)} profile documents (JSON-LD, schema.org) encrypted off-chain, a data key per "
        "customer and category, and published each one's hash as a stream item",
        *published,
    )

    minted = contracts.reward_token.mint(platform, partner.address, DEPOSIT)
    funded = service.fund_rewards(contracts, partner.account, DEPOSIT)
    step("partner", "fund rewards", f"bought {amount(DEPOSIT, 'DGR')} and deposited them for rewards", minted, *funded)

    alice = people[0]
    expiry = chain.now() + CONSENT_DAYS * 86_400
    consent_id, granted = service.grant(
        contracts, alice.account, stream_service.PURCHASE_HISTORY, partner_org.id, MARKETING, expiry, REWARD
    )
    step(
        alice.label,
        "grant",
        f"consented (#{consent_id}) to share their purchase history with {PARTNER_ORG} for marketing for "
        f"{CONSENT_DAYS} days, {amount(REWARD, 'DGR')} per access",
        granted,
    )

    workdir.mkdir(parents=True, exist_ok=True)
    index_url = f"sqlite:///{workdir / 'partner-index.sqlite'}"
    engine = open_engine(index_url)
    indexer = EventIndexer(contracts, engine)
    indexer.sync()
    key = stream_service.item_key(alice.address, stream_service.PURCHASE_HISTORY)
    found = stream_service.items(engine, stream_id=stream_id, key=key)
    item_id = found[-1].item_id
    step("partner", "subscribe", f"found item #{item_id} by its key in the stream, in its own index")

    first = service.request(contracts, engine, partner.account, item_id, MARKETING)
    step("partner", "request", f"asked for item #{item_id} for marketing: {first.sentence}", first.tx)
    delivery = service.deliver(contracts, shop, first.tx.tx_hash)
    step(
        "shop",
        "deliver",
        f"delivered item #{item_id} encrypted to {PARTNER_ORG}'s key ({len(delivery.envelope)} bytes)",
    )
    document = json.loads(service.receive(contracts, partner, delivery))
    step("partner", "receive", f"checked the hash on chain and read {document['numberOfItems']} orders")
    paid = contracts.consent.pending(alice.address)

    other = service.request(contracts, engine, partner.account, item_id, RESEARCH)
    step("partner", "other purpose", f"asked for it for research: {other.sentence}", other.tx)
    revoked = service.revoke(contracts, alice.account, consent_id)
    step(alice.label, "revoke", f"withdrew consent #{consent_id}", revoked)
    after_revoke = service.request(contracts, engine, partner.account, item_id, MARKETING)
    step("partner", "refused", f"asked again for marketing: {after_revoke.sentence}", after_revoke.tx)

    bob = people[1]
    bob_consent, bob_granted = service.grant(
        contracts, bob.account, stream_service.PURCHASE_HISTORY, partner_org.id, RESEARCH, expiry, REWARD
    )
    step(bob.label, "grant", f"consented (#{bob_consent}) to share their purchase history for research", bob_granted)
    indexer.sync()
    bob_item = stream_service.items(engine, key=stream_service.item_key(bob.address, stream_service.PURCHASE_HISTORY))[
        -1
    ].item_id
    bob_first = service.request(contracts, engine, partner.account, bob_item, RESEARCH)
    step("partner", "request", f"asked for item #{bob_item} for research: {bob_first.sentence}", bob_first.tx)
    erasure = service.erase(contracts, shop, bob.address, stream_service.PURCHASE_HISTORY)
    step(
        "shop",
        "erase",
        f"erased {bob.label}'s purchase history at their request: destroyed its data key and marked "
        f"{len(erasure.item_ids)} item(s) erased on chain",
        *erasure.txs,
    )
    indexer.sync()
    erased = service.request(contracts, engine, partner.account, bob_item, RESEARCH)
    step("partner", "erased", f"asked for it again: {erased.sentence}", erased.tx)
    indexer.sync()
    timeline = service.history(engine, subject=alice.address)
    engine.dispose()

    result.outcome = "ERASED" if contracts.streams.item(bob_item).erased else "NOT ERASED"
    result.checks += [
        Check(f"{alice.label} was paid {amount(REWARD, 'DGR')} for the one consented access", paid == REWARD),
        Check("the delivered document is their purchase history", document.get("@type") == "ItemList"),
        Check("the request for another purpose was refused", other.refusal is AccessRefusal.WRONG_PURPOSE),
        Check("the request after revocation was refused as revoked", after_revoke.refusal is AccessRefusal.REVOKED),
        Check("the request after erasure was refused as erased", erased.refusal is AccessRefusal.ITEM_ERASED),
        Check(
            f"{bob.label}'s data key is destroyed",
            stream_service.data_key_of(shop, bob.address, stream_service.PURCHASE_HISTORY) is None,
        ),
        Check(
            f"{alice.label}'s timeline holds their 1 access and 2 refusals",
            [e.kind for e in timeline] == ["access", "refusal", "refusal"],
        ),
    ]
    result.ids = {"consent": consent_id, "item": item_id, "stream": stream_id, "erased_item": bob_item}
    return ConsentDemo(result, contracts, shop, partner, people, profiles, index_url, demo_items, txs)
