"""Method "minhash-rows" (tables) and content-based kind detection, on scikit-learn's bundled datasets."""

from __future__ import annotations

import decimal
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sklearn import datasets

from datagora.domain.errors import ValidationError
from datagora.fingerprint import tables
from datagora.fingerprint.base import Fingerprint, get_method
from datagora.fingerprint.detect import default_method, detect_kind, sniff_csv
from datagora.fingerprint.tables import MINHASH_ROWS as ROWS
from datagora.fingerprint.tables import SetSketch, SketchBuilder, mix64

DATASETS: dict[str, Callable[[], object]] = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "diabetes": datasets.load_diabetes,
    "iris": datasets.load_iris,
}


def real_table(name: str) -> pa.Table:
    """A bundled scikit-learn dataset as an Arrow table: float features and an integer target."""
    bunch = DATASETS[name]()
    data = np.asarray(bunch.data, dtype=np.float64)  # type: ignore[attr-defined]
    target = np.asarray(bunch.target)  # type: ignore[attr-defined]
    names = [str(n) for n in bunch.feature_names]  # type: ignore[attr-defined]
    columns = {n: pa.array(data[:, i]) for i, n in enumerate(names)}
    columns["target"] = pa.array(target.astype(np.int64) if target.dtype.kind in "iu" else target)
    return pa.table(columns)


def write_csv(table: pa.Table, path: Path) -> Path:
    pa_csv.write_csv(table, path)
    return path


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def rows_subset(table: pa.Table, fraction: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    take = rng.permutation(table.num_rows)[: max(1, round(fraction * table.num_rows))]
    return table.take(pa.array(take))  # already shuffled: a random permutation's prefix


def map_floats(table: pa.Table, fn: Callable[[float], float]) -> pa.Table:
    cols = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(col.type):
            cols[name] = pa.array([fn(v) for v in col.to_pylist()], type=pa.float64())
        else:
            cols[name] = col
    return pa.table(cols)


def decimal_signif(digits: int) -> Callable[[float], float]:
    """Round non-integral values to ``digits`` significant digits on the decimal value, half to even
    (Python's decimal); integral values (counts, areas in whole units) stay as they are."""

    def fn(v: float) -> float:
        if v == int(v):
            return v
        d = decimal.Decimal(repr(v))
        return float(d.quantize(decimal.Decimal(1).scaleb(d.adjusted() - digits + 1), decimal.ROUND_HALF_EVEN))

    return fn


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tables")


def fp_of(table: pa.Table, path: Path) -> Fingerprint:
    writer = write_parquet if path.suffix == ".parquet" else write_csv
    return ROWS.compute(writer(table, path))


# --------------------------------------------------------------------------------------------------------------
# Targets of the issue


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes"])
def test_ten_percent_subset_shuffled_is_contained(name: str, data_dir: Path) -> None:
    full = real_table(name)
    whole = fp_of(full, data_dir / f"{name}.csv")
    for seed in range(3):
        part = fp_of(rows_subset(full, 0.10, seed), data_dir / f"{name}-sub{seed}.csv")
        assert ROWS.containment(part, whole) >= 0.9
        assert ROWS.similarity(part, whole) >= 0.9
        assert ROWS.similarity(whole, part) == ROWS.similarity(part, whole)


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "iris"])
def test_reordered_columns_match(name: str, data_dir: Path) -> None:
    full = real_table(name)
    order = np.random.default_rng(7).permutation(full.num_columns)
    shuffled = full.select([int(i) for i in order])
    assert shuffled.column_names != full.column_names
    a, b = fp_of(full, data_dir / f"{name}.csv"), fp_of(shuffled, data_dir / f"{name}-cols.csv")
    assert a.payload == b.payload
    assert ROWS.similarity(a, b) == 1.0


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "iris"])
def test_csv_and_parquet_of_the_same_data_match(name: str, data_dir: Path) -> None:
    full = real_table(name)
    csv_fp = fp_of(full, data_dir / f"{name}.csv")
    parquet_fp = fp_of(full, data_dir / f"{name}.parquet")
    assert csv_fp.payload == parquet_fp.payload
    as_float32 = pa.table(
        {
            n: c.cast(pa.float32()) if pa.types.is_floating(c.type) else c
            for n, c in zip(full.column_names, full.columns, strict=True)
        }
    )
    assert ROWS.similarity(csv_fp, fp_of(as_float32, data_dir / f"{name}-f32.parquet")) >= 0.99


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes"])
def test_rounded_values_match(name: str, data_dir: Path) -> None:
    full = real_table(name)
    whole = fp_of(full, data_dir / f"{name}.csv")
    to_sig = fp_of(map_floats(full, decimal_signif(tables.SIG_DIGITS)), data_dir / f"{name}-r3.csv")
    assert ROWS.similarity(whole, to_sig) >= 0.95
    finer = fp_of(map_floats(full, decimal_signif(tables.SIG_DIGITS + 3)), data_dir / f"{name}-r6.csv")
    assert ROWS.similarity(whole, finer) >= 0.9


