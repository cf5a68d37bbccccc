"""Keyword search latency over N indexed dataset descriptions (default 1,000,000) on SQLite (FTS5) and
PostgreSQL (GIN tsvector), side by side; and the indexer's ingest rate in events per second.

    python benchmarks/index_search.py [--rows 1000000] [--queries 500] [--ingest-events 20000]

Descriptions are synthetic (names, domains and attributes drawn from a vocabulary with a Zipf-like skew), bulk
loaded into the same tables the indexer projects into. Queries are one or two keywords, half with a domain
filter, first page of 20 results, as the API serves them; measured without and with the (capped) total count.
Target: p99 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, insert, text

from datagora.index import open_engine
from datagora.index.indexer import EventIndexer
from datagora.index.pgserver import PostgresServer
from datagora.index.schema import datasets
from datagora.index.search import SearchQuery, search

DOMAINS = ["health", "finance", "retail", "imagery", "mobility", "energy", "agriculture", "telecom", "education"]
WORDS = [
    "income",
    "survey",
    "hospital",
    "admissions",
    "retail",
    "basket",
    "sales",
    "customer",
    "churn",
    "traffic",
    "sensor",
    "energy",
    "load",
    "solar",
    "wind",
    "weather",
    "crop",
    "yield",
    "soil",
    "image",
    "photo",
    "satellite",
    "street",
    "portrait",
    "transactions",
    "payments",
    "fraud",
    "loans",
    "credit",
    "tax",
    "returns",
    "school",
    "grades",
    "students",
    "mobility",
    "trips",
    "taxi",
    "bike",
    "rental",
    "call",
    "records",
    "network",
    "latency",
    "outage",
    "claims",
    "insurance",
    "policy",
    "premium",
    "diagnosis",
    "cancer",
    "diabetes",
    "genome",
    "protein",
    "clinical",
    "trial",
    "panel",
    "household",
    "consumption",
    "inventory",
    "warehouse",
    "logistics",
    "shipment",
    "supplier",
    "price",
    "index",
    "inflation",
    "rent",
    "housing",
    "census",
    "population",
]


def _row(i: int, rng: random.Random) -> dict[str, object]:
    name = " ".join(rng.choices(WORDS, weights=[1 / (k + 1) for k in range(len(WORDS))], k=3)) + f" {i}"
    attrs = ",".join(rng.sample(WORDS, 6))
    price = rng.randint(1, 1000) * 10**15 if rng.random() < 0.5 else None
    return {
        "token_id": i,
        "owner": f"0x{i:040x}",
        "publisher": f"0x{i:040x}",
        "name": name,
        "domain": rng.choice(DOMAINS),
        "attributes": attrs,
        "size": rng.randint(10, 10**6),
        "content_hash": i.to_bytes(32, "big"),
        "dcat_hash": bytes(32),
        "published_block": i,
        "published_tx": "0x" + "0" * 64,
        "listing_id": i if price else None,
        "price": str(price) if price else None,
        "price_eth": price // 10**9 if price else None,
        "sale_kind": "ownership" if price else None,
    }


def load(engine: Engine, rows: int, progress: Progress, label: str) -> float:
    rng = random.Random(7)
    task = progress.add_task(f"{label}: load {rows:,} descriptions", total=rows)
    t0 = time.perf_counter()
    batch = 20_000
    for lo in range(1, rows + 1, batch):
        chunk = [_row(i, rng) for i in range(lo, min(lo + batch, rows + 1))]
        with engine.begin() as conn:
            conn.execute(insert(datasets), chunk)
            if engine.dialect.name == "sqlite":
                conn.execute(
                    text(
                        "INSERT INTO datasets_fts(rowid, name, domain, attributes) "
                        "VALUES (:token_id, :name, :domain, :attributes)"
                    ),
                    chunk,
                )
        progress.advance(task, len(chunk))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE datasets"))
    return time.perf_counter() - t0


def measure(engine: Engine, queries: int, progress: Progress, label: str, with_count: bool = False) -> list[float]:
    rng = random.Random(11)
    task = progress.add_task(f"{label}: {queries} searches", total=queries)
    lat = []
    for _ in range(queries):
        words = " ".join(rng.sample(WORDS, rng.choice([1, 2])))
        q = SearchQuery(words, domain=rng.choice(DOMAINS) if rng.random() < 0.5 else None, limit=20, count=with_count)
        t0 = time.perf_counter()
        search(engine, q)
        lat.append((time.perf_counter() - t0) * 1000)
        progress.advance(task)
    return lat


def ingest_rate(engine: Engine, events: int) -> float:
    """Events per second through the indexer's storage and projection path (no chain round trips)."""
    from datagora.domain.models import ChainEvent

    class _Stub:  # the projection needs the market address only
        addresses: ClassVar[dict[str, str]] = {"Market": "0x" + "9" * 40}

    idx = EventIndexer.__new__(EventIndexer)
    idx.contracts = _Stub()  # type: ignore[assignment]
    idx.engine = engine
    evs = []
    for i in range(events):
        args = {
            "token_id": 10**8 + i,
            "owner": f"0x{i:040x}",
            "content_hash": i.to_bytes(32, "big"),
            "domain": "bench",
            "name": f"bench dataset {i}",
            "attributes": "a,b,c",
            "size": 10,
            "description_hash": bytes(32),
            "dcat_hash": bytes(32),
            "fingerprint_commitment": bytes(32),
            "attester": "0x" + "1" * 40,
        }
        evs.append(
            ChainEvent(
                "Catalog", "DatasetPublished", args, 10**7 + i // 100, f"0x{i:064x}", i % 100, 0, f"0x{i // 100:064x}"
            )
        )
    t0 = time.perf_counter()
    for lo in range(0, events, 1000):
        with engine.begin() as conn:
            idx._store(conn, evs[lo : lo + 1000])
    return events / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--ingest-events", type=int, default=20_000)
    args = ap.parse_args()
    console = Console()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as pg, Progress(console=console) as progress:
        for label, url in (("SQLite FTS5", f"sqlite:///{Path(tmp) / 'bench.db'}"), ("PostgreSQL tsvector", pg.url)):
            engine = open_engine(url)
            load_s = load(engine, args.rows, progress, label)
            measure(engine, 20, progress, label + " warm-up")
            lat = measure(engine, args.queries, progress, label)
            lat_count = measure(engine, args.queries, progress, label + " (with total)", with_count=True)
            rate = ingest_rate(engine, args.ingest_events)
            q, qc = statistics.quantiles(lat, n=100), statistics.quantiles(lat_count, n=100)
            results[label] = {
                "load s": load_s,
                "page p50 ms": q[49],
                "page p99 ms": q[98],
                "page max ms": max(lat),
                "page + total p50 ms": qc[49],
                "page + total p99 ms": qc[98],
                "ingest ev/s": rate,
            }
    table = Table(title=f"Keyword search over {args.rows:,} indexed descriptions ({args.queries} queries)")
    table.add_column("metric")
    for label in results:
        table.add_column(label, justify="right")
    for key in next(iter(results.values())):
        table.add_row(key, *(f"{r[key]:,.1f}" for r in results.values()))
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
