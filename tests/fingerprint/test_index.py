"""FingerprintIndex: add / query / novelty / remove, persistence, crash safety, and exactness of the
sub-linear candidate search (multi-index hashing, inverted keys) against brute force."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagora.domain.errors import NotFoundError, ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, register
from datagora.fingerprint.index import (
    CodedMethod,
    FingerprintIndex,
    HammingIndex,
    KeyedMethod,
    KeyIndex,
    Match,
    plan_mih,
    substring_radii,
)
from datagora.fingerprint.tables import MINHASH_ROWS as ROWS
from datagora.fingerprint.text import MINHASH_WORDS as WORDS
from tests.fingerprint.test_tables import DATASETS, fp_of, real_table, rows_subset
from tests.fingerprint.test_text import CORPUS, lightly_edited

NBITS = 256


def hamming(a: bytes, b: bytes) -> int:
    return int.bit_count(int.from_bytes(a, "big") ^ int.from_bytes(b, "big"))


class FakeImageWithoutHook:
    """An image method with a 256-bit code as payload and similarity 1 - distance / 256, but without the
    ``code`` hook: the index falls back to ``datagora.fingerprint.images.image_code``."""

    name = "test-image-nohook"
    kind: Kind = "image"
    threshold = 0.75  # distance ≤ 64 bits: the index's default candidate radius

    def compute(self, path: Path) -> Fingerprint:
        raise NotImplementedError

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        return 1.0 - hamming(a.payload, b.payload) / NBITS

    def validate(self, fp: Fingerprint) -> None:
        if len(fp.payload) != NBITS // 8:
            raise ValidationError(f"{self.name}: payload must be 32 bytes")


class FakeCodeMethod(FakeImageWithoutHook):
    """Stands in for the image method: the same, with the optional ``code`` hook of
    datagora.fingerprint.index."""

    name = "test-code256"

    def code(self, fp: Fingerprint) -> bytes:
        return fp.payload


class FakeScanMethod:
    """No hook at all: every stored fingerprint of the method is a candidate."""

    name = "test-scan"
    kind: Kind = "text"
    threshold = 0.5

    def compute(self, path: Path) -> Fingerprint:
        raise NotImplementedError

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        shared = sum(x == y for x, y in zip(a.payload, b.payload, strict=False))
        return shared / max(len(a.payload), len(b.payload), 1)

    def validate(self, fp: Fingerprint) -> None:
        if not fp.payload:
            raise ValidationError("test-scan: empty payload")


class FakeVariantsMethod(FakeCodeMethod):
    """A coded method whose queries also probe a variant (the reversed code), as PDQ's dihedral variants."""

    name = "test-variants"

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        d = min(hamming(a.payload, b.payload), hamming(a.payload[::-1], b.payload))
        return 1.0 - d / NBITS

    def query_codes(self, fp: Fingerprint) -> list[bytes]:
        return [fp.payload, fp.payload[::-1]]


CODE = FakeCodeMethod()
register(CODE)
register(FakeVariantsMethod())
register(FakeScanMethod())
register(FakeImageWithoutHook())


def code_fp(code: bytes, method: str = CODE.name) -> Fingerprint:
    return Fingerprint("image", method, code)


def flip(code: bytes, bits: list[int]) -> bytes:
    value = int.from_bytes(code, "big")
    for b in bits:
        value ^= 1 << b
    return value.to_bytes(len(code), "big")


@pytest.fixture(scope="module")
def table_fps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fingerprint]:
    d = tmp_path_factory.mktemp("index-tables")
    fps = {name: fp_of(real_table(name), d / f"{name}.csv") for name in DATASETS}
    fps["bc-subset"] = fp_of(rows_subset(real_table("breast_cancer"), 0.1, 1), d / "bc-sub.csv")
    full = real_table("wine")
    rng = np.random.default_rng(9)
    fps["wine-scrambled"] = fp_of(
        pa.table(
            {n: c.take(pa.array(rng.permutation(len(c)))) for n, c in zip(full.column_names, full.columns, strict=True)}
        ),
        d / "wine-scrambled.parquet",
    )
    return fps


def test_hooks_are_recognised() -> None:
    assert isinstance(CODE, CodedMethod) and not isinstance(CODE, KeyedMethod)
    assert isinstance(ROWS, KeyedMethod) and isinstance(WORDS, KeyedMethod)
    assert not isinstance(FakeScanMethod(), CodedMethod | KeyedMethod)
    assert not isinstance(FakeImageWithoutHook(), CodedMethod)


