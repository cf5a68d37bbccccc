"""Fingerprint index at scale: query latency p50/p99, build time and memory with 1,000,000 stored random
256-bit image codes (the PDQ code of ``code(fp)``), for queries near a stored code (a few bits flipped) and
for random codes.

    python benchmarks/fingerprint_index.py [--codes 1000000] [--queries 1000] [--radius 32 64] [--skip-sqlite]

Part A times the multi-index hashing core (``HammingIndex``) alone, with a linear scan for reference.
Part B times the whole ``FingerprintIndex``: SQLite ingest, reopen (rebuild from SQLite), ``query`` and
``check_novelty`` (candidate search + fetching candidates from SQLite + the method's similarity).
Latencies are wall-clock on one thread, with the median CPU time of the process beside them: on a shared
machine the wall-clock p99 mostly measures the other processes.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, register
from datagora.fingerprint.index import FingerprintIndex, HammingIndex, plan_mih

NBITS = 256
console = Console(width=140)


class BenchCode:
    """A stand-in image method: payload = the 256-bit code, similarity = 1 - Hamming distance / 256."""

    name = "bench-code256"
    kind: Kind = "image"
    threshold = 0.875  # ≤ 32 bits, PDQ's usual match distance

    def compute(self, path: Path) -> Fingerprint:
        raise NotImplementedError

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        d = int.bit_count(int.from_bytes(a.payload, "big") ^ int.from_bytes(b.payload, "big"))
        return 1.0 - d / NBITS

    def validate(self, fp: Fingerprint) -> None:
        if len(fp.payload) != 32:
            raise ValidationError("bench-code256: 32-byte payload")

    def code(self, fp: Fingerprint) -> bytes:
        return fp.payload


register(BenchCode())


def rss_mib() -> float:
    """Current resident set size of this process (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def near(code: np.ndarray, bits: int, rng: np.random.Generator) -> bytes:
    q = code.copy()
    for b in rng.choice(NBITS, size=bits, replace=False):
        q[b // 8] ^= np.uint8(1 << (b % 8))
    return q.tobytes()


def latencies(fn: Callable[[bytes], object], queries: list[bytes]) -> tuple[float, float, float]:
    """(p50, p99, CPU p50) in milliseconds: wall-clock percentiles and the median CPU time of this process
    (less sensitive to other processes on a shared machine)."""
    wall, cpu = [], []
    gc.disable()
    try:
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            fn(q)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    finally:
        gc.enable()
    ms = np.array(wall) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(np.median(cpu) * 1e3)


def part_a(codes: np.ndarray, radii: list[int], n_queries: int, rng: np.random.Generator) -> None:
    n = len(codes)
    near_q = [near(codes[i], int(rng.integers(1, 17)), rng) for i in rng.integers(0, n, n_queries)]
    rand_q = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(n_queries)]
    table = Table(title=f"A. HammingIndex (multi-index hashing), {n:,} random 256-bit codes")
    for col in ("radius", "layout", "build s", "index MiB", "near p50 ms", "near p99 ms", "near CPU p50 ms",
                "random p50 ms", "random p99 ms", "random CPU p50 ms", "linear scan p50 ms"):  # fmt: skip
        table.add_column(col, justify="right")
    for radius in radii:
        gc.collect()
        before = rss_mib()
        index = HammingIndex(NBITS, radius)
        index.add_many(np.arange(n), codes)
        t = time.perf_counter()
        index.build()
        build = time.perf_counter() - t
        size = rss_mib() - before
        for q in near_q[:20]:  # every near query must find its source code
            assert index.search(q), "a near code was missed"
        n50, n99, ncpu = latencies(index.search, near_q)
        r50, r99, rcpu = latencies(index.search, rand_q)
        linear = HammingIndex(NBITS, radius, substrings=0)
        linear.add_many(np.arange(n), codes)
        linear.build()
        l50, _, _ = latencies(linear.search, rand_q[: max(20, n_queries // 10)])
        plan = index.plan
        layout = f"{plan.substrings} × {plan.spans[0][1]}-bit" if plan.substrings else "linear"
        table.add_row(str(radius), layout, f"{build:.2f}", f"{size:.0f}", f"{n50:.2f}", f"{n99:.2f}", f"{ncpu:.2f}",
                      f"{r50:.2f}", f"{r99:.2f}", f"{rcpu:.2f}", f"{l50:.2f}")  # fmt: skip
        del index, linear
    console.print(table)


def part_b(codes: np.ndarray, radius: int, n_queries: int, rng: np.random.Generator) -> None:
    n = len(codes)
    out = Table(title=f"B. FingerprintIndex end to end, {n:,} fingerprints, candidate radius {radius}")
    out.add_column("measure")
    out.add_column("value", justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fingerprints.db"
        chunk = 50_000
        t = time.perf_counter()
        with FingerprintIndex.open(path, hamming_radius=radius) as index, Progress(console=console) as progress:
            task = progress.add_task("SQLite ingest", total=n)
            for start in range(0, n, chunk):
                index.add_many(
                    (i, Fingerprint("image", "bench-code256", codes[i].tobytes()))
                    for i in range(start, min(n, start + chunk))
                )
                progress.advance(task, min(chunk, n - start))
        ingest = time.perf_counter() - t
        gc.collect()
        before = rss_mib()
        t = time.perf_counter()
        index = FingerprintIndex.open(path, hamming_radius=radius)
        reopen = time.perf_counter() - t
        fp = Fingerprint("image", "bench-code256", codes[0].tobytes())
        t = time.perf_counter()
        index.candidates(fp)  # first search builds the multi-index tables
        first = time.perf_counter() - t
        memory = rss_mib() - before
        near_q = [near(codes[i], int(rng.integers(1, 17)), rng) for i in rng.integers(0, n, n_queries)]
        rand_q = [rng.integers(0, 256, 32, dtype=np.uint8).tobytes() for _ in range(n_queries)]
        found = sum(bool(index.query(Fingerprint("image", "bench-code256", q), k=1)) for q in near_q[:50])

        def query(q: bytes) -> object:
            return index.query(Fingerprint("image", "bench-code256", q), k=10)

        def novelty(q: bytes) -> object:
            return index.check_novelty(Fingerprint("image", "bench-code256", q))

        qn = latencies(query, near_q)
        qr = latencies(query, rand_q)
        nn = latencies(novelty, near_q)
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("fingerprints.db-*"))
        rows = [
            ("ingest (add_many, 50k per transaction)", f"{ingest:.1f} s ({n / ingest:,.0f} /s)"),
            ("SQLite file", f"{size / 2**20:.0f} MiB"),
            ("reopen: rows parsed + structures filled", f"{reopen:.1f} s"),
            ("first search: multi-index tables built", f"{first:.2f} s"),
            ("memory of the reopened index (RSS delta)", f"{memory:.0f} MiB"),
            ("near queries answered (of 50)", str(found)),
            ("query(k=10) near code p50 / p99 / CPU p50", f"{qn[0]:.2f} / {qn[1]:.2f} / {qn[2]:.2f} ms"),
            ("query(k=10) random code p50 / p99 / CPU p50", f"{qr[0]:.2f} / {qr[1]:.2f} / {qr[2]:.2f} ms"),
            ("check_novelty near code p50 / p99 / CPU p50", f"{nn[0]:.2f} / {nn[1]:.2f} / {nn[2]:.2f} ms"),
        ]
        for row in rows:
            out.add_row(*row)
        index.close()
    console.print(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--radius", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--skip-sqlite", action="store_true", help="only part A")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    codes = rng.integers(0, 256, size=(args.codes, 32), dtype=np.uint8)
    console.print("cost-model layouts: " + ", ".join(
        f"r={r}: {plan_mih(NBITS, r, args.codes).substrings or 'linear'}" for r in args.radius))  # fmt: skip
    part_a(codes, args.radius, args.queries, rng)
    if not args.skip_sqlite:
        part_b(codes, max(args.radius), args.queries, rng)
    console.print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
