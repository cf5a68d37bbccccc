"""``datagora demo market``: every market scenario of Wu et al. (seed 003) on real data, on one chain.

Scenarios, in order (each a :class:`ScenarioResult` with its steps, the gas of every transaction from its receipt,
the outcome read back from the chain and the outcome the paper states):

1. broker sale (§III.A scenario 1, steps 9-24): fixed price with double-deposit collateral, delivery through the
   platform's relay, f_S and f_B on the send-receive board, step-22 check, confirmation, withdrawals, ratings;
2. reseller buys (§III.B, 2(a)): the platform is the buyer;
3. reseller sells (§III.B, 2(b)): the platform sells what it bought; the buyer sends no fingerprint receipt;
4. use-right per query (§II): three aggregate queries under an ODRL policy, one raw-row query refused before
   anything is paid, the unused credit refunded after the usage window;
5. negotiation (§III.A pricing module): offer, counter-offer, accept the counter;
6. English auction (§III.A pricing module) with three bidders paid in an ERC-20 (DGD);
7. fabricated data (§IV.A.3): caught at step 22, the seller's re-upload arbitrated, buyer refunded;
8. lying buyer (§IV.A.3): a fake f_B caught at step 22, the honest re-upload arbitrated, seller paid;
9. seller never delivers (§IV.A.4): refund and the seller's collateral to the buyer;
10. buyer never confirms (§IV.A.5): mandatory transfer to the seller;
11. illegal resale (§IV.A.2): relisting a sold dataset and publishing a modified copy are both refused;

then everyone withdraws what the market owes them, and the market's escrow must be empty in ether and in DGD.

:func:`run_market_scenarios` runs them on any :class:`~datagora.chain.client.Chain` that can move its clock
(the embedded EVM, Anvil); ``benchmarks/gas_scenarios.py`` reuses it for its gas figures. :func:`run_market_demo`
renders a run with Rich for the CLI.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.client import Chain, connect
from datagora.chain.contracts import Contracts
from datagora.crypto.envelope import decrypt_file, encrypt_file
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.errors import AccessDenied, NoveltyRefused, TamperedError, TransactionReverted
from datagora.domain.models import ETHER, OrgStatus, Outcome, TxResult
from datagora.query import Aggregate, ColumnRef, Condition, QuerySpec, UsagePolicy
from datagora.services import disputes, market, publishing, registry, relay, reputation, use_rights
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv, write_photo, write_pirated_copy
from datagora.storage.blobstore import BlobStore

WEI = 10**18
"""Wei per ether; also the smallest units per DGD (18 decimals)."""
DAY = 86_400
MANAGEMENT_FEE = 10**15
"""Management fee per listing the platform sets for the demo (0.001 ETH, Wu et al. steps 4-8)."""

PEOPLE = {
    "supervisor": None,
    "platform": "Datagora Platform",
    "seller": "Acme Data Ltd",
    "buyer": "Blue Research Lab",
    "carol": "Carol Analytics",
    "dave": "Dave Insights",
    "mallory": "Mallory Data Co",
}
"""Participants and their organisations (the supervisor audits, it does not trade)."""

ESCROW_EMPTY = "ESCROW EMPTY"
REFUSED = "REFUSED"


@dataclass(frozen=True)
class StepRecord:
    """One step of a scenario: ``actor`` did ``text``; ``name`` is the short, per-scenario unique label of the
    gas table; ``txs`` the transactions it took (empty for off-chain steps)."""

    scenario: str
    actor: str
    name: str
    text: str
    txs: tuple[TxResult, ...] = ()

    @property
    def gas(self) -> int:
        """Gas used by the step's transactions, from their receipts."""
        return sum(tx.gas_used for tx in self.txs)


@dataclass
class ScenarioResult:
    """One scenario: ``outcome`` as read from the chain (an :class:`~datagora.domain.models.Outcome` name of the
    deciding ``Settled`` event, ``REFUSED`` or ``ESCROW EMPTY``) against ``expected``, the paper's; ``checks``
    are further facts verified on chain (owner of the NFT, amounts owed)."""

    key: str
    title: str
    source: str
    expected: str
    outcome: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome == self.expected and all(passed for _, passed in self.checks)

    @property
    def gas(self) -> dict[str, int]:
        """Gas per step name (steps without transactions left out)."""
        return {s.name: s.gas for s in self.steps if s.txs}


@dataclass(frozen=True)
class AccountSummary:
    """What one participant withdrew from the market over the run (wei and DGD units), what it is still owed
    (must be 0), and its reputation (average score or None, number of ratings)."""

    label: str
    address: str
    withdrawn_ether: int
    withdrawn_token: int
    pending_ether: int
    pending_token: int
    rating: float | None
    ratings: int


@dataclass
class MarketDemoReport:
    """Everything a run did: ``setup`` (deployment, registration, publishing), the scenarios, the settle-up, the
    participants' final position and the market's remaining escrow and balances (all zero after a clean run)."""

    chain_kind: str
    chain_id: int
    addresses: dict[str, str]
    token: str
    setup: ScenarioResult
    scenarios: list[ScenarioResult]
    accounts: list[AccountSummary] = field(default_factory=list)
    escrowed_ether: int = -1
    escrowed_token: int = -1
    market_ether_balance: int = -1
    market_token_balance: int = -1
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every scenario reached its expected outcome and nothing is left in the market."""
        return all(s.ok for s in self.scenarios) and self.escrow_empty

    @property
    def escrow_empty(self) -> bool:
        return (
            self.escrowed_ether == self.escrowed_token == self.market_ether_balance == self.market_token_balance == 0
            and all(a.pending_ether == a.pending_token == 0 for a in self.accounts)
        )

    def gas(self) -> dict[str, dict[str, int]]:
        """``{scenario key: {step name: gas}}`` for setup and every scenario, from transaction receipts."""
        return {s.key: s.gas for s in [self.setup, *self.scenarios]}

    def scenario(self, key: str) -> ScenarioResult:
        for s in self.scenarios:
            if s.key == key:
                return s
        raise KeyError(key)


def amount(units: int, symbol: str = "ETH") -> str:
    """``units`` (wei, or a token's smallest unit at 18 decimals) as ``"0.195 ETH"``."""
    value = (Decimal(units) / WEI).normalize()
    return f"{value:f} {symbol}"


def _write_sklearn_csv(loader: Callable[[], Any], target: Path) -> Path:
    """A scikit-learn bundled data set as CSV: its feature names plus ``target`` (the class name when the set
    has classes, the value otherwise)."""
    bunch = loader()
    names = getattr(bunch, "target_names", None)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*bunch.feature_names, "target"])
        for row, label in zip(bunch.data, bunch.target, strict=True):
            value = names[int(label)] if names is not None else f"{label:.6g}"
            writer.writerow([*(f"{v:.6g}" for v in row), value])
    return target