# --------------------------------------------------------------------------------------------------------------
# add / query / check_novelty / remove


def test_tables_and_texts_add_query_novelty_remove(table_fps: dict[str, Fingerprint]) -> None:
    ids = {name: i for i, name in enumerate(sorted(DATASETS), start=1)}
    texts = {name: 100 + i for i, name in enumerate(sorted(CORPUS))}
    with FingerprintIndex() as index:
        for name, i in ids.items():
            index.add(i, table_fps[name])
        for name, i in texts.items():
            index.add(i, WORDS.compute_text(CORPUS[name]))
        assert len(index) == len(ids) + len(texts)
        assert ids["wine"] in index and 999 not in index

        # Search by sample (step 9-2): a 10 % shuffled subset finds its table first.
        top = index.query(table_fps["bc-subset"], k=3)
        assert top[0].dataset_id == ids["breast_cancer"] and top[0].similarity >= 0.9
        assert all(m.dataset_id in ids.values() for m in top)  # tables are compared with tables only
        # Novelty check (step 5): the subset is not new, an unrelated table of the same schema is.
        assert index.check_novelty(table_fps["bc-subset"]) == top[0]
        assert index.check_novelty(table_fps["wine-scrambled"]) is None
        edited = WORDS.compute_text(lightly_edited(CORPUS["wine"], 4))
        match = index.check_novelty(edited)
        assert match is not None and match.dataset_id == texts["wine"]

        index.remove(ids["breast_cancer"])
        assert index.check_novelty(table_fps["bc-subset"]) is None
        assert len(index) == len(ids) + len(texts) - 1
        with pytest.raises(NotFoundError):
            index.remove(ids["breast_cancer"])
        index.add(ids["breast_cancer"], table_fps["breast_cancer"])  # the id can be used again
        assert index.check_novelty(table_fps["bc-subset"]) is not None


def test_codes_query_ranks_by_similarity_and_novelty_uses_threshold() -> None:
    rng = np.random.default_rng(2)
    base = rng.bytes(32)
    with FingerprintIndex() as index:
        index.add_many((i, code_fp(rng.bytes(32))) for i in range(1, 301))
        index.add(1000, code_fp(flip(base, [3, 70, 200])))  # 3 bits away
        index.add(1001, code_fp(flip(base, list(range(0, 160, 4)))))  # 40 bits away
        index.add(1002, code_fp(flip(base, list(range(0, 256, 3)))))  # 86 bits: beyond the radius
        matches = index.query(code_fp(base))
        assert [m.dataset_id for m in matches] == [1000, 1001]
        assert matches[0] == Match(1000, 1 - 3 / 256)
        assert index.check_novelty(code_fp(base)) == Match(1000, 1 - 3 / 256)
        index.remove(1000)
        assert index.check_novelty(code_fp(base)) == Match(1001, 1 - 40 / 256)
        index.remove(1001)
        assert index.check_novelty(code_fp(base)) is None
        assert index.query(code_fp(base), k=0) == []


def test_query_returns_every_code_within_the_radius() -> None:
    rng = np.random.default_rng(4)
    query = rng.bytes(32)
    stored: dict[int, bytes] = {}
    for i in range(400):
        distance = int(rng.integers(0, 100))
        stored[i] = flip(query, rng.choice(NBITS, size=distance, replace=False).tolist())
    with FingerprintIndex(hamming_radius=48) as index:
        index.add_many((i, code_fp(c)) for i, c in stored.items())
        expected = {i for i, c in stored.items() if hamming(c, query) <= 48}
        assert set(index.candidates(code_fp(query))) == expected
        got = index.query(code_fp(query), k=len(stored))
        assert {m.dataset_id for m in got} == expected
        assert [m.similarity for m in got] == sorted((m.similarity for m in got), reverse=True)


