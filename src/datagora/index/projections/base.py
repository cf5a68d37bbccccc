"""What every projection module shares: the event as a handler sees it and one contract's registration.

A projection turns one contract's events into rows of the index's tables (``datasets``, ``listings`` …), so
search and the node's pages read SQL instead of scanning the chain. Each contract has one module in this package
exporting ``PROJECTION`` (a :class:`ContractProjection`); :mod:`datagora.index.projections` registers them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
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
    timestamp: int | None = None
    """The block's timestamp (Unix seconds) when the indexer knows it; None makes handlers read it from the
    event's ``events`` row."""


Handler = Callable[[Connection, StoredEvent], None]
"""Applies one event to the projection tables inside the sync's SQL transaction."""

BatchHandler = Callable[[Connection, Sequence[StoredEvent]], None]
"""Applies a run of events of one type, in chain order, inside the sync's SQL transaction: the same rows as its
per-event :data:`Handler` applied to each in turn, with one ``executemany`` (or ``COPY``) per table."""


@dataclass(frozen=True)
class Batched:
    """The batch form of one event's handler: ``apply`` takes many events of that type at once, and ``keys``
    names the rows an event reads or writes (e.g. ``("listing", 7)``). The indexer (see
    :mod:`datagora.index.projector`) applies events of different types that share a key in chain order and
    lets all others run together, so the batch form changes the speed, never the result."""

    apply: BatchHandler
    keys: Callable[[StoredEvent], Iterable[Hashable]]


@dataclass(frozen=True)
class ContractProjection:
    """How the events of the contract ``contract`` (its name in the deployment manifest) update the index:
    ``handlers`` by event name, and the events deliberately ``ignored`` (kept in the ``events`` table only:
    ownership and role housekeeping, or facts no table needs). An event in neither is a mistake the coverage
    test reports. ``batched`` holds faster forms of some handlers for a page of events (see :class:`Batched`)."""

    contract: str
    handlers: Mapping[str, Handler]
    ignored: frozenset[str] = field(default_factory=frozenset)
    batched: Mapping[str, Batched] = field(default_factory=dict)
    """Batch forms of some handlers (by event name); events without one are applied one by one."""

    def __post_init__(self) -> None:
        both = set(self.handlers) & self.ignored
        if both:
            raise ValueError(f"{self.contract}: events both projected and ignored: {sorted(both)}")
        stray = set(self.batched) - set(self.handlers)
        if stray:
            raise ValueError(f"{self.contract}: batch forms without a per-event handler: {sorted(stray)}")

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


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` inside the connection's transaction, straight
    through the database driver: PostgreSQL's ``COPY … FROM STDIN`` (psycopg), else one ``executemany`` (SQLite's
    C loop). Values go in as the driver takes them (int, str, bytes, None): no SQLAlchemy type processing."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    execute_rows(conn, f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def execute_rows(conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run the SQL ``statement`` (with ``?`` placeholders) once per row of parameters, in order, with one
    ``executemany`` of the database driver (psycopg pipelines it on PostgreSQL)."""
    if not rows:
        return
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        statement = statement.replace("?", "%s")
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()
