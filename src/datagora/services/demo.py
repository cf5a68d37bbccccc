"""``datagora demo``: a complete ownership trade on real data, end to end (Wu et al. scenario 1 on EntDSM's
registration and audit), with the double-deposit collateral of Shrestha et al.: seller and buyer each post 100 %
of the price and get it back on completion. Each step is reported through a callback so the CLI can render it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import NoveltyRefused
from datagora.domain.models import OrgStatus, TxResult
from datagora.services import audit, catalog, market, publishing, registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv, write_photo, write_pirated_copy

ETHER = 10**18

# The event that names the operation a transaction performed.
OPERATIONS = {
    "OrganisationRegistered": "register",
    "MembershipRequested": "register",
    "StatusChanged": "audit",
    "DatasetPublished": "publish",
    "ApprovalForAll": "approve",
    "Listed": "list",
    "OrderPaid": "buy",
    "Delivered": "deliver",
    "Settled": "confirm",
    "Withdrawn": "withdraw",
}


@dataclass(frozen=True)
class Step:
    """One reported step: who did what, and the transaction(s) it took."""

    actor: str
    action: str
    txs: list[TxResult] = field(default_factory=list)


@dataclass
class DemoResult:
    contracts: Contracts
    participants: dict[str, Participant]
    token_ids: dict[str, int]
    order_id: int
    received: Path
    gas: dict[str, list[int]]  # operation → gas used by each call (receipts)
    trail: list[audit.AuditRecord]


def run_demo(
    chain: Chain, workdir: Path, report: Callable[[Step], None] = lambda step: None, *, fund_wei: int = 100 * ETHER
) -> DemoResult:
    """Run the whole trade on ``chain`` with participants' stores under ``workdir``. Raises on any failure."""
    gas: dict[str, list[int]] = {}

    def step(actor: Participant | str, action: str, *txs: TxResult) -> None:
        for tx in txs:
            names = [e.name for e in tx.events]
            op = next((OPERATIONS[n] for n in names if n in OPERATIONS), "other")
            gas.setdefault(op, []).append(tx.gas_used)
        report(Step(actor.label if isinstance(actor, Participant) else actor, action, list(txs)))

    people = {
        label: Participant(label, Account.create(), workdir / label)
        for label in ("supervisor", "platform", "seller", "buyer")
    }
    sup, plat, seller, buyer = (people[k] for k in ("supervisor", "platform", "seller", "buyer"))
    for p in people.values():
        chain.fund(p.address, fund_wei)
    step("node", f"funded 4 new accounts with {fund_wei // ETHER} ETH each on chain {chain.chain_id} ({chain.kind})")

    contracts = Contracts.deploy(chain, sup.account, plat.account)
    step(
        sup,
        "deployed Registry; platform deployed Catalog and Market and holds ATTESTER_ROLE: "
        + ", ".join(f"{k} {v}" for k, v in contracts.addresses.items()),
    )

    orgs = {}
    for who, name in ((plat, "Datagora Platform"), (seller, "Acme Data Ltd"), (buyer, "Blue Research Lab")):
        org, tx = registry.register_organisation(contracts, who, name)
        orgs[who.label] = org
        step(who, f"registered organisation {name!r} (#{org.id}, {org.status.name}) and its encryption key", tx)
    for org in orgs.values():
        _, tx = registry.set_status(contracts, sup.account, org.id, OrgStatus.AUDITED)
        step(sup, f"audited organisation #{org.id} {org.name!r} → AUDITED", tx)

    attestor = NoveltyAttestor(contracts, plat.account, plat.home / "data-contract.sqlite")
    data_dir = workdir / "data"
    files = {
        "table": write_breast_cancer_csv(data_dir / "breast_cancer_wisconsin.csv"),
        "photo": write_photo(data_dir / "astronaut.png", "astronaut"),
    }
    names = {"table": ("Breast Cancer Wisconsin diagnostic", "health"), "photo": ("Astronaut portrait", "imagery")}
    token_ids = {}
    for key, path in files.items():
        title, domain = names[key]
        prepared = publishing.prepare(seller, path, name=title, domain=domain)
        token_id, att, tx = publishing.publish(contracts, seller, prepared, attestor)
        token_ids[key] = token_id
        step(
            seller,
            f"published {path.name} as dataset #{token_id} ({prepared.description.size} items, sha256 "
            f"{prepared.description.content_hash.hex()[:16]}…; platform attestation expires {att.expiry})",
            tx,
        )
    pirated = write_pirated_copy(files["photo"], data_dir / "astronaut-edited.jpg")
    try:
        publishing.publish(contracts, seller, publishing.prepare(seller, pirated, name="New portrait"), attestor)
    except NoveltyRefused as exc:
        step(plat, f"refused to attest a cropped, brightened, re-encoded copy of the photo: {exc}")

    prices = {"table": ETHER // 2, "photo": ETHER // 5}
    listings = {}
    for key, token_id in token_ids.items():
        listing_id, txs = market.list_dataset(contracts, seller, token_id, prices[key])
        listings[key] = listing_id
        collateral = contracts.market.listing(listing_id).collateral
        step(
            seller,
            f"listed dataset #{token_id} as listing #{listing_id} for {prices[key] / ETHER} ETH, posting "
            f"{collateral / ETHER} ETH collateral",
            *txs,
        )

    hits = catalog.search(contracts, buyer.address, "cancer")
    step(buyer, f"searched 'cancer': {', '.join(f'#{h.token_id} {h.name!r} listing #{h.listing_id}' for h in hits)}")
    chosen = hits[0]

    order_id, tx = market.buy(contracts, buyer, chosen.listing_id)
    collateral = contracts.market.listing(chosen.listing_id).collateral
    step(
        buyer,
        f"bought listing #{chosen.listing_id}: {chosen.price / ETHER} ETH plus {collateral / ETHER} ETH collateral "
        f"held in escrow as order #{order_id}",
        tx,
    )

    delivery = market.deliver(contracts, seller, order_id, out_dir=workdir / "outbox")
    step(
        seller,
        f"deliver: encrypted the data to the buyer's key ({delivery.path.stat().st_size} bytes) and committed "
        f"sha256 {delivery.delivery_hash.hex()[:16]}…",
        delivery.tx,
    )

    received = market.receive(contracts, buyer, order_id, delivery.path, workdir / "buyer" / "received.csv")
    assert hashlib.sha256(received.path.read_bytes()).digest() == received.content_hash
    step(
        buyer,
        f"received and decrypted {received.size} bytes; sha256 matches Catalog ({received.content_hash.hex()[:16]}…)",
    )

    tx = market.confirm(contracts, buyer, order_id)
    step(buyer, f"confirmed order #{order_id}: dataset #{chosen.token_id} now owned by the buyer", tx)
    assert contracts.catalog.owner_of(chosen.token_id) == buyer.address

    amount, tx = market.withdraw(contracts, seller)
    step(seller, f"withdrew {amount / ETHER} ETH: the price less the fee, and its collateral", tx)
    amount, tx = market.withdraw(contracts, buyer)
    step(buyer, f"withdrew its {amount / ETHER} ETH collateral", tx)
    fee, tx = market.withdraw(contracts, plat)
    step(plat, f"withdrew the {contracts.market.fee_bps()} bps fee: {fee / ETHER} ETH", tx)

    return DemoResult(contracts, people, token_ids, order_id, received.path, gas, audit.audit_trail(contracts))