@pytest.fixture(scope="module")
def large_index() -> Iterator[tuple[FingerprintIndex, np.ndarray]]:
    """60,000 random codes plus 2,000 planted within 0-48 bits of 40 centres: large enough for the cost
    model to choose multi-index hashing over a linear scan."""
    rng = np.random.default_rng(21)
    codes = rng.integers(0, 256, (62_000, 32), dtype=np.uint8)
    bits = np.unpackbits(codes[:40], axis=1)
    for i in range(60_000, 62_000):
        near = bits[i % 40].copy()
        near[rng.choice(NBITS, size=int(rng.integers(0, 49)), replace=False)] ^= 1
        codes[i] = np.packbits(near)
    index = FingerprintIndex(hamming_radius=32)
    index.add_many((i, code_fp(codes[i].tobytes())) for i in range(len(codes)))
    yield index, codes
    index.close()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 61_999), st.integers(0, 40), st.integers(0, 2**32 - 1))
def test_query_returns_every_stored_code_within_the_radius_at_scale(
    large_index: tuple[FingerprintIndex, np.ndarray], source: int, bits: int, seed: int
) -> None:
    index, codes = large_index
    rng = np.random.default_rng(seed)
    query = flip(codes[source].tobytes(), rng.choice(NBITS, size=bits, replace=False).tolist())
    q = np.frombuffer(query, dtype=np.uint8)
    distances = np.unpackbits(codes ^ q, axis=1).sum(axis=1)
    assert index.candidates(code_fp(query)) == np.flatnonzero(distances <= 32).tolist()
    assert index._buckets[CODE.name]._index.plan.substrings > 0  # type: ignore[attr-defined]  # MIH, not a scan


def test_method_without_hooks_is_scanned() -> None:
    with FingerprintIndex() as index:
        index.add(1, Fingerprint("text", "test-scan", b"abcdef"))
        index.add(2, Fingerprint("text", "test-scan", b"abcxyz"))
        index.add(3, Fingerprint("text", "test-scan", b"zzzzzz"))
        assert index.candidates(Fingerprint("text", "test-scan", b"abcdeq")) == [1, 2, 3]
        assert index.query(Fingerprint("text", "test-scan", b"abcdeq")) == [Match(1, 5 / 6), Match(2, 0.5)]


def test_image_method_without_code_falls_back_to_images_image_code(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Fingerprint] = []

    def image_code(fp: Fingerprint) -> bytes:
        calls.append(fp)
        return fp.payload

    fake = types.ModuleType("datagora.fingerprint.images")
    fake.image_code = image_code  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datagora.fingerprint.images", fake)
    code = bytes(range(32))
    with FingerprintIndex() as index:
        index.add(1, code_fp(code, "test-image-nohook"))
        assert index.check_novelty(code_fp(flip(code, [1, 2]), "test-image-nohook")) == Match(1, 1 - 2 / 256)
    assert len(calls) == 3  # the probe deciding the bucket, the add, the query


def test_image_code_fallback_is_skipped_for_methods_without_a_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def image_code(fp: Fingerprint) -> bytes:
        raise ValidationError(f"{fp.method} fingerprints carry no 256-bit PDQ code")

    fake = types.ModuleType("datagora.fingerprint.images")
    fake.image_code = image_code  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datagora.fingerprint.images", fake)
    code = bytes(range(32))
    with FingerprintIndex() as index:
        index.add(1, code_fp(code, "test-image-nohook"))  # indexed for a linear scan instead
        assert index.check_novelty(code_fp(flip(code, [7]), "test-image-nohook")) == Match(1, 1 - 1 / 256)


def test_query_codes_hook_probes_every_variant() -> None:
    rng = np.random.default_rng(12)
    stored = rng.bytes(32)
    with FingerprintIndex() as index:
        index.add_many((i, code_fp(rng.bytes(32), "test-variants")) for i in range(2, 200))
        index.add(1, code_fp(stored, "test-variants"))
        mirrored = flip(stored[::-1], [9, 99])  # far from the stored code, 2 bits from its variant
        assert hamming(mirrored, stored) > 64
        assert index.check_novelty(code_fp(mirrored, "test-variants")) == Match(1, 1 - 2 / 256)


def test_rejected_fingerprints_are_not_stored(table_fps: dict[str, Fingerprint]) -> None:
    with FingerprintIndex() as index:
        index.add(1, table_fps["iris"])
        with pytest.raises(ValidationError, match="already has a fingerprint"):
            index.add(1, table_fps["wine"])
        with pytest.raises(ValidationError, match="unknown fingerprint method"):
            index.add(2, Fingerprint("table", "no-such-method", b""))
        with pytest.raises(ValidationError):
            index.add(2, Fingerprint("text", "minhash-rows", table_fps["wine"].payload))  # kind mismatch
        with pytest.raises(ValidationError):
            index.add(2, code_fp(b"\x00" * 31))
        with pytest.raises(NotFoundError):
            index.get(2)
        assert len(index) == 1 and index.get(1) == table_fps["iris"]