def test_rounded_and_reordered_subset_as_parquet_still_matches(data_dir: Path) -> None:
    full = real_table("breast_cancer")
    part = map_floats(rows_subset(full, 0.2, 11), decimal_signif(tables.SIG_DIGITS))
    part = part.select(list(reversed(part.column_names)))
    whole = fp_of(full, data_dir / "bc.csv")
    assert ROWS.similarity(whole, fp_of(part, data_dir / "bc-mixed.parquet")) >= 0.9


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "diabetes", "iris"])
def test_unrelated_tables_of_the_same_schema_do_not_match(name: str, data_dir: Path) -> None:
    full = real_table(name)
    rng = np.random.default_rng(3)
    # Same columns, different random rows: every column permuted independently (same marginals).
    scrambled = pa.table(
        {n: c.take(pa.array(rng.permutation(len(c)))) for n, c in zip(full.column_names, full.columns, strict=True)}
    )
    whole = fp_of(full, data_dir / f"{name}.csv")
    assert ROWS.similarity(whole, fp_of(scrambled, data_dir / f"{name}-scrambled.csv")) <= 0.2
    # Two disjoint halves of the same table.
    order = rng.permutation(full.num_rows)
    half = full.num_rows // 2
    first = fp_of(full.take(pa.array(order[:half])), data_dir / f"{name}-h1.csv")
    second = fp_of(full.take(pa.array(order[half:])), data_dir / f"{name}-h2.csv")
    assert ROWS.similarity(first, second) <= 0.2


def test_different_datasets_do_not_match(data_dir: Path) -> None:
    fps = {name: fp_of(real_table(name), data_dir / f"{name}.csv") for name in DATASETS}
    names = sorted(fps)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert ROWS.similarity(fps[a], fps[b]) == 0.0


# --------------------------------------------------------------------------------------------------------------
# Normalisation and streaming


