"""Table fingerprints ("minhash-rows") against the issue's targets, on scikit-learn's bundled datasets, and
fingerprinting throughput on a large synthetic table.

    python benchmarks/fingerprint_tables.py [--seeds 20] [--rows 1000000]

Targets: a 10 % subset of the rows, shuffled, scores containment ≥ 0.9; an unrelated table of the same schema
scores ≤ 0.2. The first table also shows, for the same subsets, the containment LSH Ensemble's filter would
estimate from a MinHash Jaccard estimate and the two set sizes (|A∩B| = J·(|A|+|B|)/(1+J)), with 128 and 256
permutations: the reason the fingerprint carries a bottom-k sample.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from datasketch import MinHash
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn import datasets

from datagora.fingerprint import tables
from datagora.fingerprint.tables import MINHASH_ROWS as ROWS

console = Console(width=140)
LOADERS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "diabetes": datasets.load_diabetes,
    "iris": datasets.load_iris,
}


def real_table(name: str) -> pa.Table:
    bunch = LOADERS[name]()
    data = np.asarray(bunch.data, dtype=np.float64)
    cols = {str(n): pa.array(data[:, i]) for i, n in enumerate(bunch.feature_names)}
    cols["target"] = pa.array(np.asarray(bunch.target))
    return pa.table(cols)


def row_hash_set(path: Path) -> np.ndarray:
    names, batches = tables.iter_table(path)
    order = tables.canonical_order(names)
    return np.unique(np.concatenate([tables.row_hashes(c, order, tables.SIG_DIGITS) for c in batches]))


def share(xs: list[float]) -> str:
    """Share of values below 0.9."""
    return f"{sum(x < 0.9 for x in xs) / len(xs):.0%}"


def ensemble_style(sub: np.ndarray, whole: np.ndarray, num_perm: int) -> float:
    """Containment of ``sub`` in ``whole`` from a datasketch MinHash Jaccard estimate and exact set sizes."""
    a, b = (MinHash(num_perm=num_perm, seed=7, hashfunc=int) for _ in range(2))
    a.update_batch((sub >> np.uint64(32)).astype(np.uint32).tolist())
    b.update_batch((whole >> np.uint64(32)).astype(np.uint32).tolist())
    j = a.jaccard(b)
    return min(1.0, j * (len(sub) + len(whole)) / ((1 + j) * len(sub)))


def targets(work: Path, seeds: int) -> None:
    out = Table(title=f"minhash-rows on scikit-learn datasets ({seeds} random 10 % subsets each)")
    for col in ("dataset", "rows", "subset containment min / mean", "share < 0.9", "ensemble-style 128: share < 0.9",
                "ensemble-style 256: share < 0.9", "unrelated same schema max", "reordered", "CSV vs Parquet",
                "float32"):  # fmt: skip
        out.add_column(col, justify="right")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("datasets", total=len(LOADERS) * seeds)
        for name in LOADERS:
            full = real_table(name)
            whole_path = work / f"{name}.csv"
            pa_csv.write_csv(full, whole_path)
            whole = ROWS.compute(whole_path)
            whole_set = row_hash_set(whole_path)
            rng = np.random.default_rng(1)
            ours, e128, e256, unrelated = [], [], [], []
            for _ in range(seeds):
                take = rng.permutation(full.num_rows)[: round(0.1 * full.num_rows)]
                sub_path = work / f"{name}-sub.csv"
                pa_csv.write_csv(full.take(pa.array(take)), sub_path)
                ours.append(ROWS.containment(ROWS.compute(sub_path), whole))
                sub_set = row_hash_set(sub_path)
                e128.append(ensemble_style(sub_set, whole_set, 128))
                e256.append(ensemble_style(sub_set, whole_set, 256))
                scrambled = pa.table(
                    {
                        n: c.take(pa.array(rng.permutation(len(c))))
                        for n, c in zip(full.column_names, full.columns, strict=True)
                    }
                )
                other = work / f"{name}-other.csv"
                pa_csv.write_csv(scrambled, other)
                unrelated.append(ROWS.similarity(ROWS.compute(other), whole))
                progress.advance(task)
            reordered = work / f"{name}-reordered.csv"
            pa_csv.write_csv(full.select(list(reversed(full.column_names))), reordered)
            parquet = work / f"{name}.parquet"
            pq.write_table(full, parquet)
            f32 = work / f"{name}-f32.parquet"
            pq.write_table(pa.table({n: c.cast(pa.float32()) if pa.types.is_floating(c.type) else c
                                     for n, c in zip(full.column_names, full.columns, strict=True)}), f32)  # fmt: skip
            out.add_row(
                name,
                str(full.num_rows),
                f"{min(ours):.3f} / {statistics.fmean(ours):.3f}",
                share(ours),
                share(e128),
                share(e256),
                f"{max(unrelated):.3f}",
                f"{ROWS.similarity(ROWS.compute(reordered), whole):.3f}",
                f"{ROWS.similarity(ROWS.compute(parquet), whole):.3f}",
                f"{ROWS.similarity(ROWS.compute(f32), whole):.3f}",
            )
    console.print(out)


def synthetic(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cities = np.array([f"City {i}" for i in range(500)])
    return pa.table(
        {
            "id": np.arange(rows),
            "x": rng.normal(size=rows),
            "y": rng.exponential(size=rows) * 1000,
            "count": rng.integers(0, 100, rows),
            "city": cities[rng.integers(0, len(cities), rows)],
            "score": rng.random(rows).round(3),
            "flag": rng.random(rows) < 0.5,
            "z": rng.normal(size=rows) * 1e-4,
        }
    )


def throughput(work: Path, rows: int) -> None:
    table = synthetic(rows, 3)
    csv_path, parquet_path = work / "big.csv", work / "big.parquet"
    with Progress(console=console, transient=True) as progress:
        progress.add_task(f"writing {rows:,} rows", total=None)
        pa_csv.write_csv(table, csv_path)
        pq.write_table(table, parquet_path, row_group_size=100_000)
    del table
    out = Table(title=f"throughput, {rows:,} rows × 8 columns (floats, ints, text, booleans)")
    for col in ("file", "size MiB", "seconds", "rows/s", "MiB/s", "fingerprint bytes", "peak RSS MiB"):
        out.add_column(col, justify="right")
    fps = []
    for path in (csv_path, parquet_path):
        t = time.perf_counter()
        fp = ROWS.compute(path)
        dt = time.perf_counter() - t
        fps.append(fp)
        size = path.stat().st_size / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.add_row(path.suffix[1:], f"{size:.0f}", f"{dt:.2f}", f"{rows / dt:,.0f}", f"{size / dt:.0f}",
                    str(len(fp.payload)), f"{peak:.0f}")  # fmt: skip
    console.print(out)
    sketch = ROWS.sketch(fps[0])
    console.print(
        f"CSV vs Parquet similarity {ROWS.similarity(*fps):.3f}; estimated distinct rows {sketch.cardinality:,.0f} "
        f"of {rows:,} (KMV, k = {sketch.sample_size})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets(Path(tmp), args.seeds)
        throughput(Path(tmp), args.rows)


if __name__ == "__main__":
    main()