def test_add_many_is_all_or_nothing(tmp_path: Path, table_fps: dict[str, Fingerprint]) -> None:
    path = tmp_path / "fp.db"
    with FingerprintIndex.open(path) as index:
        index.add(1, table_fps["iris"])
        batch = [(2, table_fps["wine"]), (3, table_fps["diabetes"]), (4, code_fp(b"short"))]
        with pytest.raises(ValidationError):
            index.add_many(batch)  # the third one is rejected inside the transaction
        assert len(index) == 1 and 2 not in index
        assert index.check_novelty(table_fps["wine"]) is None  # memory untouched too
        with pytest.raises(ValidationError):
            index.add_many([(5, table_fps["wine"]), (5, table_fps["diabetes"])])
        assert index.add_many(batch[:2]) == 2
        assert index.check_novelty(table_fps["wine"]) == Match(2, 1.0)
    rows = sqlite3.connect(path).execute("SELECT dataset_id FROM fingerprints ORDER BY dataset_id").fetchall()
    assert rows == [(1,), (2,), (3,)]


# --------------------------------------------------------------------------------------------------------------
# Persistence and crashes


def test_persists_across_reopen(tmp_path: Path, table_fps: dict[str, Fingerprint]) -> None:
    path = tmp_path / "fp.db"
    rng = np.random.default_rng(6)
    codes = {i: rng.bytes(32) for i in range(10, 60)}
    with FingerprintIndex.open(path) as index:
        index.add(1, table_fps["breast_cancer"])
        index.add(2, table_fps["wine"])
        index.add(3, WORDS.compute_text(CORPUS["zen"]))
        index.add_many((i, code_fp(c)) for i, c in codes.items())
        index.remove(2)
        before = index.query(table_fps["bc-subset"]), index.query(code_fp(flip(codes[33], [5])))
    with FingerprintIndex.open(path) as index:
        assert len(index) == 2 + len(codes) and 2 not in index
        assert (index.query(table_fps["bc-subset"]), index.query(code_fp(flip(codes[33], [5])))) == before
        assert index.check_novelty(WORDS.compute_text(lightly_edited(CORPUS["zen"], 2))) is not None
        assert index.get(3) == WORDS.compute_text(CORPUS["zen"])


