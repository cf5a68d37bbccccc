"""What every projection module shares: the event as a handler sees it and one contract's registration.

A projection turns one contract's events into rows of the index's tables (``datasets``, ``listings`` …), so
search and the node's pages read SQL instead of scanning the chain. Each contract has one module in this package
exporting ``PROJECTION`` (a :class:`ContractProjection`); :mod:`datagora.index.projections` registers them.
"""

from __future__ import annotations

import functools
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
    address: str = ""
    """The emitting contract's address, lower-case (which brand's token emitted a ``BrandPoints`` event)."""


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
    creates: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Events that announce a contract this one created (by event name): the created contract's name and the
    argument holding its address (``BrandRegistered`` → ``("BrandPoints", "token")``). The indexer then fetches
    and stores that address's events too."""

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


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` inside the connection's transaction, straight
    through the database driver: PostgreSQL's ``COPY … FROM STDIN`` (psycopg), else one ``executemany`` (SQLite's
    C loop). Values go in as the driver takes them (int, str, bytes, None): no SQLAlchemy type processing.
    ``rows`` may be a generator: PostgreSQL then stores the rows already sent while the next are made."""
    if isinstance(rows, Sequence) and not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        driver: Any = conn.connection.driver_connection
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    execute_rows(conn, f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def _copy_field(value: Any) -> str:
    kind = type(value)
    if kind is str:
        text = str(value)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return text
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if isinstance(value, bytes | bytearray):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, int):  # bool
        return str(int(value))
    raise TypeError(f"no COPY text form for {kind.__name__}")


def copy_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """``rows`` in PostgreSQL's ``COPY`` text format (tab-separated, ``\\N`` for NULL, backslash escapes, bytes as
    ``\\x`` hex), UTF-8: made ahead of the write (in the indexer's fetch thread), sent by :func:`copy_rows`.
    ``TypeError`` for a value other than str, int, bytes or None."""
    return "".join("\t".join(map(_copy_field, row)) + "\n" for row in rows).encode()


def copy_rows(conn: Connection, table: str, columns: Sequence[str], data: bytes) -> None:
    """Insert rows already in ``COPY`` text form (:func:`copy_text`) into ``table`` on PostgreSQL."""
    if not data:
        return
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(data)


def execute_rows(conn: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Run the SQL ``statement`` (with ``?`` placeholders) once per row of parameters, in order, with one
    ``executemany`` of the database driver (psycopg pipelines it on PostgreSQL)."""
    if isinstance(rows, Sequence) and not rows:
        return
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        statement = statement.replace("?", "%s")
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, rows)
    finally:
        cursor.close()


def execute_arrays(conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run the PostgreSQL ``statement`` once, its ``%s`` parameters being the columns of ``rows`` as arrays (the
    statement casts and unnests them): one statement and one round trip for the whole run."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=True)]
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(statement, columns)


@functools.cache
def _array_type(table: str, column: str) -> str:
    """The PostgreSQL array type for the values of ``table.column``: ``BIGINT[]``, ``INTEGER[]``, ``BYTEA[]`` or
    ``TEXT[]`` (text goes into ``VARCHAR`` columns by assignment)."""
    from sqlalchemy import BigInteger, Integer, LargeBinary

    from datagora.index.schema import metadata

    kind = metadata.tables[table].c[column].type
    if isinstance(kind, BigInteger):
        return "BIGINT[]"
    if isinstance(kind, Integer):
        return "INTEGER[]"
    return "BYTEA[]" if isinstance(kind, LargeBinary) else "TEXT[]"


@dataclass(frozen=True)
class KeyedUpdate:
    """``UPDATE table SET fixed, columns… = ? WHERE key… = ?``, run for many rows of parameters (the
    ``columns`` values, then the ``key`` values) as if one after another in order.

    SQLite runs it once per row (one ``executemany``). PostgreSQL runs one statement joining the table to the
    rows as arrays (``unnest``), after keeping only the last row for each key: the assignments do not read the
    row they change, so the last one per key is what running them in order leaves."""

    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    fixed: str = ""
    """Assignments of constants (SQL), e.g. ``state = 'pending'``."""

    @functools.cached_property
    def _sqlite(self) -> str:
        assignments = ", ".join([*filter(None, [self.fixed]), *(f"{c} = ?" for c in self.columns)])
        return f"UPDATE {self.table} SET {assignments} WHERE {' AND '.join(f'{k} = ?' for k in self.key)}"

    @functools.cached_property
    def _postgresql(self) -> str:
        assignments = ", ".join([*filter(None, [self.fixed]), *(f"{c} = v.{c}" for c in self.columns)])
        names = (*self.columns, *self.key)
        arrays = ", ".join(f"%s::{_array_type(self.table, c)}" for c in names)
        match = " AND ".join(f"{self.table}.{k} = v.{k}" for k in self.key)
        return f"UPDATE {self.table} SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {match}"

    def run(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Apply ``rows`` (each: the ``columns`` values, then the ``key`` values) in order."""
        if not rows:
            return
        if conn.dialect.name != "postgresql":
            execute_rows(conn, self._sqlite, rows)
            return
        width = len(self.key)
        last = {tuple(row[-width:]): row for row in rows}
        execute_arrays(conn, self._postgresql, list(last.values()))