@dataclass(frozen=True)
class _Data:
    """A real dataset of the demo: file written under the data directory, title, domain and owner."""

    file: str
    title: str
    domain: str
    owner: str


DATASETS = {
    "astronaut": _Data("astronaut.png", "Astronaut portrait", "imagery", "seller"),
    "coffee": _Data("coffee.png", "Cup of coffee", "imagery", "seller"),
    "breast_cancer": _Data("breast_cancer_wisconsin.csv", "Breast Cancer Wisconsin diagnostic", "health", "seller"),
    "wine": _Data("wine.csv", "Wine recognition (UCI)", "food", "seller"),
    "chelsea": _Data("chelsea.png", "Chelsea the cat", "imagery", "seller"),
    "rocket": _Data("rocket.png", "Rocket launch", "imagery", "mallory"),
    "ihc": _Data("immunohistochemistry.png", "Immunohistochemistry slide", "health", "seller"),
    "iris": _Data("iris.csv", "Iris flowers (Fisher)", "botany", "mallory"),
    "diabetes": _Data("diabetes.csv", "Diabetes progression", "health", "seller"),
    "camera": _Data("camera.png", "Cameraman", "imagery", "seller"),
}


def _write_dataset(key: str, data_dir: Path) -> Path:
    from sklearn.datasets import load_diabetes, load_iris, load_wine

    path = data_dir / DATASETS[key].file
    if key == "breast_cancer":
        return write_breast_cancer_csv(path)
    loaders: dict[str, Callable[[], Any]] = {"wine": load_wine, "iris": load_iris, "diabetes": load_diabetes}
    if key in loaders:
        return _write_sklearn_csv(loaders[key], path)
    photo = {"ihc": "immunohistochemistry"}.get(key, key)
    return write_photo(path, photo)


# (key, title, paper section, expected outcome)
SCENARIOS = [
    ("broker", "Broker sale", "§III.A scenario 1, steps 9-24", Outcome.CONFIRMED.name),
    ("reseller_buy", "Reseller buys", "§III.B scenario 2(a)", Outcome.CONFIRMED.name),
    ("reseller_sell", "Reseller sells", "§III.B scenario 2(b)", Outcome.CONFIRMED.name),
    (
        "use_right",
        "Use-right per query",
        "§II, ODRL policy",
        f"3 answered, 1 refused, {Outcome.USE_RIGHT_EXPIRED.name}",
    ),
    ("negotiation", "Negotiation", "§III.A pricing module", Outcome.CONFIRMED.name),
    ("auction", "English auction in DGD", "§III.A pricing module, ERC-20", Outcome.CONFIRMED.name),
    ("fabricated", "Fabricated data", "§IV.A.3 (seller)", Outcome.FOR_BUYER.name),
    ("lying_buyer", "Fake buyer fingerprint", "§IV.A.3 (buyer)", Outcome.FOR_SELLER.name),
    ("wrong_file", "Wrong file sent, real data held", "§IV.A.3 (transmission)", Outcome.REDELIVERED.name),
    ("no_delivery", "Seller never delivers", "§IV.A.4", Outcome.NOT_DELIVERED.name),
    ("no_confirm", "Buyer never confirms", "§IV.A.5", Outcome.RELEASED.name),
    ("resale", "Illegal resale", "§IV.A.2", REFUSED),
    ("settle_up", "Everyone withdraws", "pull payments", ESCROW_EMPTY),
]


