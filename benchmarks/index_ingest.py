"""The event index's ingest rate, in events per second, on SQLite and PostgreSQL side by side.

    python benchmarks/index_ingest.py [--events 50000] [--page 2000] [--no-reference] [--no-prefetch]

Events go through the indexer's own storage path as ``sync`` runs it, without the chain round trips: a page is
prepared (``EventIndexer._prepare``: arguments to JSON, rows) in a background thread while the page before is
written (``EventIndexer._write``: bulk insert of the ``events`` rows and block hashes, projections), one SQL
transaction per page.
Workloads:

- ``Anchored`` events (batch anchoring: kept in the events table only);
- ``DatasetPublished`` with its mint ``Transfer`` (projected into ``datasets`` and its full-text index);
- a market and consent mix, in the order a chain emits it: datasets published, listed (the NFT moving into the
  market's custody), bought some blocks later (``OrderPaid``) and delivered, consents granted, and three
  consent accesses (``AccessRecorded``) per dataset; every event but the custody transfers derives a row.

The projected workloads run with the projections' batch forms (the indexer's path) and, for reference, one
handler call per event (``--no-reference`` skips those). Printed per workload and database, side by side: events
per second of wall time, and CPU microseconds per event of this process (the client) and of the PostgreSQL
server's processes (SQLite runs inside the client). On a busy machine the first is what is left after other work,
the CPU times what the code costs. Target: >= 20,000 events/s on both databases; the verdict, the load average
and the CPU count are printed with it. Afterwards the projection
tables of the batched and the per-event runs are compared row for row. PostgreSQL runs in a throw-away local
server (``datagora.index.pgserver``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from datagora.domain.models import ChainEvent
from datagora.index import indexer as indexer_module
from datagora.index import open_engine
from datagora.index.indexer import EventIndexer, prefetched
from datagora.index.pgserver import PostgresServer
from datagora.index.schema import PROJECTION_TABLES

TARGET = 20_000
DATABASES = ("SQLite", "PostgreSQL")


MARKET = "0x" + "9" * 40


class _Contracts:
    """What the storage path reads of the contract set: the set's addresses (custody checks in projections)."""

    addresses: ClassVar[dict[str, str]] = {"Market": MARKET, "Anchors": "0x" + "8" * 40}


def anchored(n: int, offset: int) -> list[ChainEvent]:
    return [
        ChainEvent(
            "Anchors",
            "Anchored",
            {
                "batch_id": offset + i + 1,
                "anchorer": "0x" + os.urandom(20).hex(),
                "organisation_id": 1 + i % 7,
                "root": os.urandom(32),
                "size": 10_000,
                "label": f"sensor {i % 50} readings",
            },
            offset + i // 20,
            "0x" + os.urandom(32).hex(),
            i % 20,
            1_760_000_000 + i,
            f"0x{offset + i // 20:064x}",
        )
        for i in range(n)
    ]


def _address(i: int) -> str:
    return f"0x{i:040x}"


