"""The market's stage: seven participants, the contracts, the platform's relay and attestation service, an ERC-20
(DGD) and ten real datasets published by :func:`setup`; and the moves every market scenario is made of (list, buy,
deliver through the relay, receive, confirm, withdraw), each recorded as a plain-words
:class:`~datagora.scenarios.records.Step`."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256, sha256_file
from datagora.domain.errors import AccessDenied, TransactionReverted, ValidationError
from datagora.domain.models import ETHER, OrgStatus, Outcome, TxResult
from datagora.scenarios.records import WEI, Check, ScenarioResult, Step, amount
from datagora.services import deployment, disputes, market, platform, publishing, registry, relay
from datagora.services.attestation import NoveltyAttestor
from datagora.services.misconduct import open_unchecked
from datagora.services.participant import Participant
from datagora.services.sample_data import write_breast_cancer_csv, write_photo
from datagora.storage.blobstore import BlobStore

DAY = 86_400
"""Seconds in a day: the default delivery and confirmation windows."""
MANAGEMENT_FEE = 10**15
"""Fee per listing (wei) the platform sets for the market scenarios: 0.001 ETH."""
TOKEN_MINT = 100 * WEI
"""DGD units minted to the seller, the buyer, carol and dave."""

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

StepHook = Callable[[Step], None]
ScenarioHook = Callable[[ScenarioResult], None]


@dataclass(frozen=True)
class Data:
    """A real dataset of the market: file written under the data directory, title, domain and owner."""

    file: str
    title: str
    domain: str
    owner: str


DATASETS = {
    "astronaut": Data("astronaut.png", "Astronaut portrait", "imagery", "seller"),
    "coffee": Data("coffee.png", "Cup of coffee", "imagery", "seller"),
    "breast_cancer": Data("breast_cancer_wisconsin.csv", "Breast Cancer Wisconsin diagnostic", "health", "seller"),
    "wine": Data("wine.csv", "Wine recognition (UCI)", "food", "seller"),
    "chelsea": Data("chelsea.png", "Chelsea the cat", "imagery", "seller"),
    "rocket": Data("rocket.png", "Rocket launch", "imagery", "mallory"),
    "ihc": Data("immunohistochemistry.png", "Immunohistochemistry slide", "health", "seller"),
    "iris": Data("iris.csv", "Iris flowers (Fisher)", "botany", "mallory"),
    "diabetes": Data("diabetes.csv", "Diabetes progression", "health", "seller"),
    "camera": Data("camera.png", "Cameraman", "imagery", "seller"),
}
"""The datasets :func:`setup` publishes, by key: scikit-image photos and scikit-learn tables."""


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


def write_dataset(key: str, data_dir: Path) -> Path:
    """Write the dataset ``key`` of :data:`DATASETS` under ``data_dir``; returns its path."""
    from sklearn.datasets import load_diabetes, load_iris, load_wine

    path = data_dir / DATASETS[key].file
    if key == "breast_cancer":
        return write_breast_cancer_csv(path)
    loaders: dict[str, Callable[[], Any]] = {"wine": load_wine, "iris": load_iris, "diabetes": load_diabetes}
    if key in loaders:
        return _write_sklearn_csv(loaders[key], path)
    return write_photo(path, {"ihc": "immunohistochemistry"}.get(key, key))


class MarketStage:
    """Everything the market scenarios share on one chain: ``contracts``, ``people`` by label, the platform's
    ``board`` (relay and send-receive board) and ``attestor``, the ERC-20 ``token`` (DGD), the datasets'
    ``files`` and ``tokens`` (token ids) by key, and what each participant ``withdrew``. Built by :func:`setup`.
    ``current`` is the scenario being recorded; ``on_step`` sees every step as it happens."""

    contracts: Contracts
    board: relay.SendReceiveBoard
    attestor: NoveltyAttestor
    token: str

    def __init__(self, chain: Chain, workdir: Path, people: dict[str, Participant], on_step: StepHook) -> None:
        self.chain = chain
        self.workdir = workdir
        self.people = people
        self.on_step = on_step
        self.on_scenario: ScenarioHook = lambda scenario: None
        self.setup = ScenarioResult("setup", "Setting up the market", "")
        self.current = self.setup
        self.files: dict[str, Path] = {}
        self.tokens: dict[str, int] = {}
        self.withdrawn: dict[tuple[str, str], int] = {}

    @property
    def c(self) -> Contracts:
        return self.contracts

    # -- recording -------------------------------------------------------------------------------------------

    def p(self, label: str) -> Participant:
        return self.people[label]

    def begin(self, key: str, title: str, expected: str) -> ScenarioResult:
        """Start recording the scenario ``key``; tells ``on_scenario``."""
        self.current = ScenarioResult(key, title, expected)
        self.on_scenario(self.current)
        return self.current

    def step(self, actor: str, name: str, action: str, *txs: TxResult) -> Step:
        """Record a step of the current scenario (``name`` made unique within it with ``#2``, ``#3`` …)."""
        taken = {s.name for s in self.current.steps}
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name} #{n}", n + 1
        record = Step(actor, unique, action, tuple(txs))
        self.current.steps.append(record)
        self.on_step(record)
        return record

    def check(self, description: str, passed: bool) -> None:
        """Record an outcome check of the current scenario."""
        self.current.checks.append(Check(description, passed))

    def refused(self, actor: str, name: str, attempt: str, call: Callable[[], object], reason: str) -> None:
        """``actor`` tries ``attempt`` (plain words); ``call`` must fail before any transaction is mined, with an
        error whose message contains ``reason``. Recorded as a step and a check."""
        try:
            call()
        except (TransactionReverted, ValidationError, AccessDenied) as exc:
            message = exc.reason if isinstance(exc, TransactionReverted) else str(exc)
            self.step(actor, name, f"{attempt}: refused ({message})")
            self.check(f"{attempt}: refused with {reason!r}", reason in message)
            return
        self.step(actor, name, f"{attempt}: accepted?!")
        self.check(f"{attempt}: refused with {reason!r}", False)

    def owed(self, label: str, token: str = ETHER) -> int:
        """What the sale contracts (Market and UseRights) owe ``label`` in ``token`` (wei or smallest units)."""
        return market.owed_to(self.c, self.p(label).address, token)

    def name_of(self, address: str) -> str:
        for label, person in self.people.items():
            if person.address.lower() == address.lower():
                return label
        return address

    def owns(self, label: str, token_id: int) -> bool:
        return self.c.catalog.owner_of(token_id).lower() == self.p(label).address.lower()

    @staticmethod
    def outcome_of(tx: TxResult) -> str:
        """The outcome name of ``tx``'s ``Settled`` event."""
        return Outcome(int(tx.event("Settled").args["outcome"])).name

    def symbol(self, payment_token: str) -> str:
        return "ETH" if int(payment_token, 16) == 0 else "DGD"

    def open_relay(self, root: Path) -> None:
        """Open the platform's relay and send-receive board with its files under ``root`` (a fresh one after a
        chain snapshot is reverted, since order ids are then reused)."""
        plat = self.p("platform")
        self.board = relay.SendReceiveBoard(
            self.contracts,
            BlobStore(root / "relay-blobs"),
            root / "send-receive-board.sqlite",
            operator=plat.address,
            platform_key=plat.private_key,
            clock=self.chain.now,
        )

    # -- moves -----------------------------------------------------------------------------------------------

    def list_fixed(self, seller: str, key: str, price: int) -> int:
        fees_before = self.owed("platform")
        listing_id, txs = market.list_dataset(self.c, self.p(seller), self.tokens[key], price)
        self.approvals(seller, txs[:-1])
        listing = self.c.market.listing(listing_id)
        self.current.ids.setdefault("listing", listing_id)
        self.current.ids.setdefault("token", self.tokens[key])
        self.step(
            seller,
            "list",
            f"put {DATASETS[key].title!r} up for sale at {amount(price)}, with {amount(listing.collateral)} "
            "collateral and the listing fee",
            txs[-1],
        )
        self.check(
            "the Market holds the dataset while it is for sale, and the platform is owed the listing fee",
            self.c.catalog.owner_of(self.tokens[key]) == self.c.addresses["Market"]
            and self.owed("platform") - fees_before == txs[-1].event("Listed").args["management_fee"],
        )
        return listing_id

    def approvals(self, actor: str, txs: list[TxResult]) -> None:
        for tx in txs:
            if any(e.name == "ApprovalForAll" for e in tx.events):
                self.step(actor, "approve NFTs", "let the Market hold its datasets while they are for sale", tx)
            else:
                self.step(actor, f"approve DGD ({actor})", "let the Market take DGD from its account", tx)

    def approve(self, actor: str, token: str, units: int) -> None:
        self.approvals(actor, market.approve_payment(self.c, self.p(actor), token, units))

    def buy(self, buyer: str, listing_id: int) -> int:
        listing = self.c.market.listing(listing_id)
        escrow_before = self.c.market.escrowed()
        order_id, tx = market.buy(self.c, self.p(buyer), listing_id)
        self.current.ids.setdefault("order", order_id)
        self.step(
            buyer,
            "buy",
            f"paid {amount(listing.price)} and {amount(listing.collateral)} collateral; the Market holds both",
            tx,
        )
        self.check(
            "the Market holds the price and the buyer's collateral",
            self.c.market.escrowed() == escrow_before + listing.price + listing.collateral,
        )
        return order_id

    def deliver(self, seller: str, order_id: int) -> market.Delivery:
        who = self.name_of(self.c.market.order(order_id).buyer)
        delivery = market.deliver(self.c, self.p(seller), order_id)
        self.step(
            seller, "deliver", f"encrypted the data to {who}'s key and recorded the hash of what it sends", delivery.tx
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
        what = "with the data's fingerprint sealed for the platform" if with_fingerprint else "without a fingerprint"
        self.step(
            seller,
            "relay",
            f"sent {upload.size:,} encrypted bytes through the platform and signed a 'sent' note {what}",
        )

    def download(self, buyer: str, order_id: int) -> Path:
        """The buyer fetches the relayed ciphertext of ``order_id`` from the platform."""
        _size, src = self.board.open_relayed(self.c.market.order(order_id))
        inbox = self.p(buyer).paths.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        path = inbox / f"order-{order_id}.dge"
        with src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return path

    def receive(self, buyer: str, order_id: int, key: str) -> Path:
        cipher = self.download(buyer, order_id)
        out = self.p(buyer).paths.received / f"order-{order_id}{self.files[key].suffix}"
        out.parent.mkdir(parents=True, exist_ok=True)
        got = market.receive(self.c, self.p(buyer), order_id, cipher, out)
        self.step(
            buyer, "receive", f"downloaded and decrypted {got.size:,} bytes; their hash matches the published one"
        )
        self.check(f"{buyer}'s copy is the published file", sha256_file(got.path) == sha256_file(self.files[key]))
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
        self.step(buyer, "notice", f"signed a 'received' note with the fingerprint{note}, sealed for the platform")

    def platform_check(self, order_id: int) -> disputes.DeliveryCheck:
        checked = disputes.check_delivery(self.c, self.p("platform"), self.board, order_id)
        score = "n/a" if checked.similarity is None else f"{checked.similarity:.2f}"
        if checked.action == "confirm":
            text = f"compared the two fingerprints: they agree (similarity {score}), the transfer succeeded"
        elif checked.action == "dispute":
            text = f"compared the two fingerprints: they differ (similarity {score}), so it opened a dispute"
        else:
            text = "a note is missing: nothing to compare yet"
        self.step("platform", "check" if checked.tx is None else "dispute", text, *([checked.tx] if checked.tx else []))
        return checked

    def honest_delivery(self, seller: str, buyer: str, order_id: int, key: str) -> disputes.DeliveryCheck:
        """Deliver, relay, receive, the buyer's fingerprint note and the platform's comparison, all honest."""
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
            f"confirmed receipt: the dataset is its own; the seller is owed "
            f"{amount(order.amount - fee + listing.collateral, symbol)}, the buyer its "
            f"{amount(listing.collateral, symbol)} collateral, the platform its {amount(fee, symbol)} fee",
            tx,
        )
        self.check(f"dataset #{listing.token_id} now owned by {buyer}", self.owns(buyer, listing.token_id))
        return self.outcome_of(tx)

    def withdraw(self, label: str, token: str = ETHER) -> int:
        """``label`` withdraws what the sale contracts owe it in ``token``: one step per contract that owes (one
        pull-payment transaction each), named after the contract unless it is the Market, so a step's gas is
        one withdrawal, comparable from run to run whichever contracts owe."""
        got, txs = market.withdraw_all(self.c, self.p(label), token)
        symbol = self.symbol(token)
        self.withdrawn[(label, token)] = self.withdrawn.get((label, token), 0) + got
        for tx in txs:
            withdrawn = tx.event("Withdrawn")
            where = "" if withdrawn.contract == "Market" else f", {withdrawn.contract}"
            self.step(
                label,
                f"withdraw ({label}, {symbol}{where})",
                f"withdrew {amount(int(withdrawn.args['amount']), symbol)} the {withdrawn.contract} owed it",
                tx,
            )
        return got

    def check_platform_copy(self, buyer: str, ruling: disputes.Resolution, token_id: int) -> None:
        """After a ruling for good data the buyer downloads the platform's copy sealed for it and checks it."""
        if ruling.buyer_copy is None:
            return
        person = self.p(buyer)
        cipher = person.paths.inbox / f"arbitrated-{ruling.order_id}.dge"
        cipher.parent.mkdir(parents=True, exist_ok=True)
        with self.board.store.open(ruling.buyer_copy) as src, cipher.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        copy = open_unchecked(person, cipher, person.paths.received / f"arbitrated-{ruling.order_id}.png")
        self.check(
            f"{buyer} decrypted the platform's copy and it is the dataset",
            sha256_file(copy) == self.c.catalog.dataset(token_id).content_hash,
        )


