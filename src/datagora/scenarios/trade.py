"""The basic trade, end to end, on real data: four participants join, the seller publishes a table and a photo,
the platform refuses a lightly edited copy of the photo, the buyer finds the table, pays into escrow, receives it
encrypted to its key, checks it and confirms; everyone withdraws. Seller and buyer each post a collateral equal to
the price and get it back when the trade completes (the double deposit of Shrestha et al.; the trade is Wu et al.'s
first scenario on EntDSM's registration and audit).

:func:`setup` creates the participants and the contracts, :func:`trade` runs the trade on them, :func:`run` does
both. No printing: every step is a :class:`~datagora.scenarios.records.Step` passed to ``on_step`` as it happens
and kept in the returned record."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import NoveltyRefused
from datagora.domain.models import OrgStatus, Outcome, TxResult
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import audit, catalog, deployment, market, publishing, registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv, write_photo, write_pirated_copy

StepHook = Callable[[Step], None]

ORGANISATIONS = {"platform": "Datagora Platform", "seller": "Acme Data Ltd", "buyer": "Blue Research Lab"}
"""The organisation each trading participant registers (the supervisor audits, it does not trade)."""

PRICES = {"table": WEI // 2, "photo": WEI // 5}
"""Asking price of each published dataset, in wei."""

# The event that names the operation a transaction performed (the rows of the demo's gas table).
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


def operation(tx: TxResult) -> str:
    """The operation ``tx`` performed, named after the first event of :data:`OPERATIONS` it emitted."""
    return next((OPERATIONS[e.name] for e in tx.events if e.name in OPERATIONS), "other")


@dataclass
class TradeStage:
    """What the trade runs on: the chain, the deployed contracts, the participants by label (``supervisor``,
    ``platform``, ``seller``, ``buyer``; the last three in Audited organisations), the platform's attestation
    service and the directory for data files."""

    chain: Chain
    contracts: Contracts
    people: dict[str, Participant]
    attestor: NoveltyAttestor
    workdir: Path
    setup: ScenarioResult = field(default_factory=lambda: ScenarioResult("setup", "Setup", ""))


@dataclass
class TradeResult:
    """A whole run: the setup's and the trade's records, the published datasets' token ids (``table``,
    ``photo``), the order, the buyer's decrypted copy and the audit trail read back from the contracts' events."""

    stage: TradeStage
    setup: ScenarioResult
    trade: ScenarioResult
    token_ids: dict[str, int]
    order_id: int
    received: Path
    trail: list[audit.AuditRecord]

    @property
    def ok(self) -> bool:
        return self.trade.ok

    @property
    def steps(self) -> list[Step]:
        return [*self.setup.steps, *self.trade.steps]

    def gas_by_operation(self) -> dict[str, list[int]]:
        """``{operation: [gas of each call]}`` over setup and trade, operations named by :func:`operation`."""
        gas: dict[str, list[int]] = {}
        for step in self.steps:
            for tx in step.txs:
                gas.setdefault(operation(tx), []).append(tx.gas_used)
        return gas


class _Recorder:
    def __init__(self, result: ScenarioResult, on_step: StepHook) -> None:
        self.result, self.on_step = result, on_step

    def step(self, actor: str, name: str, action: str, *txs: TxResult) -> None:
        record = Step(actor, name, action, tuple(txs))
        self.result.steps.append(record)
        self.on_step(record)

    def check(self, description: str, passed: bool) -> None:
        self.result.checks.append(Check(description, passed))


def setup(
    chain: Chain,
    workdir: Path,
    *,
    fund_wei: int = 100 * WEI,
    on_step: StepHook = lambda s: None,
    funder: LocalAccount | None = None,
) -> TradeStage:
    """Fund four new accounts with ``fund_wei`` each (from ``funder``, or the node's first unlocked account),
    deploy the contracts, register the platform's, the seller's and the buyer's organisations and let the
    supervisor audit them. Participants' stores go under ``workdir``. Raises ``ChainError`` /
    ``TransactionReverted`` on any failure."""
    result = ScenarioResult("setup", "Setup", "")
    rec = _Recorder(result, on_step)
    people = {label: Participant(label, Account.create(), workdir / label) for label in ("supervisor", *ORGANISATIONS)}
    for p in people.values():
        chain.fund(p.address, fund_wei, funder)
    rec.step("chain", "fund", f"gave 4 new accounts {amount(fund_wei)} each")
    sup, plat = people["supervisor"], people["platform"]
    contracts = deployment.deploy(chain, sup.account, plat.account)
    rec.step("supervisor", "deploy", "deployed the contracts: " + ", ".join(contracts.addresses))
    orgs = {}
    for label, name in ORGANISATIONS.items():
        org, tx = registry.register_organisation(contracts, people[label], name)
        orgs[label] = org
        rec.step(label, f"register {label}", f"registered the organisation {name!r} and its encryption key", tx)
    for label, org in orgs.items():
        _, tx = registry.set_status(contracts, sup.account, org.id, OrgStatus.AUDITED)
        rec.step("supervisor", f"audit {label}", f"audited {org.name!r}: it may now trade", tx)
    attestor = NoveltyAttestor(contracts, plat.account, plat.paths.data_contract)
    return TradeStage(chain, contracts, people, attestor, workdir, result)


def trade(stage: TradeStage, *, on_step: StepHook = lambda s: None) -> tuple[ScenarioResult, dict[str, int], Path]:
    """The trade itself on a prepared ``stage``: publish, a refused copy, list, search, buy, deliver, receive,
    confirm, three withdrawals. Returns the record (``ids``: ``table``, ``photo``, ``listing``, ``order``), the
    token ids of the two datasets and the buyer's decrypted copy. Raises on any unexpected failure; the outcome
    checks are recorded, not raised."""
    c, people = stage.contracts, stage.people
    seller, buyer, plat = people["seller"], people["buyer"], people["platform"]
    result = ScenarioResult("trade", "A data trade", Outcome.CONFIRMED.name)
    rec = _Recorder(result, on_step)
    market_address = c.addresses["Market"]

    data_dir = stage.workdir / "data"
    files = {
        "table": write_breast_cancer_csv(data_dir / "breast_cancer_wisconsin.csv"),
        "photo": write_photo(data_dir / "astronaut.png", "astronaut"),
    }
    titles = {"table": ("Breast Cancer Wisconsin diagnostic", "health"), "photo": ("Astronaut portrait", "imagery")}
    token_ids: dict[str, int] = {}
    for key, path in files.items():
        title, domain = titles[key]
        prepared = publishing.prepare(seller, path, name=title, domain=domain)
        token_id, _, tx = publishing.publish(c, seller, prepared, stage.attestor)
        token_ids[key] = token_id
        result.ids[key] = token_id
        rec.step(
            "seller",
            f"publish {key}",
            f"published {path.name} as dataset #{token_id}: the data stays in its own store, only its hash and "
            "fingerprint go on chain",
            tx,
        )
        rec.check(
            f"dataset #{token_id} owned by the seller, with the file's SHA-256",
            c.catalog.owner_of(token_id) == seller.address
            and c.catalog.dataset(token_id).content_hash == hashlib.sha256(path.read_bytes()).digest(),
        )
    pirated = write_pirated_copy(files["photo"], data_dir / "astronaut-edited.jpg")
    try:
        publishing.publish(c, seller, publishing.prepare(seller, pirated, name="New portrait"), stage.attestor)
        rec.check("the platform refused an edited copy of the photo", False)
    except NoveltyRefused as exc:
        rec.step("platform", "refuse copy", f"refused to accept a cropped, brightened copy of the photo ({exc})")
        rec.check("the platform refused an edited copy of the photo", exc.matching_token_id == token_ids["photo"])

    listings: dict[str, int] = {}
    for key, token_id in token_ids.items():
        escrow_before = c.market.escrowed()
        listing_id, txs = market.list_dataset(c, seller, token_id, PRICES[key])
        listings[key] = listing_id
        collateral = c.market.listing(listing_id).collateral
        rec.step(
            "seller",
            f"list {key}",
            f"put dataset #{token_id} up for sale at {amount(PRICES[key])}, with {amount(collateral)} collateral",
            *txs,
        )
        rec.check(
            f"the Market holds dataset #{token_id} and the seller's collateral while it is for sale",
            c.catalog.owner_of(token_id) == market_address
            and collateral == PRICES[key]
            and c.market.escrowed() == escrow_before + collateral,
        )
    result.ids["listing"] = listings["table"]
    result.ids["photo_listing"] = listings["photo"]

    hits = catalog.search(c, buyer.address, "cancer")
    rec.step("buyer", "search", f"searched for 'cancer' and found {', '.join(repr(h.name) for h in hits)}")
    rec.check(
        "the search finds the table's listing",
        [(h.token_id, h.listing_id) for h in hits] == [(token_ids["table"], listings["table"])],
    )
    chosen = hits[0]
    escrow_before = c.market.escrowed()
    order_id, tx = market.buy(c, buyer, chosen.listing_id)
    result.ids["order"] = order_id
    collateral = c.market.listing(chosen.listing_id).collateral
    rec.step(
        "buyer",
        "buy",
        f"paid {amount(chosen.price)} and {amount(collateral)} collateral; the Market holds both until delivery",
        tx,
    )
    rec.check(
        "escrow holds the price and the buyer's collateral", c.market.escrowed() == escrow_before + 2 * collateral
    )

    delivery = market.deliver(c, seller, order_id, out_dir=stage.workdir / "outbox")
    rec.step(
        "seller",
        "deliver",
        f"encrypted the data to the buyer's key ({delivery.path.stat().st_size:,} bytes) and recorded its hash",
        delivery.tx,
    )
    received = market.receive(c, buyer, order_id, delivery.path, buyer.home / "received.csv")
    rec.step("buyer", "receive", f"decrypted {received.size:,} bytes; their hash matches the published one")
    rec.check("the buyer's copy is the published file", received.path.read_bytes() == files["table"].read_bytes())

    confirm_tx = tx = market.confirm(c, buyer, order_id)
    rec.step("buyer", "confirm", f"confirmed receipt: dataset #{chosen.token_id} now belongs to the buyer", tx)
    rec.check(f"dataset #{chosen.token_id} owned by the buyer", c.catalog.owner_of(chosen.token_id) == buyer.address)

    got, tx = market.withdraw(c, seller)
    rec.step(
        "seller",
        "withdraw seller",
        f"withdrew {amount(got)}: the price less the platform's fee, and its collateral",
        tx,
    )
    got, tx = market.withdraw(c, buyer)
    rec.step("buyer", "withdraw buyer", f"withdrew its {amount(got)} collateral", tx)
    fee, tx = market.withdraw(c, plat)
    rec.step("platform", "withdraw platform", f"withdrew its fee of {amount(fee)}", tx)
    rec.check(
        "the Market holds only the photo listing's collateral",
        c.market.escrowed() == c.market.listing(listings["photo"]).collateral,
    )
    result.outcome = Outcome(int(confirm_tx.event("Settled").args["outcome"])).name
    return result, token_ids, received.path


def run(chain: Chain, workdir: Path, *, fund_wei: int = 100 * WEI, on_step: StepHook = lambda s: None) -> TradeResult:
    """:func:`setup` then :func:`trade` on ``chain`` with stores under ``workdir``, and the audit trail read back
    from the contracts' events."""
    stage = setup(chain, workdir, fund_wei=fund_wei, on_step=on_step)
    record, token_ids, received = trade(stage, on_step=on_step)
    return TradeResult(
        stage, stage.setup, record, token_ids, record.ids["order"], received, audit.audit_trail(stage.contracts)
    )
