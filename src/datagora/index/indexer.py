"""Indexes every Datagora contract event into SQL and keeps projections (datasets, listings, orders, offers,
bids) for search and audit without on-chain scans.

- Waits for ``confirmations`` blocks before indexing a block.
- Resumes from its cursor (last indexed block and its hash) after a restart.
- Survives chain reorganisations: before each sync it checks the stored hash of the cursor block; on a mismatch
  it walks back through the stored block hashes to the newest block still on the canonical chain, deletes every
  row above it and rebuilds the projections from the remaining events, then indexes forward again.
- Each batch is one SQL transaction: a crash never leaves half a batch. Several processes may sync one
  database (a node and the ``audit`` commands share its file): each batch first moves the cursor from the value
  its sync read, so a batch another writer already stored is dropped instead of stored twice.
- :meth:`EventIndexer.verify` re-reads every indexed row from the chain and reports differences.
- Projections are a function of the stored events: each contract's events update the tables through the
  module registered for it in :mod:`datagora.index.projections`, a page at a time (:mod:`datagora.index.projector`
  runs a handler's batch form, one ``executemany`` or ``COPY`` per table, where it cannot change the result of
  applying the events one by one in chain order); when that code changes
  (:data:`PROJECTION_VERSION`), opening the index rebuilds them from the ``events`` table.
- :meth:`EventIndexer.stored_events` reads the events back in chain order (the audit trail reads them here).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from datagora.chain.contracts import Contracts
from datagora.domain.models import ChainEvent
from datagora.index.projections import PROJECTIONS, StoredEvent, created_contract, handler
from datagora.index.projections.base import copy_rows, copy_text, insert_rows
from datagora.index.projector import Plan, apply, plan, project
from datagora.index.schema import PROJECTION_TABLES, blocks, events, meta

PROJECTION_VERSION = "5"
"""Bumped whenever a module of :mod:`datagora.index.projections` changes what it derives from events."""


INSTANCES_VERSION = "1"
"""Stored under ``index_meta`` key ``instances`` once the events of the contracts the deployment created (brands'
points tokens) are fetched for the blocks indexed before they were watched."""


_PLAIN: frozenset[type] = frozenset({int, str, bool, float, type(None)})


def jsonable(value: Any) -> Any:
    """Event argument values as JSON: bytes → 0x-hex, tuples → lists."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:  # an event's arguments: mostly plain values, so skip the call for those
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


_ENCODER = json.JSONEncoder(sort_keys=True)
"""``json.dumps(…, sort_keys=True)`` without building an encoder per call (same output)."""


def args_json(args: dict[str, Any]) -> str:
    return _ENCODER.encode(jsonable(args))


def _read_events(conn: Connection, from_block: int = 0) -> Iterator[ChainEvent]:
    """The stored events from ``from_block`` on, in chain order, with their arguments in JSON form."""
    rows = conn.execute(
        select(
            events.c.contract,
            events.c.name,
            events.c.args,
            events.c.block_number,
            events.c.tx_hash,
            events.c.log_index,
            events.c.timestamp,
            events.c.block_hash,
            events.c.address,
        )
        .where(events.c.block_number >= from_block)
        .order_by(events.c.block_number, events.c.log_index)
    )
    for contract, name, args, block_number, tx_hash, log_index, timestamp, block_hash, address in rows.all():
        yield ChainEvent(
            contract,
            name,
            json.loads(args),
            int(block_number),
            tx_hash,
            int(log_index),
            int(timestamp),
            block_hash,
            address or "",
        )


_EVENT_COLUMNS = (
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "timestamp",
    "contract",
    "name",
    "args",
    "address",
)

_REBUILD_PAGE = 5_000
"""Events per call of the projector while rebuilding the projections from the ``events`` table."""


class _Overtaken(Exception):
    """Another writer advanced the cursor during this sync."""


@dataclass
class _Page:
    """A page of events ready to write: ``events`` rows (in :data:`_EVENT_COLUMNS` order), the hash of each block
    they sit in, and those with a projection handler."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    blocks: dict[int, str] = field(default_factory=dict)
    projected: list[StoredEvent] = field(default_factory=list)
    copy: bytes | None = None
    """The ``events`` rows in ``COPY`` text form, made ahead for PostgreSQL."""
    projection: Plan = field(default_factory=Plan)
    """How the projected events update the tables."""


_T = TypeVar("_T")


def prefetched(jobs: Iterable[Callable[[], _T]]) -> Generator[_T, None, None]:
    """The results of ``jobs`` in order, each job run in a background thread while the caller works on the result
    before it (the next block range fetched and decoded while the current one is written). Closing the iterator
    waits for the job under way, so nothing runs on after the caller is done."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-fetch") as pool:
        todo = iter(jobs)
        job = next(todo, None)
        pending = None if job is None else pool.submit(job)
        while pending is not None:
            result = pending.result()
            job = next(todo, None)
            pending = None if job is None else pool.submit(job)
            yield result


