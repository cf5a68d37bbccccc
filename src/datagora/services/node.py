"""One participant's node: the adapters a ``datagora serve`` process composes (ARCHITECTURE.md, "Participants
and nodes"). No HTTP here; ``datagora.api`` serves a :class:`Node` and ``datagora.api.runtime`` builds one from
settings.

A node holds:

- the chain and the deployed contract set (:class:`~datagora.chain.contracts.Contracts`);
- its own :class:`~datagora.services.participant.Participant`: the operator's account (the key it acts with)
  and its encrypted blob store;
- an event index (SQL engine + :class:`~datagora.index.EventIndexer`), synced on demand before reads
  (:meth:`Node.sync_index`) and, when served, by a background task;
- optional roles: ``platform`` (a :class:`~datagora.services.attestation.NoveltyAttestor` when this node is the
  platform), ``attestor`` (whoever attests this node's datasets: the local platform or a remote one). The
  supervisor role is read from the chain (:meth:`Node.is_supervisor`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from datagora.chain.client import Chain
from datagora.chain.contracts import Contracts
from datagora.index import EventIndexer, SyncReport, open_engine
from datagora.services.attestation import Attestor, NoveltyAttestor
from datagora.services.participant import Participant
from datagora.services.sample_search import SampleSearchRules

if TYPE_CHECKING:  # the engine is the index adapter's; services only pass it along
    from sqlalchemy import Engine

    from datagora.services.shop import ShopService


@dataclass
class Node:
    """A participant's node. ``index_max_age`` (seconds) is how old the last index sync may be before a read
    syncs again (0: every read syncs first, which is what tests want)."""

    contracts: Contracts
    participant: Participant
    engine: Engine
    indexer: EventIndexer
    platform: NoveltyAttestor | None = None
    attestor: Attestor | None = None
    index_max_age: float = 0.0
    shop: ShopService | None = None
    """The shop this node runs (``datagora serve --shop CATALOG.csv``), or None."""
    _act_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _index_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _synced_at: float = field(default=float("-inf"), repr=False)

    @property
    def chain(self) -> Chain:
        return self.contracts.chain

    @property
    def address(self) -> str:
        """The operator's account: the only identity this node signs transactions with."""
        return self.participant.address

    def is_operator(self, address: str) -> bool:
        return address.lower() == self.address.lower()

    def is_supervisor(self, address: str | None = None) -> bool:
        """Whether ``address`` (default: this node's account) is the Registry supervisor (its owner)."""
        return (address or self.address).lower() == self.contracts.registry.supervisor().lower()

    @contextlib.contextmanager
    def acting(self) -> Iterator[None]:
        """Hold while the node signs and sends transactions: one at a time per account, so nonces never
        collide when several requests arrive together."""
        with self._act_lock:
            yield

    def sync_index(self, *, force: bool = False) -> SyncReport | None:
        """Index new chain events unless the last sync is younger than ``index_max_age`` (or ``force``).
        Returns the sync's report, or None when skipped. Raises ``ChainError`` when the chain is unreachable."""
        with self._index_lock:
            if not force and time.monotonic() - self._synced_at < self.index_max_age:
                return None
            report = self.indexer.sync()
            self._synced_at = time.monotonic()
            return report

    def close(self) -> None:
        self.engine.dispose()


def open_node(
    contracts: Contracts,
    participant: Participant,
    index_url: str,
    *,
    platform: bool = False,
    attestor: Attestor | None = None,
    confirmations: int = 0,
    index_max_age: float = 0.0,
    sample_rules: SampleSearchRules | None = None,
) -> Node:
    """Compose a node. With ``platform`` the node runs the platform's :class:`NoveltyAttestor` (data-contract
    table in ``<participant home>/data-contract.sqlite``, where the CLI keeps it too) and attests its own
    datasets with it unless ``attestor`` is given. ``index_url`` is an SQLAlchemy URL (SQLite or PostgreSQL),
    migrated on open. ``sample_rules``: the platform's rules for search by sample (default
    :class:`~datagora.services.sample_search.SampleSearchRules`). Raises ``ValueError`` when the index belongs
    to another deployment."""
    engine = open_engine(index_url)
    indexer = EventIndexer(contracts, engine, confirmations=confirmations)
    local = None
    if platform:
        local = NoveltyAttestor(
            contracts, participant.account, participant.paths.data_contract, sample_rules=sample_rules
        )
    return Node(
        contracts,
        participant,
        engine,
        indexer,
        platform=local,
        attestor=attestor if attestor is not None else local,
        index_max_age=index_max_age,
    )