def test_text_cells_are_normalised(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("City,Count,Note\n  New  York ,3,ok\nParis,4,\nＬｙｏｎ,5,NaN\n", encoding="utf-8")
    b = tmp_path / "b.parquet"
    pq.write_table(pa.table({"note": ["OK", None, None], "count": [3, 4, 5], "city": ["new york", "PARIS", "lyon"]}), b)
    assert ROWS.compute(a).payload == ROWS.compute(b).payload


def test_numbers_integers_and_floats(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x,y\n17.99,5\n1001.0,0.07871\n-0.0,12345678901234567\n", encoding="utf-8")
    b = tmp_path / "b.csv"
    b.write_text("y,x\n5.0,18\n0.0787,1001\n12345678901234567,0\n", encoding="utf-8")
    assert ROWS.compute(a).payload == ROWS.compute(b).payload
    c = tmp_path / "c.csv"
    c.write_text("x,y\n17.99,6\n1001.0,0.07871\n-0.0,12345678901234568\n", encoding="utf-8")
    assert ROWS.sketch(ROWS.compute(c)).containment(ROWS.sketch(ROWS.compute(a))) == pytest.approx(1 / 3)


def test_csv_without_header_keeps_column_order(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("1.5,2.5,x\n3.5,4.5,y\n5.5,6.5,z\n", encoding="utf-8")
    b = tmp_path / "b.tsv"
    b.write_text("1.5\t2.5\tX\n5.5\t6.5\tz\n", encoding="utf-8")
    assert sniff_csv(a.read_text()) is not None
    assert ROWS.containment(ROWS.compute(b), ROWS.compute(a)) == 1.0


def test_streaming_in_small_batches_gives_the_same_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    n = 12_000
    table = pa.table({"a": rng.normal(size=n), "b": rng.integers(0, 100, n), "c": [f"w{i % 977}" for i in range(n)]})
    csv_path, parquet_path = write_csv(table, tmp_path / "big.csv"), write_parquet(table, tmp_path / "big.parquet")
    whole = ROWS.compute(csv_path)
    monkeypatch.setattr(tables, "CSV_BLOCK_BYTES", 1 << 15)
    monkeypatch.setattr(tables, "BATCH_ROWS", 1000)
    monkeypatch.setattr(tables.SketchBuilder, "_CHUNK", 700)
    assert ROWS.compute(csv_path).payload == whole.payload
    assert ROWS.compute(parquet_path).payload == whole.payload
    sketch = ROWS.sketch(whole)
    assert sketch.items == n
    assert sketch.cardinality == pytest.approx(n, rel=0.2)


def test_fingerprint_round_trips_and_is_registered(data_dir: Path) -> None:
    fp = fp_of(real_table("wine"), data_dir / "wine.csv")
    assert get_method("minhash-rows") is ROWS
    assert fp.kind == "table" and fp.method == "minhash-rows"
    assert Fingerprint.from_bytes(fp.to_bytes()) == fp
    assert len(fp.payload) <= 2700
    lean = ROWS.sketch(fp).lean_minhash()
    assert lean.jaccard(lean) == 1.0


@pytest.mark.parametrize("cut", [1, 10, 20, 600])
def test_malformed_payloads_are_rejected(cut: int, data_dir: Path) -> None:
    fp = fp_of(real_table("wine"), data_dir / "wine.csv")
    with pytest.raises(ValidationError):
        ROWS.validate(Fingerprint("table", "minhash-rows", fp.payload[:-cut]))


def test_different_parameters_do_not_compare(data_dir: Path) -> None:
    path = write_csv(real_table("iris"), data_dir / "iris.csv")
    a = ROWS.compute(path)
    b = tables.MinHashRows(sig_digits=4).compute(path)
    with pytest.raises(ValidationError, match="different parameters"):
        ROWS.similarity(a, b)


def test_unreadable_tables_raise_validation_error(tmp_path: Path) -> None:
    header_only = tmp_path / "h.csv"
    header_only.write_text("a,b\n", encoding="utf-8")
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3,4\n" + "5,6\n" * 10 + "7,8,9,10\n", encoding="utf-8")
    prose = tmp_path / "p.txt"
    prose.write_text("Beautiful is better than ugly.\nExplicit is better than implicit.\n", encoding="utf-8")
    empty_parquet = write_parquet(
        pa.table({"a": pa.array([], pa.int64()), "b": pa.array([], pa.string())}), tmp_path / "e.parquet"
    )
    for path in (header_only, ragged, prose, empty_parquet):
        with pytest.raises(ValidationError):
            ROWS.compute(path)


# --------------------------------------------------------------------------------------------------------------
# The sketch's estimators


def sketch_of(values: set[int], sample_size: int = tables.SAMPLE_SIZE) -> SetSketch:
    builder = SketchBuilder(3, sample_size)
    builder.update(mix64(np.array(sorted(values), dtype=np.uint64)))
    return builder.finish()


@settings(max_examples=60, deadline=None)
@given(
    st.sets(st.integers(0, 10_000), min_size=1, max_size=200),
    st.sets(st.integers(0, 10_000), min_size=1, max_size=200),
)
def test_containment_is_exact_for_sets_smaller_than_the_sample(a: set[int], b: set[int]) -> None:
    sa, sb = sketch_of(a), sketch_of(b)
    assert sa.containment(sb) == pytest.approx(len(a & b) / len(a))
    assert sa.cardinality == len(a)
    assert 0.0 <= sa.similarity(sb) == sb.similarity(sa) <= 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(2_000, 20_000), st.floats(0.05, 1.0), st.integers(0, 2**32))
def test_containment_estimate_of_large_sets(size: int, fraction: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    big = set(rng.choice(10**9, size=size, replace=False).tolist())
    part = set(list(big)[: max(50, int(fraction * size))])
    outside = set(rng.choice(10**9, size=len(part) // 2, replace=False).tolist()) - big
    query = part | outside
    true = len(part) / len(query)
    estimate = sketch_of(query).containment(sketch_of(big))
    if estimate > 0:  # 0 only when the query is too small against the big set to be seen
        assert abs(estimate - true) <= 0.3
    assert len(query) * tables.SAMPLE_SIZE / size < tables.MIN_SAMPLE / 2 or estimate > 0


# --------------------------------------------------------------------------------------------------------------
# detect_kind


def image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 90)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_detects_images_by_magic_bytes(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / "picture.dat"  # the extension says nothing
    path.write_bytes(image_bytes(fmt))
    assert detect_kind(path) == "image"


def test_detects_tables_and_text(tmp_path: Path, data_dir: Path) -> None:
    table = real_table("iris")
    assert detect_kind(write_parquet(table, tmp_path / "t.txt")) == "table"
    assert detect_kind(write_csv(table, tmp_path / "t.png")) == "table"
    semi = tmp_path / "s"
    semi.write_text("a;b;c\n1;2;3\n4;5;6\n", encoding="utf-8")
    tab = tmp_path / "t"
    tab.write_text("a\tb\n1\t2\n3\t4\n", encoding="utf-8")
    bmw = tmp_path / "cars"
    bmw.write_text("BMW,Munich,1916\nAudi,Ingolstadt,1909\n", encoding="utf-8")
    prose = tmp_path / "p.csv"
    prose.write_text(str(datasets.load_iris().DESCR), encoding="utf-8")
    assert [detect_kind(p) for p in (semi, tab, bmw, prose)] == ["table", "table", "table", "text"]


def test_unsupported_files_raise_validation_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.png"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(write_parquet(real_table("iris"), tmp_path / "ok.parquet").read_bytes()[:-9])
    utf16 = tmp_path / "u16.txt"
    utf16.write_text("hello, world\n", encoding="utf-16")
    blank = tmp_path / "blank.txt"
    blank.write_text("   \n\n", encoding="utf-8")
    for path in (empty, noise, truncated, utf16, blank, tmp_path):
        with pytest.raises(ValidationError, match="unsupported file type") as err:
            detect_kind(path)
        assert "\n" not in str(err.value)
    with pytest.raises(ValidationError):
        detect_kind(tmp_path / "missing")


def test_default_methods() -> None:
    assert [default_method(k) for k in ("table", "text", "image")] == ["minhash-rows", "minhash-words", "pdq-orb"]
    with pytest.raises(ValidationError):
        default_method("audio")  # type: ignore[arg-type]
