"""The one typed object that knows every path of a node's home directory.

Layout (``~/.datagora`` by default, ``--home`` or ``DATAGORA_HOME`` to change it)::

    keystores/<account>.json          encrypted account keys (Web3 Secret Storage)
    deployments/<chain id>.json       the contract manifest per chain
    participants/<account>/           one participant's stores (see :class:`ParticipantHome`)
    index/<chain id>-<address>.db     the event index the node of <address> builds (SQLite, unless an index URL
                                      is given); ``audit`` and ``audit verify`` with ``--account`` read the same
    index/<chain id>.db               the index of commands run without an account
    consortium/                       ``chain consortium up``: the local consortium chain's signers and genesis
    profile.json                      remembered CLI options (RPC URL, account)
    agent/agent.sock                  the unlock agent's socket, while keys are unlocked (no key on disk)
    dev/                              ``serve --dev``: a throw-away home of its own (wiped at start), plus
                                      ``accounts.json`` (the demo participants' keys) and ``samples/``

Nothing else in Datagora builds these paths by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path.home() / ".datagora"


@dataclass(frozen=True)
class Home:
    """A node's home directory ``root``."""

    root: Path

    @property
    def keystores(self) -> Path:
        return self.root / "keystores"

    def keystore(self, account: str) -> Path:
        """The keystore file of the account named ``account``."""
        return self.keystores / f"{account}.json"

    @property
    def deployments(self) -> Path:
        return self.root / "deployments"

    def deployment(self, chain_id: int) -> Path:
        return self.deployments / f"{chain_id}.json"

    @property
    def participants(self) -> Path:
        return self.root / "participants"

    def participant(self, account: str) -> ParticipantHome:
        """The stores of the participant whose keystore is named ``account``."""
        return ParticipantHome(self.participants / account)

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def index_file(self, chain_id: int, address: str | None = None) -> Path:
        """The SQLite event index the node of ``address`` builds for ``chain_id`` (``serve`` and the ``audit``
        commands share it); without an address, the index of commands run without an account."""
        if address is None:
            return self.index_dir / f"{chain_id}.db"
        return self.index_dir / f"{chain_id}-{address.lower()}.db"

    def index_url(self, chain_id: int, address: str | None = None) -> str:
        """SQLAlchemy URL of :meth:`index_file`."""
        return f"sqlite:///{self.index_file(chain_id, address)}"

    @property
    def consortium(self) -> Path:
        """The local consortium chain's data directory (``datagora chain consortium up``)."""
        return self.root / "consortium"

    @property
    def profile(self) -> Path:
        return self.root / "profile.json"

    @property
    def agent_socket(self) -> Path:
        """The unlock agent's Unix socket (mode 0600, in a folder of mode 0700; see ``datagora account unlock``)."""
        return self.root / "agent" / "agent.sock"

    @property
    def dev(self) -> Home:
        """The home of ``serve --dev``'s development network (its participants, indexes and keys)."""
        return Home(self.root / "dev")

    @property
    def accounts(self) -> Path:
        """A development network's throw-away keys by participant (JSON, mode 0600)."""
        return self.root / "accounts.json"

    @property
    def samples(self) -> Path:
        """Sample data files written for demonstrations."""
        return self.root / "samples"


@dataclass(frozen=True)
class ParticipantHome:
    """One participant's directory ``root``: its encrypted blob store, JSON records, and the folders of a
    trade (inbox of ciphertext received, outbox of deliveries, received plaintext, scratch space)."""

    root: Path

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    def records(self, kind: str) -> Path:
        """The folder of JSON records of one ``kind`` (``datasets``, ``deliveries`` …)."""
        return self.root / kind

    def record(self, kind: str, key: str) -> Path:
        """One JSON record: ``<kind>/<key>.json``."""
        return self.records(kind) / f"{key}.json"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def received(self) -> Path:
        return self.root / "received"

    @property
    def infrastructure(self) -> Path:
        """Collaboration workloads this node hosts: ``<dao id>-<name>/`` each (run configuration, PID, heartbeat,
        result, log, ansible-runner's artifacts), and ``handled.json`` (requests already acted on)."""
        return self.root / "infrastructure"

    @property
    def tmp(self) -> Path:
        """Scratch space for work files (plaintext never stays here after an operation)."""
        return self.root / "tmp"

    @property
    def staging(self) -> Path:
        """Private staging area of clear uploads received by a node (0700, wiped at start and after each
        publish)."""
        return self.root / "staging"

    @property
    def uploads(self) -> Path:
        """Where nodes before the staging area kept clear uploads (wiped at start)."""
        return self.root / "uploads"

    @property
    def privacy_ledger(self) -> Path:
        """The owner's ledger of differential-privacy budget spent per buyer organisation and dataset (JSON)."""
        return self.root / "privacy-ledger.json"

    @property
    def relay_blobs(self) -> Path:
        """The platform relay's ciphertext store."""
        return self.root / "relay-blobs"

    @property
    def board(self) -> Path:
        """The platform's send-receive board (SQLite); the relay stages uploads in ``relay-staging/`` beside
        it."""
        return self.root / "send-receive.sqlite"

    @property
    def anchors(self) -> Path:
        """Records this node anchored in batches: each one's batch, position and Merkle proof (SQLite)."""
        return self.root / "anchors.sqlite"

    @property
    def data_contract(self) -> Path:
        """The platform's fingerprint registry (the paper's data contract; SQLite)."""
        return self.root / "data-contract.sqlite"

    @property
    def shop(self) -> Path:
        """A shop node's carts, quotes and stock sold (SQLite)."""
        return self.root / "shop.sqlite"

    @property
    def arbitration(self) -> Path:
        """The platform's evidence inbox for disputes."""
        return self.root / "arbitration"