class _Chain:
    """Events in chain order: 20 per block, one log index after another."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.out: list[ChainEvent] = []

    def emit(self, contract: str, name: str, args: dict[str, Any], tx: int) -> None:
        k = len(self.out)
        block = self.offset + k // 20
        self.out.append(
            ChainEvent(
                contract,
                name,
                args,
                block,
                f"0x{self.offset + tx:064x}",
                k % 20,
                1_760_000_000 + block,
                f"0x{block:064x}",
            )
        )


def _publish(chain: _Chain, token_id: int, owner: str) -> None:
    chain.emit("Catalog", "Transfer", {"sender": ZERO, "receiver": owner, "token_id": token_id}, token_id)
    chain.emit(
        "Catalog",
        "DatasetPublished",
        {
            "token_id": token_id,
            "owner": owner,
            "content_hash": token_id.to_bytes(32, "big"),
            "domain": "bench",
            "name": f"bench dataset {token_id}",
            "attributes": "a,b,c",
            "size": 10,
            "description_hash": bytes(32),
            "dcat_hash": bytes(32),
            "fingerprint_commitment": bytes(32),
            "attester": "0x" + "1" * 40,
        },
        token_id,
    )


ZERO = "0x" + "0" * 40


def published(n: int, offset: int) -> list[ChainEvent]:
    chain = _Chain(offset)
    for i in range(n // 2):
        _publish(chain, offset + i, _address(offset + i))
    return chain.out


def market_mix(n: int, offset: int) -> list[ChainEvent]:
    """About ``n`` events of the market and consent mix (see the module docstring)."""
    chain = _Chain(offset)
    lag = 40  # a dataset is bought 40 rounds (~13 blocks) after it is listed, and delivered 20 rounds later
    rounds = n // 11
    for r in range(rounds):
        t = offset + r
        seller = _address(10_000 + r % 500)
        _publish(chain, t, seller)
        chain.emit(
            "Market",
            "Listed",
            {
                "listing_id": t,
                "token_id": t,
                "seller": seller,
                "price": 10**17 + r,
                "kind": 1,  # ownership
                "pricing": 1,  # fixed price
                "collateral": 10**16,
                "payment_token": ZERO,
            },
            10**7 + t,
        )
        chain.emit("Catalog", "Transfer", {"sender": seller, "receiver": MARKET, "token_id": t}, 10**7 + t)
        if r >= lag:
            bought = t - lag
            chain.emit(
                "Market",
                "OrderPaid",
                {
                    "order_id": bought,
                    "listing_id": bought,
                    "buyer": _address(20_000 + r % 300),
                    "amount": 10**17 + r - lag,
                    "collateral": 10**16,
                    "fee_bps": 250,
                    "queries": 0,
                    "deadline": 1_760_100_000 + r,
                },
                2 * 10**7 + t,
            )
        if r >= 2 * lag:
            chain.emit(
                "Market",
                "Delivered",
                {"order_id": t - 2 * lag, "delivery_hash": "0x" + "ab" * 32, "confirm_deadline": 1_760_200_000 + r},
                3 * 10**7 + t,
            )
        subject = _address(30_000 + r)
        chain.emit(
            "Consent",
            "ConsentGranted",
            {
                "consent_id": t,
                "subject": subject,
                "organisation_id": 1 + r % 5,
                "category": "purchases",
                "purpose": "https://w3id.org/dpv#ServiceOptimisation",
                "purpose_hash": "0x" + "cd" * 32,
                "expiry": 1_800_000_000,
                "reward": 5,
            },
            4 * 10**7 + t,
        )
        for k in range(3):
            chain.emit(
                "Consent",
                "AccessRecorded",
                {
                    "consent_id": max(offset, t - 7 * k),
                    "consumer": _address(40_000 + k),
                    "subject": subject,
                    "item_id": 3 * r + k,
                    "purpose_hash": "0x" + "cd" * 32,
                    "reward": 5,
                },
                5 * 10**7 + 3 * t + k,
            )
    return chain.out


@dataclass
class Result:
    """One workload on one database: events stored, wall seconds, CPU seconds of this process (the client) and of
    the database server's processes (None for SQLite, which runs inside the client)."""

    events: int
    wall: float
    client_cpu: float
    server_cpu: float | None

    @property
    def per_second(self) -> float:
        return self.events / self.wall

    def micros(self, cpu: float | None) -> str:
        return "in client" if cpu is None else f"{cpu / self.events * 1e6:,.1f}"


def rate(
    url: str, events: list[ChainEvent], page: int, *, batch: bool = True, server: Any = None, ahead: bool = True
) -> Result:
    """Store ``events`` in pages of ``page`` (one SQL transaction each) and time it; ``batch`` False applies the
    projections one event at a time; ``server`` is the database server's process (psutil), if any; ``ahead``
    False prepares each page only when the one before is written (no fetch thread)."""
    engine = open_engine(url)
    indexer: Any = EventIndexer.__new__(EventIndexer)
    indexer.contracts = _Contracts()
    indexer.engine = engine
    server_cpu = None if server is None else _tree_cpu(server)
    wall, cpu = time.perf_counter(), time.process_time()
    pages = (functools.partial(indexer._prepare, events[lo : lo + page]) for lo in range(0, len(events), page))
    with _batching(batch):
        # as ``sync`` does: the next page is made while this one is written
        for prepared in prefetched(pages) if ahead else (job() for job in pages):
            with engine.begin() as conn:
                indexer._write(conn, prepared)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if server_cpu is not None:
        server_cpu = _tree_cpu(server) - server_cpu
    engine.dispose()
    return Result(len(events), wall, cpu, server_cpu)


def _tree_cpu(process: Any) -> float:
    """CPU seconds (user + system) of ``process`` and all its descendants, living or ended (an ended backend's
    time is counted in its parent's children times)."""
    import psutil

    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