class _Runner:
    """Runs the scenarios in order on one chain; state shared between them lives here."""

    c: Contracts
    board: relay.SendReceiveBoard
    attestor: NoveltyAttestor
    token: str
    escrow: tuple[int, int, int, int]

    def __init__(
        self,
        chain: Chain,
        workdir: Path,
        on_step: Callable[[StepRecord], None],
        on_scenario: Callable[[ScenarioResult], None],
        fund_wei: int,
        management_fee: int,
        seed: str | None,
    ) -> None:
        self.chain = chain
        self.workdir = workdir
        self.on_step = on_step
        self.on_scenario = on_scenario
        self.fund_wei = fund_wei
        self.management_fee = management_fee
        self.people = {
            label: Participant(
                label,
                Account.create() if seed is None else Account.from_key(keccak256(f"{seed}:{label}".encode())),
                workdir / label,
            )
            for label in PEOPLE
        }
        self.current = ScenarioResult("setup", "Setup", "registration, audit, publishing", "")
        self.setup = self.current
        self.scenarios: list[ScenarioResult] = []
        self.files: dict[str, Path] = {}
        self.tokens: dict[str, int] = {}
        self.withdrawn: dict[tuple[str, str], int] = {}

    # -- reporting -------------------------------------------------------------------------------------------

    def p(self, label: str) -> Participant:
        return self.people[label]

    def step(self, actor: str, name: str, text: str, *txs: TxResult) -> StepRecord:
        taken = {s.name for s in self.current.steps}
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name} #{n}", n + 1
        record = StepRecord(self.current.key, actor, unique, text, tuple(txs))
        self.current.steps.append(record)
        self.on_step(record)
        return record

    def check(self, description: str, passed: bool) -> None:
        self.current.checks.append((description, passed))
        self.step("check", "check", f"{'✓' if passed else '✗'} {description}")

    def begin(self, key: str, title: str, source: str, expected: str) -> ScenarioResult:
        self.current = ScenarioResult(key, title, source, expected)
        self.scenarios.append(self.current)
        self.on_scenario(self.current)
        return self.current

    def owed(self, label: str, token: str = ETHER) -> int:
        """What the Market and UseRights together owe ``label`` in ``token``."""
        address = self.p(label).address
        return self.c.market.pending_withdrawal(address, token) + self.c.use_rights.pending_withdrawal(address, token)

    def name_of(self, address: str) -> str:
        for label, person in self.people.items():
            if person.address.lower() == address.lower():
                return label
        return address

    @staticmethod
    def outcome_of(tx: TxResult) -> str:
        return Outcome(int(tx.event("Settled").args["outcome"])).name

    # -- setup -----------------------------------------------------------------------------------------------

    def run_setup(self) -> None:
        chain = self.chain
        for person in self.people.values():
            chain.fund(person.address, self.fund_wei)
        self.step(
            "node",
            "fund",
            f"funded {len(self.people)} new accounts with {amount(self.fund_wei)} each on chain {chain.chain_id} "
            f"({chain.kind})",
        )
        sup, plat = self.p("supervisor"), self.p("platform")
        self.c = Contracts.deploy(chain, sup.account, plat.account)
        self.step(
            "supervisor", "deploy", "deployed Registry; the platform deployed Catalog, Market, UseRights and Reputation"
        )
        fee_bps = self.c.market.fee_bps()
        tx = self.c.market.set_parameters(
            plat.account,
            fee_bps=fee_bps,
            management_fee=self.management_fee,
            dispute_window=self.c.market.dispute_window(),
        )
        self.step(
            "platform",
            "set fees",
            f"set a brokerage fee of {fee_bps / 100:g} % and a management fee of {amount(self.management_fee)} "
            "per listing",
            tx,
        )
        tx = self.c.use_rights.set_parameters(plat.account, fee_bps=fee_bps, management_fee=self.management_fee)
        self.step("platform", "set use-right fees", "the same fees for use-rights sold per query", tx)
        register, audit = [], []
        for label, org_name in PEOPLE.items():
            if org_name is None:
                continue
            org, tx = registry.register_organisation(self.c, self.p(label), org_name)
            register.append(tx)
            _, tx = registry.set_status(self.c, sup.account, org.id, OrgStatus.AUDITED)
            audit.append(tx)
        orgs = ", ".join(name for name in PEOPLE.values() if name)
        self.step("members", "register ×6", f"registered 6 organisations and their encryption keys: {orgs}", *register)
        self.step("supervisor", "audit ×6", "audited all six organisations → AUDITED", *audit)

        self.token = TokensBinding.deploy_demo(chain, plat.account)
        mints = []
        for label in ("seller", "buyer", "carol", "dave"):
            mints.append(self.c.tokens.mint(plat.account, self.token, self.p(label).address, 100 * WEI))
        self.step(
            "platform",
            "mint DGD ×4",
            f"deployed the ERC-20 DGD at {self.token}; minted 100 DGD to seller, buyer, carol and dave",
            *mints,
        )

        self.board = relay.SendReceiveBoard(
            self.c,
            BlobStore(plat.home / "relay-blobs"),
            plat.home / "send-receive-board.sqlite",
            operator=plat.address,
            platform_key=plat.private_key,
            clock=chain.now,
        )
        self.attestor = NoveltyAttestor(self.c, plat.account, plat.home / "data-contract.sqlite")
        data_dir = self.workdir / "data"
        for key, data in DATASETS.items():
            path = _write_dataset(key, data_dir)
            self.files[key] = path
            owner = self.p(data.owner)
            prepared = publishing.prepare(owner, path, name=data.title, domain=data.domain)
            token_id, _, tx = publishing.publish(self.c, owner, prepared, self.attestor)
            self.tokens[key] = token_id
            self.step(
                data.owner,
                f"publish {data.file}",
                f"published {data.file} as dataset #{token_id} {data.title!r} (fingerprint attested by the platform)",
                tx,
            )

    # -- shared protocol pieces ------------------------------------------------------------------------------

    def list_fixed(self, seller: str, key: str, price: int) -> int:
        listing_id, txs = market.list_dataset(self.c, self.p(seller), self.tokens[key], price)
        self._approvals(seller, txs[:-1])
        listing = self.c.market.listing(listing_id)
        symbol = "ETH" if listing.pays_in_ether else "DGD"
        self.step(
            seller,
            "list",
            f"listed dataset #{self.tokens[key]} ({DATASETS[key].title}) as listing #{listing_id} for "
            f"{amount(price, symbol)}, posting {amount(listing.collateral, symbol)} collateral and the management fee",
            txs[-1],
        )
        return listing_id

    def _approvals(self, actor: str, txs: list[TxResult]) -> None:
        for tx in txs:
            if any(e.name == "ApprovalForAll" for e in tx.events):
                self.step(
                    actor, "approve NFTs", "let the Market hold its data NFTs while listed (setApprovalForAll)", tx
                )
            else:
                self.step(actor, f"approve DGD ({actor})", "approved the Market to pull DGD (EIP-20 approve)", tx)

    def approve(self, actor: str, token: str, units: int) -> None:
        self._approvals(actor, market.approve_payment(self.c, self.p(actor), token, units))

    def buy(self, buyer: str, listing_id: int) -> int:
        listing = self.c.market.listing(listing_id)
        order_id, tx = market.buy(self.c, self.p(buyer), listing_id)
        self.step(
            buyer,
            "buy",
            f"paid {amount(listing.price)} plus {amount(listing.collateral)} collateral into escrow: order #{order_id} "
            "(steps 9-12)",
            tx,
        )
        return order_id

    def deliver(self, seller: str, order_id: int) -> market.Delivery:
        who = self.name_of(self.c.market.order(order_id).buyer)
        delivery = market.deliver(self.c, self.p(seller), order_id)
        self.step(
            seller,
            "deliver",
            f"re-encrypted the data to {who}'s Registry key and committed the ciphertext's sha256 "
            f"{delivery.delivery_hash.hex()[:12]}… on chain (steps 13-14)",
            delivery.tx,
        )
        return delivery

    def relay_sent(self, seller: str, order_id: int, *, with_fingerprint: bool = True) -> None:
        upload, _ = relay.send_through_relay(
            self.c,
            self.p(seller),
            order_id,
            relay.LocalRelay(self.board, self.p(seller).address),
            with_fingerprint=with_fingerprint,
            clock=self.chain.now,
        )
        what = "with E_PkP(f_S)" if with_fingerprint else "without a fingerprint"
        self.step(
            seller,
            "relay",
            f"uploaded {upload['size']:,} bytes to the platform's relay and posted its EIP-712-signed 'sent' notice "
            f"(t1) {what} (steps 15-17)",
        )

    def download(self, buyer: str, order_id: int) -> Path:
        """The buyer fetches the relayed ciphertext of ``order_id`` from the platform."""
        order = self.c.market.order(order_id)
        _size, src = self.board.open_relayed(order)
        inbox = self.p(buyer).home / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        path = inbox / f"order-{order_id}.dge"
        with src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return path

    def receive(self, buyer: str, order_id: int, key: str) -> Path:
        cipher = self.download(buyer, order_id)
        out = self.p(buyer).home / "received" / f"order-{order_id}{self.files[key].suffix}"
        out.parent.mkdir(parents=True, exist_ok=True)
        got = market.receive(self.c, self.p(buyer), order_id, cipher, out)
        self.step(
            buyer,
            "receive",
            f"downloaded the ciphertext from the relay, checked it against the delivery hash, decrypted {got.size:,} "
            "bytes whose sha256 matches Catalog (steps 18-19)",
        )
        return got.path

    def relay_received(self, buyer: str, order_id: int, cipher_hash: bytes, fingerprint: bytes, note: str) -> None:
        relay.report_received(
            self.c,
            self.p(buyer),
            order_id,
            cipher_hash,
            relay.LocalRelay(self.board, self.p(buyer).address),
            fingerprint=fingerprint,
            clock=self.chain.now,
        )
        self.step(buyer, "notice", f"posted its signed 'received' notice (t2) with E_PkP(f_B){note} (steps 20-21)")

    def platform_check(self, order_id: int) -> disputes.DeliveryCheck:
        checked = disputes.check_delivery(self.c, self.p("platform"), self.board, order_id)
        score = "n/a" if checked.similarity is None else f"{checked.similarity:.2f}"
        if checked.action == "confirm":
            text = f"step 22: f_S and f_B agree (similarity {score}) → tells the buyer the transfer succeeded"
        elif checked.action == "dispute":
            text = f"step 22: f_S and f_B disagree (similarity {score}) → disputed order #{order_id} on chain"
        else:
            text = "step 22: a notice is missing, waiting"
        self.step("platform", "check" if checked.tx is None else "dispute", text, *([checked.tx] if checked.tx else []))
        return checked

    def honest_delivery(self, seller: str, buyer: str, order_id: int, key: str) -> disputes.DeliveryCheck:
        """Steps 13-22 with honest parties: deliver, relay, receive, f_B, check."""
        delivery = self.deliver(seller, order_id)
        self.relay_sent(seller, order_id)
        received = self.receive(buyer, order_id, key)
        self.relay_received(buyer, order_id, delivery.delivery_hash, publishing.fingerprint_of(received), "")
        return self.platform_check(order_id)

    def confirm(self, buyer: str, order_id: int) -> str:
        order = self.c.market.order(order_id)
        listing = self.c.market.listing(order.listing_id)
        symbol = "ETH" if listing.pays_in_ether else "DGD"
        tx = market.confirm(self.c, self.p(buyer), order_id)
        fee = order.amount * order.fee_bps // 10_000
        self.step(
            buyer,
            "confirm",
            f"confirmed order #{order_id}: dataset #{listing.token_id} is its own; seller owed "
            f"{amount(order.amount - fee + listing.collateral, symbol)} (price less fee, plus its collateral), buyer "
            f"its {amount(listing.collateral, symbol)} collateral back, platform the {amount(fee, symbol)} fee "
            "(steps 23-24)",
            tx,
        )
        self.check(
            f"dataset #{listing.token_id} now owned by {buyer}",
            self.c.catalog.owner_of(listing.token_id).lower() == self.p(buyer).address.lower(),
        )
        return self.outcome_of(tx)

    def withdraw(self, label: str, token: str = ETHER) -> int:
        got, tx = market.withdraw(self.c, self.p(label), token)
        symbol = "ETH" if token == ETHER else "DGD"
        self.withdrawn[(label, token)] = self.withdrawn.get((label, token), 0) + got
        self.step(label, f"withdraw ({label}, {symbol})", f"withdrew {amount(got, symbol)} (pull payment)", tx)
        return got

    # -- the scenarios ---------------------------------------------------------------------------------------

    def broker(self) -> str:
        listing_id = self.list_fixed("seller", "astronaut", WEI // 5)
        order_id = self.buy("buyer", listing_id)
        checked = self.honest_delivery("seller", "buyer", order_id, "astronaut")
        if checked.action != "confirm":
            return f"step 22 said {checked.action}"
        kinds = [
            f"'{e.notice.kind}' by {self.name_of(e.notice.sender)} at t={e.notice.timestamp}"
            for e in self.board.entries(order_id)
        ]
        self.step(
            "platform",
            "board",
            f"send-receive board of order #{order_id}: {'; '.join(kinds)}, each EIP-712-signed, so neither party can "
            "deny the transfer (§IV.A.1)",
        )
        outcome = self.confirm("buyer", order_id)
        for label in ("seller", "buyer", "platform"):
            self.withdraw(label)
        self.step("buyer", "rate seller", "rated the seller 5/5", reputation.rate(self.c, self.p("buyer"), order_id, 5))
        self.step("seller", "rate buyer", "rated the buyer 5/5", reputation.rate(self.c, self.p("seller"), order_id, 5))
        return outcome

    def reseller_buy(self) -> str:
        listing_id = self.list_fixed("seller", "coffee", WEI // 10)
        order_id = self.buy("platform", listing_id)
        delivery = self.deliver("seller", order_id)
        self.relay_sent("seller", order_id)
        received = self.receive("platform", order_id, "coffee")
        self.relay_received(
            "platform", order_id, delivery.delivery_hash, publishing.fingerprint_of(received), " (its own node)"
        )
        checked = self.platform_check(order_id)
        if checked.action != "confirm":
            return f"step 22 said {checked.action}"
        outcome = self.confirm("platform", order_id)
        # The platform keeps its copy encrypted in its own store, as any owner does, to sell it on.
        publishing.prepare(self.p("platform"), received, name=DATASETS["coffee"].title, domain="imagery")
        self.step(
            "platform", "stock", f"stored its copy of dataset #{self.tokens['coffee']} encrypted, ready to resell"
        )
        return outcome

    def reseller_sell(self) -> str:
        listing_id = self.list_fixed("platform", "coffee", 3 * WEI // 20)
        order_id = self.buy("carol", listing_id)
        delivery = self.deliver("platform", order_id)
        self.relay_sent("platform", order_id, with_fingerprint=False)
        self.receive("carol", order_id, "coffee")
        self.step(
            "carol",
            "no receipt",
            "sends no fingerprint receipt: the seller is the honest platform, whose relay holds ciphertext "
            f"{delivery.delivery_hash.hex()[:12]}… matching the chain (§III.B 2(b))",
        )
        return self.confirm("carol", order_id)

    def use_right(self) -> str:
        seller, buyer = self.p("seller"), self.p("buyer")
        token_id = self.tokens["breast_cancer"]
        policy = UsagePolicy.aggregates_only(
            uid=f"urn:datagora:policy:dataset-{token_id}",
            assigner=f"did:pkh:eip155:{self.chain.chain_id}:{seller.address}",
            target=f"urn:datagora:dataset:{token_id}",
            k=10,
            aggregates=("count", "avg", "min", "max"),
            max_rows=100,
        )
        price = WEI // 100
        listing_id, tx = use_rights.list_use_right(
            self.c, seller, token_id, price, policy, max_queries=10, usage_window=DAY
        )
        self.step(
            "seller",
            "list use-right",
            f"listed use-rights on dataset #{token_id} at {amount(price)} per query (at most 10, usable 1 day) under "
            "an ODRL policy: aggregates count/avg/min/max only, groups of ≥ 10 rows, no raw rows (keccak256 on chain)",
            tx,
        )
        order_id, tx = use_rights.buy_queries(self.c, buyer, listing_id, 4)
        self.step("buyer", "buy 4 queries", f"prepaid 4 queries ({amount(4 * price)}) as order #{order_id}", tx)
        queries = [
            (
                "patients per diagnosis",
                QuerySpec(
                    select=(ColumnRef("diagnosis"), Aggregate("count", alias="patients")), group_by=("diagnosis",)
                ),
            ),
            (
                "mean radius and area per diagnosis",
                QuerySpec(
                    select=(
                        ColumnRef("diagnosis"),
                        Aggregate("avg", "mean radius", alias="radius"),
                        Aggregate("avg", "mean area", alias="area"),
                    ),
                    group_by=("diagnosis",),
                ),
            ),
            (
                "raw rows of the largest tumours",
                QuerySpec(
                    select=(ColumnRef("mean radius"), ColumnRef("diagnosis")),
                    where=(Condition("mean radius", ">", 25),),
                    limit=5,
                ),
            ),
            (
                "largest worst concavity per diagnosis where mean area > 1000",
                QuerySpec(
                    select=(ColumnRef("diagnosis"), Aggregate("max", "worst concavity", alias="max_concavity")),
                    where=(Condition("mean area", ">", 1000),),
                    group_by=("diagnosis",),
                ),
            ),
        ]
        answered = refused = 0
        for title, spec in queries:
            request = use_rights.sign_query(self.c, buyer, order_id, spec)
            try:
                answer = use_rights.answer_query(self.c, seller, request)
            except AccessDenied as exc:
                refused += 1
                left = self.c.market.order(order_id).queries_left
                self.step(
                    "seller",
                    "refuse query",
                    f"node refused query {title!r} before anything was paid: {exc} ({left} queries still prepaid)",
                )
                continue
            answered += 1
            verified = use_rights.verify_answer(self.c, order_id, answer.index, answer.result)
            rows = "; ".join(
                ", ".join(
                    f"{c}={v:.4g}" if isinstance(v, float) else f"{c}={v}"
                    for c, v in zip(answer.result.columns, row, strict=True)
                )
                for row in answer.result.rows
            )
            suppressed = answer.result.suppressed_groups
            self.step(
                "seller",
                f"answer query {answered}",
                f"signed request #{answer.index} {title!r} checked against the policy, run with DuckDB, recorded on "
                f"chain and paid: {rows}"
                + (f" ({suppressed} group under k suppressed)" if suppressed else "")
                + (" — buyer verified the result hash" if verified else " — RESULT HASH MISMATCH"),
                answer.tx,
            )
        self.chain.advance_time(DAY + 1)
        self.step("chain", "time", "one day passes: the usage window is over")
        before = self.owed("buyer")
        tx = market.expire(self.c, buyer, order_id)
        refund = self.owed("buyer") - before
        self.step("buyer", "expire", f"closed order #{order_id}: the unused credit {amount(refund)} is owed back", tx)
        self.check("one unused query refunded", refund == price)
        self.check(
            f"dataset #{token_id} still owned by the seller (a use-right keeps the NFT)",
            self.c.catalog.owner_of(token_id).lower() == seller.address.lower(),
        )
        return f"{answered} answered, {refused} refused, {self.outcome_of(tx)}"

    def negotiation(self) -> str:
        seller, carol = self.p("seller"), self.p("carol")
        ask = WEI // 2
        listing_id, txs = market.list_negotiable(self.c, seller, self.tokens["wine"], ask)
        self._approvals("seller", txs[:-1])
        self.step(
            "seller",
            "list negotiable",
            f"listed dataset #{self.tokens['wine']} ({DATASETS['wine'].title}) for negotiation, asking {amount(ask)} "
            f"with {amount(ask)} collateral",
            txs[-1],
        )
        offer_id, tx = market.make_offer(self.c, carol, listing_id, 3 * WEI // 10)
        self.step(
            "carol",
            "offer",
            f"offered {amount(3 * WEI // 10)} (escrowed with its collateral) as offer #{offer_id}, valid one day",
            tx,
        )
        tx = market.counter_offer(self.c, seller, offer_id, 2 * WEI // 5)
        self.step("seller", "counter", f"countered with {amount(2 * WEI // 5)}", tx)
        order_id, tx = market.accept_counter(self.c, carol, offer_id)
        self.step(
            "carol", "accept counter", f"accepted the counter, topping up {amount(WEI // 10)}: order #{order_id}", tx
        )
        checked = self.honest_delivery("seller", "carol", order_id, "wine")
        if checked.action != "confirm":
            return f"step 22 said {checked.action}"
        return self.confirm("carol", order_id)

    def auction(self) -> str:
        token = self.token
        reserve, step = 10 * WEI, WEI
        listing_id, txs = market.list_auction(
            self.c,
            self.p("seller"),
            self.tokens["chelsea"],
            reserve,
            min_increment=step,
            duration=3600,
            payment_token=token,
        )
        self._approvals("seller", txs[:-1])
        self.step(
            "seller",
            "list auction",
            f"opened a one-hour English auction on dataset #{self.tokens['chelsea']} ({DATASETS['chelsea'].title}) in "
            f"DGD: reserve {amount(reserve, 'DGD')}, increment {amount(step, 'DGD')}, {amount(reserve, 'DGD')} "
            "collateral (the management fee in ether)",
            txs[-1],
        )
        collateral = self.c.market.listing(listing_id).collateral
        for bidder, bid in (("buyer", 10 * WEI), ("carol", 12 * WEI), ("dave", 15 * WEI)):
            self.approve(bidder, token, bid + collateral)
            tx = market.bid(self.c, self.p(bidder), listing_id, bid)
            outbid = tx.event("BidPlaced").args["outbid"]
            after = "" if int(outbid, 16) == 0 else f"; {self.name_of(outbid)} outbid, its escrow now withdrawable"
            self.step(
                bidder,
                f"bid ({bidder})",
                f"bid {amount(bid, 'DGD')} (+{amount(collateral, 'DGD')} collateral){after}",
                tx,
            )
        self.chain.advance_time(3601)
        self.step("chain", "time", "one hour passes: the auction has ended")
        order_id, tx = market.settle_auction(self.c, self.p("platform"), listing_id)
        winner = self.name_of(self.c.market.order(order_id).buyer)
        self.step("platform", "settle", f"settled the auction: {winner}'s bid became order #{order_id}", tx)
        self.check(
            "outbid bidders' DGD escrow is withdrawable",
            self.owed("buyer", token) == 20 * WEI and self.owed("carol", token) == 22 * WEI,
        )
        checked = self.honest_delivery("seller", winner, order_id, "chelsea")
        if checked.action != "confirm":
            return f"step 22 said {checked.action}"
        return self.confirm(winner, order_id)

    def fabricated(self) -> str:
        mallory, buyer, plat = self.p("mallory"), self.p("buyer"), self.p("platform")
        listing_id = self.list_fixed("mallory", "rocket", WEI // 5)
        order_id = self.buy("buyer", listing_id)
        owed_before = self.owed("buyer")
        # Mallory's node sends some other photo, encrypted to the buyer, and commits its hash.
        fake = write_photo(mallory.home / "fake" / "moon.png", "moon")
        cipher = mallory.home / "fake" / f"order-{order_id}.dge"
        encrypt_file(fake, cipher, {buyer.address: self.c.registry.public_key(buyer.address)})
        blob = mallory.store.put_file(cipher)
        tx = self.c.market.deliver(mallory.account, order_id, bytes.fromhex(blob))
        self.step(
            "mallory",
            "deliver",
            "delivered a different photo (the Moon) encrypted to the buyer and committed its sha256 (step 14, "
            "fabricated)",
            tx,
        )
        self.relay_sent("mallory", order_id)
        got = self.download("buyer", order_id)
        out = buyer.home / "received" / f"order-{order_id}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            market.receive(self.c, buyer, order_id, got, out)
            note = "the data matched Catalog?!"
        except TamperedError as exc:
            note = str(exc)
        decrypt_file(got, out, buyer.private_key)
        self.step("buyer", "receive", f"downloaded and decrypted the delivery: {note}")
        self.relay_received("buyer", order_id, sha256_file(got), publishing.fingerprint_of(out), " of what it got")
        checked = self.platform_check(order_id)
        if checked.action != "dispute":
            return f"step 22 said {checked.action}"
        reupload = mallory.home / "fake" / f"reupload-{order_id}.dge"
        encrypt_file(fake, reupload, {plat.address: self.c.registry.public_key(plat.address)})
        self.step(
            "mallory", "re-upload", "re-uploaded 'the data' encrypted to the platform, E_PkP(D') — the Moon again"
        )
        ruling = disputes.arbitrate(self.c, plat, self.attestor, self.board, order_id, reupload)
        self.step(
            "platform",
            "arbitrate",
            f"fingerprinted D' (similarity {ruling.similarity:.2f} to the attested f_D,P, content match "
            f"{ruling.content_match}) → seller dishonest: order refunded, the seller's collateral to the buyer",
            ruling.tx,
        )
        listing = self.c.market.listing(listing_id)
        self.check(
            f"buyer owed price + both collaterals ({amount(listing.price + 2 * listing.collateral)})",
            self.owed("buyer") - owed_before == listing.price + 2 * listing.collateral,
        )
        self.check(
            f"dataset #{listing.token_id} back with mallory",
            self.c.catalog.owner_of(listing.token_id).lower() == mallory.address.lower(),
        )
        self.step("buyer", "rate mallory", "rated mallory 1/5", reputation.rate(self.c, buyer, order_id, 1))
        return self.outcome_of(ruling.tx)

    def lying_buyer(self) -> str:
        seller, dave, plat = self.p("seller"), self.p("dave"), self.p("platform")
        listing_id = self.list_fixed("seller", "ihc", WEI // 10)
        order_id = self.buy("dave", listing_id)
        owed_before = self.owed("seller")
        delivery = self.deliver("seller", order_id)
        self.relay_sent("seller", order_id)
        self.receive("dave", order_id, "ihc")
        decoy = write_photo(dave.home / "decoy" / "camera.png", "camera")
        self.relay_received(
            "dave", order_id, delivery.delivery_hash, publishing.fingerprint_of(decoy), " of another photo (a fake f_B)"
        )
        checked = self.platform_check(order_id)
        if checked.action != "dispute":
            return f"step 22 said {checked.action}"
        reupload = disputes.reupload_for_arbitration(self.c, seller, order_id, seller.home / "outbox" / "reupload.dge")
        self.step("seller", "re-upload", "re-uploaded its copy encrypted to the platform, E_PkP(D')")
        ruling = disputes.arbitrate(self.c, plat, self.attestor, self.board, order_id, reupload)
        self.step(
            "platform",
            "arbitrate",
            f"fingerprinted D' (content match {ruling.content_match}) → seller honest: sale completes, E_PkB(D') "
            "handed to the buyer, the buyer's collateral to the seller",
            ruling.tx,
        )
        listing = self.c.market.listing(listing_id)
        fee = listing.price * self.c.market.order(order_id).fee_bps // 10_000
        self.check(
            "seller owed price less fee + both collaterals",
            self.owed("seller") - owed_before == listing.price - fee + 2 * listing.collateral,
        )
        self.check(
            f"dataset #{listing.token_id} now owned by dave",
            self.c.catalog.owner_of(listing.token_id).lower() == dave.address.lower(),
        )
        self.check_platform_copy("dave", ruling, listing.token_id)
        return self.outcome_of(ruling.tx)

    def check_platform_copy(self, buyer: str, ruling: disputes.Resolution, token_id: int) -> None:
        """The buyer downloads the platform's copy E_PkB(D') after a ruling for good data and checks it."""
        if ruling.buyer_copy is None:
            return
        person = self.p(buyer)
        cipher = person.home / "inbox" / f"arbitrated-{ruling.order_id}.dge"
        copy = person.home / "received" / f"arbitrated-{ruling.order_id}.png"
        cipher.parent.mkdir(parents=True, exist_ok=True)
        copy.parent.mkdir(parents=True, exist_ok=True)
        with self.board.store.open(ruling.buyer_copy) as src, cipher.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        decrypt_file(cipher, copy, person.private_key)
        self.check(
            f"{buyer} decrypted the platform's copy E_PkB(D') and it is the dataset",
            sha256_file(copy) == self.c.catalog.dataset(token_id).content_hash,
        )

    def wrong_file(self) -> str:
        """The seller transmits other data but holds the real one: the buyer proves what it got by disclosing the
        delivered ciphertext's data key; the platform redelivers the real data and the seller forfeits its
        collateral to the buyer (ruling REDELIVERED)."""
        seller, buyer, plat = self.p("seller"), self.p("buyer"), self.p("platform")
        listing_id = self.list_fixed("seller", "camera", WEI // 10)
        order_id = self.buy("buyer", listing_id)
        owed_before = self.owed("buyer")
        wrong = write_photo(seller.home / "mixup" / "moon.png", "moon")
        cipher = seller.home / "mixup" / f"order-{order_id}.dge"
        encrypt_file(wrong, cipher, {buyer.address: self.c.registry.public_key(buyer.address)})
        blob = seller.store.put_file(cipher)
        tx = self.c.market.deliver(seller.account, order_id, bytes.fromhex(blob))
        self.step("seller", "deliver", "delivered the wrong photo (the Moon) by mistake and committed its sha256", tx)
        self.relay_sent("seller", order_id)
        got = self.download("buyer", order_id)
        out = buyer.home / "received" / f"order-{order_id}-wrong.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        decrypt_file(got, out, buyer.private_key)
        self.relay_received("buyer", order_id, sha256_file(got), publishing.fingerprint_of(out), " of what it got")
        checked = self.platform_check(order_id)
        if checked.action != "dispute":
            return f"step 22 said {checked.action}"
        reupload = disputes.reupload_for_arbitration(self.c, seller, order_id, seller.home / "outbox" / "fix.dge")
        self.step("seller", "re-upload", "re-uploaded its copy of the dataset encrypted to the platform, E_PkP(D')")
        key = disputes.disclose_received_key(self.c, buyer, order_id, got)
        self.step(
            "buyer",
            "disclose key",
            "disclosed the delivered ciphertext's data key to the platform, E_PkP(k): it opens that delivery only",
        )
        ruling = disputes.arbitrate(self.c, plat, self.attestor, self.board, order_id, reupload, disclosed_key=key)
        self.step(
            "platform",
            "arbitrate",
            f"D' is the dataset (content match {ruling.content_match}), but the delivery was not "
            f"(transmitted ok: {ruling.transmitted_ok}) → {ruling.ruling.name}: E_PkB(D') to the buyer, the seller "
            "is paid and forfeits its collateral to the buyer",
            ruling.tx,
        )
        listing = self.c.market.listing(listing_id)
        self.check(
            f"buyer owed both collaterals ({amount(2 * listing.collateral)})",
            self.owed("buyer") - owed_before == 2 * listing.collateral,
        )
        self.check_platform_copy("buyer", ruling, listing.token_id)
        return self.outcome_of(ruling.tx)

    def no_delivery(self) -> str:
        listing_id = self.list_fixed("mallory", "iris", WEI // 20)
        order_id = self.buy("carol", listing_id)
        owed_before = self.owed("carol")
        self.step("mallory", "silence", "never delivers")
        self.chain.advance_time(DAY + 1)
        self.step("chain", "time", "one day passes: the delivery deadline is over")
        actions = disputes.enforce_deadlines(self.c, self.p("platform"), first_order=order_id)
        done = [a for a in actions if a.order_id == order_id]
        if not done:
            return "no action"
        self.step(
            "platform",
            "refund",
            f"periodic check found order #{order_id} paid but undelivered past its deadline → {done[0].action}",
            done[0].tx,
        )
        listing = self.c.market.listing(listing_id)
        self.check(
            f"carol owed price + both collaterals ({amount(listing.price + 2 * listing.collateral)})",
            self.owed("carol") - owed_before == listing.price + 2 * listing.collateral,
        )
        self.step("carol", "rate mallory", "rated mallory 1/5", reputation.rate(self.c, self.p("carol"), order_id, 1))
        return self.outcome_of(done[0].tx)

    def no_confirm(self) -> str:
        listing_id = self.list_fixed("seller", "diabetes", WEI // 20)
        order_id = self.buy("dave", listing_id)
        owed_before = self.owed("seller")
        self.deliver("seller", order_id)
        self.relay_sent("seller", order_id)
        self.receive("dave", order_id, "diabetes")
        self.step("dave", "silence", "keeps the data and never confirms")
        self.chain.advance_time(DAY + 1)
        self.step("chain", "time", "one day passes: the confirmation deadline is over")
        actions = disputes.enforce_deadlines(self.c, self.p("platform"), first_order=order_id)
        done = [a for a in actions if a.order_id == order_id]
        if not done:
            return "no action"
        self.step(
            "platform",
            "release",
            f"periodic check found order #{order_id} delivered but unconfirmed past its deadline → mandatory transfer",
            done[0].tx,
        )
        listing = self.c.market.listing(listing_id)
        fee = listing.price * self.c.market.order(order_id).fee_bps // 10_000
        self.check(
            "seller owed price less fee + both collaterals",
            self.owed("seller") - owed_before == listing.price - fee + 2 * listing.collateral,
        )
        self.check(
            f"dataset #{listing.token_id} now owned by dave",
            self.c.catalog.owner_of(listing.token_id).lower() == self.p("dave").address.lower(),
        )
        return self.outcome_of(done[0].tx)

    def resale(self) -> str:
        seller = self.p("seller")
        token_id = self.tokens["astronaut"]
        refusals = 0
        try:
            market.list_dataset(self.c, seller, token_id, WEI)
            self.step("seller", "relist", f"relisted dataset #{token_id} it had sold?!")
        except AccessDenied as exc:
            refusals += 1
            self.step("seller", "relist", f"tried to list dataset #{token_id} again after selling it: {exc}")
        try:
            self.c.market.list(seller.account, token_id, WEI, DAY, DAY, collateral=0)
            self.step("seller", "relist on chain", "the Market accepted the listing?!")
        except TransactionReverted as exc:
            refusals += 1
            self.step("seller", "relist on chain", f"sent the listing to the Market directly: reverted, {exc.reason}")
        (seller.home / "pirated").mkdir(parents=True, exist_ok=True)
        pirated = write_pirated_copy(self.files["astronaut"], seller.home / "pirated" / "portrait.jpg")
        try:
            publishing.publish(self.c, seller, publishing.prepare(seller, pirated, name="New portrait"), self.attestor)
            self.step("seller", "publish copy", "published a modified copy?!")
        except NoveltyRefused as exc:
            refusals += 1
            self.step(
                "platform",
                "refuse copy",
                f"refused to attest a cropped, brightened, re-encoded copy as new data: {exc} (step 5)",
            )
        return REFUSED if refusals == 3 else f"{refusals} of 3 refused"

    def settle_up(self) -> str:
        for token in (ETHER, self.token):
            for label in self.people:
                if self.owed(label, token) > 0:
                    self.withdraw(label, token)
        market_address = self.c.addresses["Market"]
        self.escrow = (
            self.c.market.escrowed(ETHER),
            self.c.market.escrowed(self.token),
            self.chain.balance(market_address),
            self.c.tokens.balance(self.token, market_address),
        )
        e_eth, e_tok, b_eth, b_tok = self.escrow
        self.step(
            "market",
            "escrow",
            f"escrowed {amount(e_eth)} and {amount(e_tok, 'DGD')}; the Market holds {b_eth} wei and {b_tok} DGD units",
        )
        return ESCROW_EMPTY if self.escrow == (0, 0, 0, 0) else "ESCROW NOT EMPTY"

    # -- driver ----------------------------------------------------------------------------------------------

    def run(self) -> MarketDemoReport:
        started = time.perf_counter()
        self.on_scenario(self.setup)
        self.run_setup()
        for key, title, source, expected in SCENARIOS:
            scenario = self.begin(key, title, source, expected)
            scenario.outcome = getattr(self, key)()
        accounts = []
        for label, person in self.people.items():
            avg, count = reputation.reputation_of(self.c, person.address)
            accounts.append(
                AccountSummary(
                    label,
                    person.address,
                    self.withdrawn.get((label, ETHER), 0),
                    self.withdrawn.get((label, self.token), 0),
                    self.owed(label),
                    self.owed(label, self.token),
                    avg,
                    count,
                )
            )
        e_eth, e_tok, b_eth, b_tok = self.escrow
        return MarketDemoReport(
            self.chain.kind,
            self.chain.chain_id,
            self.c.addresses,
            self.token,
            self.setup,
            self.scenarios,
            accounts,
            e_eth,
            e_tok,
            b_eth,
            b_tok,
            time.perf_counter() - started,
        )


def run_market_scenarios(
    chain: Chain,
    workdir: Path,
    *,
    on_step: Callable[[StepRecord], None] = lambda step: None,
    on_scenario: Callable[[ScenarioResult], None] = lambda scenario: None,
    fund_wei: int = 100 * WEI,
    management_fee: int = MANAGEMENT_FEE,
    seed: str | None = None,
) -> MarketDemoReport:
    """Deploy a fresh contract set on ``chain`` and run every scenario (module docstring) with participants'
    stores under ``workdir``. ``on_scenario`` is called when a scenario (and first the setup) starts, ``on_step``
    after every step. The chain must move its clock (``Chain.advance_time``: the embedded EVM, Anvil, Hardhat),
    else ``ChainError``. ``seed`` derives the participants' keys (keccak256 of ``"<seed>:<label>"``) so that
    addresses, and with them the calldata gas, repeat from run to run (benchmarks); default: fresh random keys.
    A scenario that ends in another outcome than the paper's is reported, not raised; any unexpected error (a
    revert, a refused check) propagates."""
    runner = _Runner(chain, workdir, on_step, on_scenario, fund_wei, management_fee, seed)
    return runner.run()


# -- Rich rendering ------------------------------------------------------------------------------------------------


def gas_table(report: MarketDemoReport, title: str = "Gas per step (transaction receipts)") -> Table:
    """Every step with transactions: scenario, step, actor, number of transactions, gas used."""
    table = Table(title=title)
    for col in ("scenario", "step", "actor"):
        table.add_column(col)
    table.add_column("txs", justify="right")
    table.add_column("gas", justify="right")
    for scenario in [report.setup, *report.scenarios]:
        steps = [s for s in scenario.steps if s.txs]
        for i, s in enumerate(steps):
            table.add_row(scenario.title if i == 0 else "", s.name, s.actor, str(len(s.txs)), f"{s.gas:,}")
        if steps:
            table.add_section()
    return table


def run_market_demo(console: Console, workdir: Path | None = None, rpc_url: str | None = None) -> MarketDemoReport:
    """``datagora demo market``: run every scenario on the embedded chain (or the development chain at
    ``rpc_url``: Anvil, Hardhat) with stores under ``workdir`` (default: a temporary directory, removed after),
    printing each scenario's narrative, the gas per step, the final balances and the verdicts on ``console``.
    Returns the report; raises on any unexpected failure (``ChainError`` when the chain cannot move its clock)."""
    chain = connect(rpc_url)
    console.rule(f"[bold]Datagora market demo[/] on the {chain.kind} chain (chain id {chain.chain_id})")
    total = len(SCENARIOS) + 1
    with tempfile.TemporaryDirectory(prefix="datagora-market-") as tmp:
        root = workdir or Path(tmp)
        with Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("setup", total=total)
            started: list[str] = []

            def on_scenario(scenario: ScenarioResult) -> None:
                if started:
                    progress.advance(task)
                started.append(scenario.key)
                number = f"{len(started) - 1}. " if scenario.key != "setup" else ""
                progress.update(task, description=f"{number}{scenario.title}")
                progress.console.rule(f"[bold]{number}{scenario.title}[/] [dim]({scenario.source})[/]", align="left")

            def on_step(step: StepRecord) -> None:
                gas = f" [dim]gas {step.gas:,}[/]" if step.txs else ""
                style = "green" if step.actor == "check" and step.text.startswith("✓") else "bold cyan"
                if step.actor == "check" and not step.text.startswith("✓"):
                    style = "bold red"
                progress.console.print(f"[{style}]{step.actor:>10}[/] {step.text}{gas}", highlight=False)
                progress.update(task, description=f"{started[-1]}: {step.name}")

            report = run_market_scenarios(chain, root, on_step=on_step, on_scenario=on_scenario)
            progress.advance(task)
        _print_summary(console, report)
    return report


def _print_summary(console: Console, report: MarketDemoReport) -> None:
    console.print(gas_table(report))
    accounts = Table(title="Withdrawn from the Market over the run, and still owed")
    for col in ("account", "withdrew ETH", "withdrew DGD", "owed ETH", "owed DGD", "reputation"):
        accounts.add_column(col, justify="left" if col in ("account", "reputation") else "right")
    for a in report.accounts:
        rating = "—" if a.rating is None else f"{a.rating:.1f}/5 ({a.ratings} rating{'s' if a.ratings != 1 else ''})"
        accounts.add_row(
            a.label,
            amount(a.withdrawn_ether, "").strip(),
            amount(a.withdrawn_token, "").strip(),
            amount(a.pending_ether, "").strip(),
            amount(a.pending_token, "").strip(),
            rating,
        )
    console.print(accounts)
    verdicts = Table(title="Outcomes: chain vs. paper")
    for col in ("#", "scenario", "source", "expected", "outcome", ""):
        verdicts.add_column(col)
    for i, s in enumerate(report.scenarios, 1):
        verdicts.add_row(str(i), s.title, s.source, s.expected, s.outcome, "[green]✓[/]" if s.ok else "[red]✗[/]")
    console.print(verdicts)
    escrow = (
        f"Market escrow {amount(report.escrowed_ether)} and {amount(report.escrowed_token, 'DGD')}; contract "
        f"balance {report.market_ether_balance} wei and {report.market_token_balance} DGD units"
    )
    if report.ok:
        console.print(f"[bold green]All {len(report.scenarios)} scenarios ended as the paper states.[/] {escrow}.")
    else:
        console.print(f"[bold red]Some scenarios did not end as the paper states.[/] {escrow}.")
    console.print(f"[dim]{report.seconds:.1f} s on the {report.chain_kind} chain[/]")