def setup(
    chain: Chain,
    workdir: Path,
    *,
    on_step: StepHook = lambda step: None,
    fund_wei: int = 100 * WEI,
    management_fee: int = MANAGEMENT_FEE,
    seed: str | None = None,
) -> MarketStage:
    """Fund the seven participants of :data:`PEOPLE` with ``fund_wei`` each, deploy the contracts, set a listing
    fee of ``management_fee`` wei, register and audit six organisations, deploy the DGD ERC-20 and mint
    :data:`TOKEN_MINT` to four traders, open the platform's relay and publish the ten :data:`DATASETS` (stores
    under ``workdir``). ``seed`` derives the participants' keys (keccak256 of ``"<seed>:<label>"``) so that
    addresses, and with them calldata gas, repeat from run to run; default: fresh random keys. The setup's steps
    are in ``stage.setup``."""
    people = {
        label: Participant(
            label,
            Account.create() if seed is None else Account.from_key(keccak256(f"{seed}:{label}".encode())),
            workdir / label,
        )
        for label in PEOPLE
    }
    stage = MarketStage(chain, workdir, people, on_step)
    for person in people.values():
        chain.fund(person.address, fund_wei)
    stage.step(
        "chain",
        "fund",
        f"gave {len(people)} new accounts {amount(fund_wei)} each",
    )
    sup, plat = people["supervisor"], people["platform"]
    stage.contracts = c = deployment.deploy(chain, sup.account, plat.account)
    stage.step("supervisor", "deploy", "deployed the contracts: " + ", ".join(c.addresses))
    params, tx = platform.set_market_parameters(c, plat, management_fee=management_fee)
    fee_bps = params.fee_bps
    stage.step(
        "platform",
        "set fees",
        f"set its fee to {fee_bps / 100:g} % of each sale and {amount(management_fee)} per listing",
        tx,
    )
    register, audit = [], []
    for label, org_name in PEOPLE.items():
        if org_name is None:
            continue
        org, tx = registry.register_organisation(c, people[label], org_name)
        register.append(tx)
        _, tx = registry.set_status(c, sup.account, org.id, OrgStatus.AUDITED)
        audit.append(tx)
    stage.step("members", "register ×6", "six organisations registered, with their encryption keys", *register)
    stage.step("supervisor", "audit ×6", "audited all six: they may now trade", *audit)

    stage.token, mints = deployment.demo_token(
        c, plat.account, [(people[label].address, TOKEN_MINT) for label in ("seller", "buyer", "carol", "dave")]
    )
    stage.step(
        "platform",
        "mint DGD ×4",
        f"created a demo token, DGD, and gave {amount(TOKEN_MINT, 'DGD')} to the seller, buyer, carol and dave",
        *mints,
    )

    stage.open_relay(plat.home)
    stage.attestor = NoveltyAttestor(c, plat.account, plat.paths.data_contract)
    data_dir = workdir / "data"
    for key, data in DATASETS.items():
        path = write_dataset(key, data_dir)
        stage.files[key] = path
        owner = people[data.owner]
        prepared = publishing.prepare(owner, path, name=data.title, domain=data.domain)
        token_id, _, tx = publishing.publish(c, owner, prepared, stage.attestor)
        stage.tokens[key] = token_id
        stage.step(
            data.owner,
            f"publish {data.file}",
            f"published {data.title!r} as dataset #{token_id}; the platform checked it is new",
            tx,
        )
    return stage


@dataclass(frozen=True)
class MarketScenario:
    """One market scenario: ``key``, plain-words ``title``, the ``expected`` outcome and its ``body`` (the moves,
    returning the outcome reached). Calling it on a stage records a new :class:`ScenarioResult` and returns it."""

    key: str
    title: str
    expected: str
    body: Callable[[MarketStage], str]

    def __call__(self, stage: MarketStage) -> ScenarioResult:
        result = stage.begin(self.key, self.title, self.expected)
        result.outcome = self.body(stage)
        return result


def scenario(key: str, title: str, expected: str) -> Callable[[Callable[[MarketStage], str]], MarketScenario]:
    """Decorator: ``body(stage) -> outcome`` becomes the :class:`MarketScenario` ``key``."""

    def wrap(body: Callable[[MarketStage], str]) -> MarketScenario:
        return MarketScenario(key, title, expected, body)

    return wrap
