"""What every projection module shares: the event as a handler sees it and one contract's registration.

A projection turns one contract's events into rows of the index's tables (``datasets``, ``listings`` …), so
search and the node's pages read SQL instead of scanning the chain. Each contract has one module in this package
exporting ``PROJECTION`` (a :class:`ContractProjection`); :mod:`datagora.index.projections` registers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored in the ``events`` table: ``args`` in their JSON form (bytes as ``0x``-hex strings,
    tuples as lists, integers unbounded), where it sits on chain, and the set's addresses.

    ``set_addresses`` holds the lower-case address of every contract of the deployment: custody by one of them
    (an NFT held in escrow) is not ownership."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int
    set_addresses: frozenset[str] = frozenset()


Handler = Callable[[Connection, StoredEvent], None]
"""Applies one event to the projection tables inside the sync's SQL transaction."""


@dataclass(frozen=True)
class ContractProjection:
    """How the events of the contract ``contract`` (its name in the deployment manifest) update the index:
    ``handlers`` by event name, and the events deliberately ``ignored`` (kept in the ``events`` table only:
    ownership and role housekeeping, or facts no table needs). An event in neither is a mistake the coverage
    test reports."""

    contract: str
    handlers: Mapping[str, Handler]
    ignored: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = set(self.handlers) & self.ignored
        if both:
            raise ValueError(f"{self.contract}: events both projected and ignored: {sorted(both)}")

    @property
    def events(self) -> frozenset[str]:
        """Every event name this projection accounts for."""
        return frozenset(self.handlers) | self.ignored


def register(*projections: ContractProjection) -> dict[str, ContractProjection]:
    """The projections by contract name; ``ValueError`` when two register the same contract."""
    out: dict[str, ContractProjection] = {}
    for projection in projections:
        if projection.contract in out:
            raise ValueError(f"two projections for {projection.contract}")
        out[projection.contract] = projection
    return out
