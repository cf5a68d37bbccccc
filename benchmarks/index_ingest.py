"""The event index's ingest rate, in events per second, on SQLite and PostgreSQL side by side.

    python benchmarks/index_ingest.py [--events 50000] [--page 2000]

Events go through the indexer's own storage path (``EventIndexer._store``: bulk insert of the ``events`` rows,
block hashes, projections) one SQL transaction per page, as ``sync`` stores a page of blocks; no chain round trips.
Two workloads: ``Anchored`` events (batch anchoring: kept in the events table only) and ``DatasetPublished``
events (projected into ``datasets`` and its full-text index as well). Printed per workload and database: events
per second of wall time and per second of this process's CPU time (on a busy machine the first is what is left
after other work, the second what the code costs). Target: >= 20,000 events/s on both databases.
PostgreSQL runs in a throw-away local server (``datagora.index.pgserver``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Console
from rich.table import Table

from datagora.domain.models import ChainEvent
from datagora.index import open_engine
from datagora.index.indexer import EventIndexer
from datagora.index.pgserver import PostgresServer

TARGET = 20_000


class _Contracts:
    """What the storage path reads of the contract set: the set's addresses (custody checks in projections)."""

    addresses: ClassVar[dict[str, str]] = {"Market": "0x" + "9" * 40, "Anchors": "0x" + "8" * 40}


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


def published(n: int, offset: int) -> list[ChainEvent]:
    return [
        ChainEvent(
            "Catalog",
            "DatasetPublished",
            {
                "token_id": offset + i,
                "owner": f"0x{offset + i:040x}",
                "content_hash": (offset + i).to_bytes(32, "big"),
                "domain": "bench",
                "name": f"bench dataset {i}",
                "attributes": "a,b,c",
                "size": 10,
                "description_hash": bytes(32),
                "dcat_hash": bytes(32),
                "fingerprint_commitment": bytes(32),
                "attester": "0x" + "1" * 40,
            },
            offset + i // 20,
            f"0x{offset + i:064x}",
            i % 20,
            0,
            f"0x{offset + i // 20:064x}",
        )
        for i in range(n)
    ]


def rate(url: str, events: list[ChainEvent], page: int) -> tuple[float, float]:
    """(events per wall second, events per CPU second of this process) storing ``events`` in pages."""
    engine = open_engine(url)
    indexer: Any = EventIndexer.__new__(EventIndexer)
    indexer.contracts = _Contracts()
    indexer.engine = engine
    wall, cpu = time.perf_counter(), time.process_time()
    for lo in range(0, len(events), page):
        with engine.begin() as conn:
            indexer._store(conn, events[lo : lo + page])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    return len(events) / wall, len(events) / max(cpu, 1e-9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000, help="Events per workload and database.")
    ap.add_argument("--page", type=int, default=2_000, help="Events per SQL transaction.")
    args = ap.parse_args()
    console = Console()
    workloads = {"Anchored (events only)": anchored, "DatasetPublished (projected)": published}
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg:
        for db in ("SQLite", "PostgreSQL"):
            for k, (name, make) in enumerate(workloads.items()):
                url = f"sqlite:///{Path(tmp) / f'ingest-{k}.db'}" if db == "SQLite" else _fresh_pg(pg.url, k)
                console.print(f"{db}: {args.events:,} {name} …", highlight=False)
                results.setdefault(name, {})[db] = rate(url, make(args.events, 10**6), args.page)
    load = os.getloadavg()[0]
    table = Table(title=f"Event index ingest: {args.events:,} events per run, {args.page:,} per transaction")
    table.add_column("workload")
    for db in ("SQLite", "PostgreSQL"):
        table.add_column(f"{db} events/s", justify="right")
        table.add_column(f"{db} per CPU s", justify="right")
    for name, by_db in results.items():
        table.add_row(name, *(f"{v:,.0f}" for db in ("SQLite", "PostgreSQL") for v in by_db[db]))
    console.print(table)
    worst = min(v[0] for by_db in results.values() for v in by_db.values())
    verdict = "meets" if worst >= TARGET else "misses"
    console.print(f"slowest {worst:,.0f} events/s: {verdict} the target of {TARGET:,} (load average {load:.1f})")
    return 0


def _fresh_pg(url: str, k: int) -> str:
    import psycopg

    base = url.rsplit("/", 1)[0]
    name = f"ingest_{k}_{os.getpid()}"
    with psycopg.connect(base.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


if __name__ == "__main__":
    raise SystemExit(main())