def test_not_an_index_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ValidationError, match="not a fingerprint index"):
        FingerprintIndex.open(junk)


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from datagora.fingerprint.base import Fingerprint
    from datagora.fingerprint.index import FingerprintIndex
    import datagora.fingerprint.text

    fps = [Fingerprint.from_bytes(bytes.fromhex(h)) for h in sys.argv[2].split(",")]
    index = FingerprintIndex.open(sys.argv[1])
    index.add(1, fps[0])
    index.add(2, fps[1])

    def batch():
        yield 3, fps[2]
        yield 4, fps[3]
        os.kill(os.getpid(), signal.SIGKILL)  # dies inside the transaction, two rows inserted, not committed
        yield 5, fps[0]

    index.add_many(batch())
    """
)


def test_crash_inside_a_transaction_leaves_a_consistent_file(tmp_path: Path) -> None:
    path = tmp_path / "fp.db"
    names = ["iris", "wine", "zen", "diabetes"]
    fps = [WORDS.compute_text(CORPUS[n]) for n in names]
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(path), ",".join(fp.to_bytes().hex() for fp in fps)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with FingerprintIndex.open(path) as index:
        assert len(index) == 2 and 1 in index and 2 in index and 3 not in index
        assert index.check_novelty(fps[1]) == Match(2, 1.0)
        assert index.check_novelty(fps[2]) is None
        index.add(3, fps[2])  # the id the crash did not commit is free
    with FingerprintIndex.open(path) as index:
        assert len(index) == 3


def test_concurrent_adds_from_threads() -> None:
    rng = np.random.default_rng(8)
    codes = [rng.bytes(32) for _ in range(200)]
    with FingerprintIndex() as index:

        def worker(start: int) -> None:
            for i in range(start, 200, 4):
                index.add(i, code_fp(codes[i]))
                index.query(code_fp(codes[i]), k=1)

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(index) == 200
        assert all(index.check_novelty(code_fp(c)) == Match(i, 1.0) for i, c in enumerate(codes))


# --------------------------------------------------------------------------------------------------------------
# Multi-index hashing and the key index against brute force


def test_substring_radii_cover_the_radius() -> None:
    for m in range(1, 40):
        for r in range(0, 100):
            radii = substring_radii(r, m)
            assert len(radii) == m and sum(x + 1 for x in radii) == r + 1


def test_plan_is_linear_when_small_and_multi_index_when_large() -> None:
    assert plan_mih(256, 64, 500).substrings == 0
    big = plan_mih(256, 32, 1_000_000)
    assert 10 <= big.substrings <= 16
    assert sum(length for _, length in big.spans) == 256
    assert plan_mih(256, 64, 1_000_000).substrings >= 12
    with pytest.raises(ValueError):
        plan_mih(256, 64, 10, substrings=4)  # 64-bit substrings: tables too large


@st.composite
def hamming_cases(draw: st.DrawFn) -> tuple[int, int, int, list[bytes], bytes, list[int]]:
    nbits = draw(st.sampled_from([64, 96, 128, 256]))
    m = draw(st.integers(-(-nbits // 16), min(nbits // 2, 32)))
    radius = draw(st.integers(0, min(nbits // 2, 4 * m + m - 1)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    query = rng.bytes(nbits // 8)
    codes = []
    for _ in range(draw(st.integers(1, 120))):
        if rng.random() < 0.5:
            codes.append(rng.bytes(nbits // 8))
        else:
            d = int(rng.integers(0, radius + 6))
            codes.append(flip(query, rng.choice(nbits, size=min(d, nbits), replace=False).tolist()))
    removed = draw(st.lists(st.integers(0, len(codes) - 1), max_size=10, unique=True))
    return nbits, m, radius, codes, query, removed


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hamming_cases(), st.booleans())
def test_multi_index_hashing_finds_exactly_the_codes_within_the_radius(
    case: tuple[int, int, int, list[bytes], bytes, list[int]], build_between: bool
) -> None:
    nbits, m, radius, codes, query, removed = case
    index = HammingIndex(nbits, radius, substrings=m)
    half = len(codes) // 2
    index.add_many(np.arange(half), np.frombuffer(b"".join(codes[:half]), np.uint8).reshape(half, nbits // 8))
    if build_between:
        index.build()  # the first half in the tables, the second in the scanned tail
    for i in range(half, len(codes)):
        index.add(i, codes[i])
    for i in removed:
        index.remove(i)
    if not build_between:
        index.build()
    assert index.plan.substrings == m
    for r in sorted({radius, radius // 2}):
        expected = sorted(
            (hamming(c, query), i) for i, c in enumerate(codes) if i not in removed and hamming(c, query) <= r
        )
        assert index.search(query, r) == [(i, d) for d, i in expected]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sets(st.integers(0, 300), max_size=30), min_size=1, max_size=60),
    st.sets(st.integers(0, 300), max_size=30),
    st.lists(st.integers(0, 59), max_size=10),
    st.booleans(),
)
def test_key_index_finds_exactly_the_sets_sharing_a_key(
    stored: list[set[int]], query: set[int], removed: list[int], build: bool
) -> None:
    index = KeyIndex()
    for i, keys in enumerate(stored):
        index.add(i, sorted(keys))
        if build and i == len(stored) // 2:
            index.build()
    gone = {i for i in removed if i < len(stored)}
    for i in gone:
        index.remove(i)
    expected = {i: len(keys & query) for i, keys in enumerate(stored) if i not in gone and keys & query}
    assert index.search(sorted(query)) == expected
    assert len(index) == len(stored) - len(gone)


def test_hamming_index_rejects_bad_input() -> None:
    index = HammingIndex(64, 8)
    index.add(1, bytes(8))
    with pytest.raises(ValueError):
        index.add(1, bytes(8))
    with pytest.raises(ValueError):
        index.add(2, bytes(7))
    with pytest.raises(ValueError):
        index.search(bytes(8), radius=9)
    with pytest.raises(KeyError):
        index.remove(3)
    assert index.search(bytes(8)) == [(1, 0)] and 1 in index and len(index) == 1
