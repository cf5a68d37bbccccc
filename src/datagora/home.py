"""The one typed object that knows every path of a node's home directory.

Layout (``~/.datagora`` by default, ``--home`` or ``DATAGORA_HOME`` to change it)::

    keystores/<account>.json          encrypted account keys (Web3 Secret Storage)
    deployments/<chain id>.json       the contract manifest per chain
    participants/<account>/           one participant's stores (blobs, records, inbox, outbox, received …)
    index/<chain id>-<address>.db     the event index a node builds (SQLite, unless an index URL is given)
    profile.json                      remembered CLI options (RPC URL, account)

Nothing else in Datagora builds these paths by hand: ``serve`` and ``audit verify`` read the same index file.
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

    def index_file(self, chain_id: int, address: str) -> Path:
        """The SQLite event index a node of ``address`` builds for ``chain_id``."""
        return self.index_dir / f"{chain_id}-{address.lower()}.db"

    def index_url(self, chain_id: int, address: str) -> str:
        """SQLAlchemy URL of :meth:`index_file`."""
        return f"sqlite:///{self.index_file(chain_id, address)}"

    @property
    def profile(self) -> Path:
        return self.root / "profile.json"


@dataclass(frozen=True)
class ParticipantHome:
    """One participant's directory ``root``: its encrypted blob store, JSON records, and the folders of a
    trade (inbox of ciphertext received, outbox of deliveries, received plaintext, scratch space)."""

    root: Path

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    def records(self, kind: str) -> Path:
        return self.root / kind

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
    def tmp(self) -> Path:
        """Scratch space for work files (plaintext never stays here after an operation)."""
        return self.root / "tmp"

    @property
    def uploads(self) -> Path:
        """Private staging area of clear uploads received by a node (0700, wiped at start)."""
        return self.root / "uploads"

    @property
    def relay_blobs(self) -> Path:
        """The platform relay's ciphertext store."""
        return self.root / "relay-blobs"

    @property
    def board(self) -> Path:
        """The platform's send-receive board (SQLite)."""
        return self.root / "send-receive-board.sqlite"

    @property
    def data_contract(self) -> Path:
        """The platform's fingerprint registry (the paper's data contract; SQLite)."""
        return self.root / "data-contract.sqlite"

    @property
    def arbitration(self) -> Path:
        """The platform's evidence inbox for disputes."""
        return self.root / "arbitration"