@contextlib.contextmanager
def _batching(on: bool) -> Iterator[None]:
    """The indexer's projector with batch forms (``on``) or one handler call per event."""
    if on:
        yield
        return
    original = indexer_module.plan
    indexer_module.plan = functools.partial(original, batch=False)
    try:
        yield
    finally:
        indexer_module.plan = original


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, sorted: what the batched and the per-event runs must agree on."""
    engine = open_engine(url)
    with engine.connect() as conn:
        out = {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr) for t in PROJECTION_TABLES}
    engine.dispose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000, help="Events per workload and database.")
    ap.add_argument("--page", type=int, default=2_000, help="Events per SQL transaction.")
    ap.add_argument("--no-reference", action="store_true", help="Skip the one-handler-call-per-event runs.")
    ap.add_argument(
        "--no-prefetch", action="store_true", help="Prepare each page after the one before is written (no thread)."
    )
    args = ap.parse_args()
    import psutil

    console = Console()
    workloads: dict[str, tuple[Callable[[int, int], list[ChainEvent]], bool]] = {
        "Anchored (events only)": (anchored, True),
        "DatasetPublished + mint (projected, batched)": (published, True),
        "market and consent mix (projected, batched)": (market_mix, True),
    }
    if not args.no_reference:
        workloads["DatasetPublished + mint (projected, one by one)"] = (published, False)
        workloads["market and consent mix (projected, one by one)"] = (market_mix, False)
    results: dict[str, dict[str, Result]] = {}
    same: dict[str, bool] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg:
        assert pg.process is not None
        server = psutil.Process(pg.process.pid)
        for db in DATABASES:
            urls = {}
            for k, (name, (make, batch)) in enumerate(workloads.items()):
                url = f"sqlite:///{Path(tmp) / f'ingest-{k}.db'}" if db == "SQLite" else _fresh_pg(pg.url, k)
                urls[name] = url
                evs = make(args.events, 10**6)
                console.print(f"{db}: {len(evs):,} {name} …", highlight=False)
                results.setdefault(name, {})[db] = rate(
                    url,
                    evs,
                    args.page,
                    batch=batch,
                    server=server if db == "PostgreSQL" else None,
                    ahead=not args.no_prefetch,
                )
            if not args.no_reference:
                same[db] = snapshot(urls["market and consent mix (projected, batched)"]) == snapshot(
                    urls["market and consent mix (projected, one by one)"]
                ) and snapshot(urls["DatasetPublished + mint (projected, batched)"]) == snapshot(
                    urls["DatasetPublished + mint (projected, one by one)"]
                )
    load = max(load_before, os.getloadavg()[0])
    table = Table(
        title=f"Event index ingest: ~{args.events:,} events per run, {args.page:,} per transaction, "
        f"{'pages prepared one after another' if args.no_prefetch else 'next page prepared while one is written'} "
        "(CPU in microseconds per event)"
    )
    table.add_column("workload")
    for db in DATABASES:
        table.add_column(f"{db} events/s", justify="right")
        table.add_column(f"{db} client CPU", justify="right")
        table.add_column(f"{db} server CPU", justify="right")
    for name, by_db in results.items():
        cells = []
        for db in DATABASES:
            r = by_db[db]
            cells += [f"{r.per_second:,.0f}", r.micros(r.client_cpu), r.micros(r.server_cpu)]
        table.add_row(name, *cells)
    console.print(table)
    for db, equal in same.items():
        console.print(f"{db}: batched and one-by-one projection tables identical: {equal}", highlight=False)
    for db in DATABASES:
        indexer_paths = {name: by_db[db] for name, by_db in results.items() if "one by one" not in name}
        slowest = min(indexer_paths, key=lambda name: indexer_paths[name].per_second)
        r = indexer_paths[slowest]
        cpu = r.client_cpu + (r.server_cpu or 0.0)
        console.print(
            f"{db}: target >= {TARGET:,} events/s; slowest indexer path ({slowest}) {r.per_second:,.0f} events/s: "
            f"{'MET' if r.per_second >= TARGET else 'MISSED'} (load average {load:.1f} on {os.cpu_count()} CPUs; "
            f"client + server CPU {cpu / r.events * 1e6:,.1f} µs per event, {r.events / cpu:,.0f} events per CPU "
            "second)",
            highlight=False,
        )
    return 0 if all(same.values()) else 1


def _fresh_pg(url: str, k: int) -> str:
    import psycopg

    base = url.rsplit("/", 1)[0]
    name = f"ingest_{k}_{os.getpid()}"
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


if __name__ == "__main__":
    raise SystemExit(main())