@dataclass
class SyncReport:
    """What one :meth:`EventIndexer.sync` did: blocks ``from_block``..``to_block`` indexed, ``events`` added,
    ``reorg_depth`` blocks rolled back (0 when none)."""

    from_block: int
    to_block: int
    events: int = 0
    reorg_depth: int = 0
    reorged_from: int | None = None


@dataclass
class Difference:
    """A row that differs from the chain: ``kind`` is ``missing-on-chain``, ``args`` or ``block-hash``."""

    event_id: int
    tx_hash: str
    log_index: int
    kind: str
    detail: str = ""


@dataclass
class VerifyReport:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


class EventIndexer:
    """Index the events of one deployment into ``engine``. ``batch`` blocks per ``eth_getLogs`` request."""

    def __init__(self, contracts: Contracts, engine: Engine, *, confirmations: int = 0, batch: int = 2_000) -> None:
        self.contracts = contracts
        self.chain = contracts.chain
        self.engine = engine
        self.confirmations = confirmations
        self.batch = batch
        self._check_deployment()

    # -- cursor ------------------------------------------------------------------------------------------

    def _get(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
        return None if row is None else str(row[0])

    def _set(self, conn: Connection, key: str, value: str) -> None:
        if conn.execute(update(meta).where(meta.c.key == key).values(value=value)).rowcount == 0:
            conn.execute(insert(meta).values(key=key, value=value))

    def _check_deployment(self) -> None:
        identity = json.dumps({"chain_id": self.chain.chain_id, **self.contracts.addresses}, sort_keys=True)
        with self.engine.begin() as conn:
            stored = self._get(conn, "deployment")
            if stored is None:
                self._set(conn, "deployment", identity)
            elif stored != identity:
                raise ValueError("this index belongs to another chain or deployment: use a new database")
            if self._get(conn, "projections") != PROJECTION_VERSION:
                self._rebuild_projections(conn)
                self._set(conn, "projections", PROJECTION_VERSION)

    def cursor(self) -> tuple[int, str] | None:
        """(last indexed block, its hash), or None before the first sync."""
        with self.engine.connect() as conn:
            number, block_hash = self._get(conn, "cursor_block"), self._get(conn, "cursor_hash")
        if number is None or block_hash is None:
            return None
        return int(number), block_hash

    # -- sync --------------------------------------------------------------------------------------------

    def sync(self, max_blocks: int | None = None) -> SyncReport:
        """Index confirmed blocks after the cursor (up to ``max_blocks`` of them). Handles a reorg first."""
        self._backfill_instances()
        with self.engine.connect() as conn:
            self._stored_instances(conn)  # another process sharing this database may have found new ones
        depth, reorged_from = self._handle_reorg()
        cur = self.cursor()
        start = self.contracts.deployment.block if cur is None else cur[0] + 1
        head = self.chain.block_number() - self.confirmations
        if max_blocks is not None:
            head = min(head, start + max_blocks - 1)
        report = SyncReport(start, head, reorg_depth=depth, reorged_from=reorged_from)
        ranges = [(lo, min(lo + self.batch - 1, head)) for lo in range(start, head + 1, self.batch)]
        prev = None if cur is None else cur[0]
        fetches = (functools.partial(self._fetch, lo, hi) for lo, hi in ranges)
        with contextlib.closing(prefetched(fetches)) as pages:
            for (lo, hi), (page, hi_hash) in zip(ranges, pages, strict=True):
                if hi_hash is None:  # the chain shrank under us; the next sync's reorg check handles it
                    break
                try:
                    with self.engine.begin() as conn:
                        self._advance_cursor(conn, prev, hi)
                        self._write(conn, page)
                        self._remember_block(conn, hi, hi_hash)
                        self._set(conn, "cursor_hash", hi_hash)
                except (_Overtaken, IntegrityError):
                    # Another process indexing into the same database (a node and an ``audit`` command share one
                    # file) stored these blocks first; its rows stand, and the next sync resumes from its cursor.
                    report.to_block = lo - 1
                    break
                report.events += len(page.events)
                prev = hi
        return report

    def _fetch(self, lo: int, hi: int) -> tuple[_Page, str | None]:
        """The events of blocks ``lo``..``hi`` prepared for writing, and the hash of block ``hi`` (None when the
        chain has no such block any more). A contract created in these blocks (a brand's points token) is watched
        from then on and its events of these blocks fetched too (a second request, only then)."""
        evs = self.contracts.events(from_block=lo, to_block=hi)
        created = self._watch(evs)
        if created:
            first = min(created.values())
            more = self.contracts.events(from_block=first, to_block=hi, addresses=list(created))
            evs = sorted([*evs, *more], key=lambda ev: (ev.block_number, ev.log_index))
        return self._prepare(evs), self.chain.block_hash(hi)

    # -- contracts the deployment created ------------------------------------------------------------------

    def _watch(self, evs: Iterable[ChainEvent]) -> dict[str, int]:
        """Watch the contracts that ``evs`` announce (see :attr:`ContractProjection.creates`); returns those not
        watched before: lower-case address → the block that created it."""
        known = self.contracts.instances
        new: dict[str, int] = {}
        for ev in evs:
            created = created_contract(ev)
            if created is not None and created[1] not in known and created[1] not in new:
                self.contracts.watch(*created)
                new[created[1]] = ev.block_number
        return new

    def _stored_instances(self, conn: Connection) -> dict[str, int]:
        """Watch every contract the stored events announce; returns them all: address → creating block."""
        announcing = [(c, e) for c, p in PROJECTIONS.items() for e in p.creates]
        if not announcing:
            return {}
        query = select(
            events.c.contract,
            events.c.name,
            events.c.args,
            events.c.block_number,
            events.c.tx_hash,
            events.c.log_index,
        ).where(events.c.name.in_({e for _, e in announcing}))
        found: dict[str, int] = {}
        for contract, name, args, block_number, tx_hash, log_index in conn.execute(query).all():
            ev = ChainEvent(contract, name, json.loads(args), int(block_number), tx_hash, int(log_index))
            created = created_contract(ev)
            if created is not None:
                self.contracts.watch(*created)
                found[created[1]] = int(block_number)
        return found

    def _backfill_instances(self) -> None:
        """Once per index (``index_meta`` key ``instances``): fetch and store the events, up to the cursor, of
        the created contracts that an index made before it watched them holds no events of."""
        with self.engine.connect() as conn:
            if self._get(conn, "instances") == INSTANCES_VERSION:
                return
            instances = self._stored_instances(conn)
            held = {a for (a,) in conn.execute(select(events.c.address).distinct()).all() if a}
        cur = self.cursor()
        missing = {a: b for a, b in instances.items() if a not in held}
        evs = (
            []
            if cur is None or not missing
            else self.contracts.events(from_block=min(missing.values()), to_block=cur[0], addresses=list(missing))
        )
        try:
            with self.engine.begin() as conn:
                if self._get(conn, "instances") == INSTANCES_VERSION:
                    return  # another writer did it first
                self._store(conn, evs)
                self._set(conn, "instances", INSTANCES_VERSION)
        except IntegrityError:
            pass  # another writer stored them first

    def _advance_cursor(self, conn: Connection, prev: int | None, new: int) -> None:
        """Move the cursor from ``prev`` to ``new`` as the batch's first write (which takes the database's write
        lock), or raise :class:`_Overtaken` when another writer moved it since this sync read it."""
        if prev is None:
            conn.execute(insert(meta).values(key="cursor_block", value=str(new)))  # IntegrityError if overtaken
            return
        moved = conn.execute(
            update(meta).where(meta.c.key == "cursor_block", meta.c.value == str(prev)).values(value=str(new))
        )
        if moved.rowcount != 1:
            raise _Overtaken

    def _remember_block(self, conn: Connection, number: int, block_hash: str) -> None:
        conn.execute(delete(blocks).where(blocks.c.number == number))
        conn.execute(insert(blocks).values(number=number, hash=block_hash))

    def _prepare(self, evs: Iterable[ChainEvent]) -> _Page:
        """The rows of a page of events, made without the database (so a fetch thread makes the next page's while
        the current one is written): each event's arguments converted to JSON once."""
        where = self._set_addresses()
        page = _Page()
        for ev in evs:
            args = jsonable(ev.args)
            page.events.append(
                (
                    ev.block_number,
                    ev.block_hash,
                    ev.tx_hash,
                    ev.log_index,
                    ev.timestamp,
                    ev.contract,
                    ev.name,
                    _ENCODER.encode(args),
                    ev.address or None,
                )
            )
            page.blocks[ev.block_number] = ev.block_hash
            if handler(ev.contract, ev.name) is not None:
                page.projected.append(
                    StoredEvent(
                        ev.contract,
                        ev.name,
                        args,
                        ev.block_number,
                        ev.tx_hash,
                        ev.log_index,
                        where,
                        ev.timestamp,
                        ev.address,
                    )
                )
        if self.engine.dialect.name == "postgresql":
            page.copy = copy_text(page.events)
        page.projection = plan(page.projected)
        return page

    def _write(self, conn: Connection, page: _Page) -> None:
        """Insert a prepared page in bulk (one ``executemany`` on SQLite, ``COPY`` on PostgreSQL) and apply the events
        with a projection handler, with the result of chain order (batched per event type where handlers have a
        batch form: :mod:`datagora.index.projector`)."""
        if not page.events:
            return
        if page.copy is not None and conn.dialect.name == "postgresql":
            copy_rows(conn, "events", _EVENT_COLUMNS, page.copy)
        else:
            insert_rows(conn, "events", _EVENT_COLUMNS, page.events)
        conn.execute(delete(blocks).where(blocks.c.number.in_(list(page.blocks))))
        insert_rows(conn, "blocks", ("number", "hash"), list(page.blocks.items()))
        apply(conn, page.projection)

    def _store(self, conn: Connection, evs: Iterable[ChainEvent]) -> None:
        """Store ``evs`` (:meth:`_prepare`, then :meth:`_write`)."""
        self._write(conn, self._prepare(evs))

    # -- reorgs ------------------------------------------------------------------------------------------

    def _handle_reorg(self) -> tuple[int, int | None]:
        cur = self.cursor()
        if cur is None or self.chain.block_hash(cur[0]) == cur[1]:
            return 0, None
        with self.engine.connect() as conn:
            stored = conn.execute(select(blocks.c.number, blocks.c.hash).order_by(blocks.c.number.desc())).all()
        ancestor = self.contracts.deployment.block - 1
        for number, block_hash in stored:
            if self.chain.block_hash(int(number)) == block_hash:
                ancestor = int(number)
                break
        with self.engine.begin() as conn:
            conn.execute(delete(events).where(events.c.block_number > ancestor))
            conn.execute(delete(blocks).where(blocks.c.number > ancestor))
            self._rebuild_projections(conn)
            self._set(conn, "cursor_block", str(ancestor))
            self._set(conn, "cursor_hash", self.chain.block_hash(ancestor) or "")
        return cur[0] - ancestor, ancestor + 1

    def _rebuild_projections(self, conn: Connection) -> None:
        if conn.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO datasets_fts(datasets_fts) VALUES('delete-all')"))
        for table in PROJECTION_TABLES:
            conn.execute(delete(table))
        where = self._set_addresses()
        page: list[StoredEvent] = []
        for ev in _read_events(conn):
            if handler(ev.contract, ev.name) is None:
                continue
            page.append(
                StoredEvent(
                    ev.contract,
                    ev.name,
                    ev.args,
                    ev.block_number,
                    ev.tx_hash,
                    ev.log_index,
                    where,
                    ev.timestamp,
                    ev.address,
                )
            )
            if len(page) == _REBUILD_PAGE:
                project(conn, page)
                page = []
        project(conn, page)

    # -- projections ------------------------------------------------------------------------------------

    def _set_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in self.contracts.addresses.values())

    # -- verification ------------------------------------------------------------------------------------

    def verify(self, tx_hashes: Collection[str] | None = None) -> VerifyReport:
        """Re-read every indexed event (or only those of the transactions ``tx_hashes``) from its transaction
        receipt and compare position, block hash, contract (and its address, when stored) and arguments. Rows whose
        transaction or log no longer exists on chain are reported as missing."""
        report = VerifyReport()
        with self.engine.connect() as conn:
            self._stored_instances(conn)  # a brand token's events decode only once its address is watched
        query = select(
            events.c.id,
            events.c.tx_hash,
            events.c.log_index,
            events.c.block_hash,
            events.c.name,
            events.c.args,
            events.c.address,
            events.c.contract,
        )
        if tx_hashes is not None:
            query = query.where(events.c.tx_hash.in_(list(tx_hashes)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        receipts: dict[str, list[ChainEvent] | None] = {}
        for event_id, tx_hash, log_index, block_hash, name, args, address, contract in rows:
            report.checked += 1
            if tx_hash not in receipts:
                receipts[tx_hash] = self.contracts.events_of_tx(tx_hash)
            on_chain = receipts[tx_hash]
            match = None if on_chain is None else next((e for e in on_chain if e.log_index == log_index), None)
            if match is None:
                report.differences.append(Difference(event_id, tx_hash, log_index, "missing-on-chain"))
            elif match.block_hash != block_hash:
                report.differences.append(
                    Difference(event_id, tx_hash, log_index, "block-hash", f"{block_hash} != {match.block_hash}")
                )
            elif (
                match.name != name
                or args_json(match.args) != args
                or match.contract != contract
                or (address and address != match.address)
            ):
                report.differences.append(Difference(event_id, tx_hash, log_index, "args", f"{name} {args}"))
        return report

    def stored_events(self, from_block: int = 0) -> list[ChainEvent]:
        """The indexed events from ``from_block`` on, in chain order (block, then log index), as
        :class:`ChainEvent` whose ``args`` are in their JSON form (see :func:`jsonable`: bytes as ``0x``-hex).
        Only what the last :meth:`sync` stored: sync first for an up-to-date view."""
        with self.engine.connect() as conn:
            return list(_read_events(conn, from_block))

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
