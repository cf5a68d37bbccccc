"""The platform's fingerprint index: the fingerprint column of the "data-contract" table (Wu et al. section
III.A, steps (4)-(8): a new dataset goes on the market only if no stored fingerprint matches it; step (9-2):
search by sample returns the datasets most similar to a buyer's sample).

:class:`FingerprintIndex` keeps ``(dataset_id, kind, method, fingerprint)`` rows in one SQLite file and, in
memory, a search structure per fingerprint method, rebuilt from the rows on :meth:`FingerprintIndex.open`.
Similarities are computed with the method's own ``similarity`` on *candidates* only; candidates come from
the first of these optional hooks the method defines:

* ``code(fp) -> bytes`` (:class:`CodedMethod`): a fixed-length binary code (e.g. a 256-bit PDQ hash) whose
  Hamming distance bounds the similarity. Candidates are the stored fingerprints whose code is within the
  method's ``code_radius`` bits (optional attribute; the index's ``hamming_radius``, 64, by default; a method's
  ``exhaustive_below: int`` makes every stored fingerprint a candidate while there are at most that many), found
  exactly by multi-index hashing (:class:`HammingIndex`). The method promises that two fingerprints whose
  codes are farther apart than that radius have a similarity below ``threshold``. Image methods without
  ``code`` fall back to ``datagora.fingerprint.images.image_code(fp)`` (and ``image_codes(fp)`` to probe
  with, see ``query_codes``) when that module provides them.
* ``keys(fp) -> array of uint64`` (:class:`KeyedMethod`): candidate keys, e.g. the bottom-k sample of a
  :class:`~datagora.fingerprint.tables.SetSketch`. Candidates are the stored fingerprints sharing at least one
  key (:class:`KeyIndex`, an inverted index). The method promises that fingerprints sharing no key have a
  similarity of (almost surely) 0.
* neither: every stored fingerprint of the method is a candidate (a linear scan).

Writes are transactional: a row is in the SQLite file only once its transaction commits, and the memory
structures change only after the commit, so a crash or an exception mid-write never leaves a half-added
row. One process owns an index file at a time (the memory structures do not see another process's writes).
"""

from __future__ import annotations

import importlib
import itertools
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt

from datagora.domain.errors import NotFoundError, ValidationError
from datagora.fingerprint.base import Fingerprint, Method, get_method

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

DEFAULT_RADIUS: Final = 64
"""Default candidate radius in bits for :class:`CodedMethod` codes (a quarter of a 256-bit code)."""
SCHEMA_VERSION: Final = 1


@runtime_checkable
class CodedMethod(Protocol):
    """Optional hook of a :class:`~datagora.fingerprint.base.Method`: ``code(fp)`` returns the fingerprint's
    binary code (the same length, in bytes, for every fingerprint of the method; a PDQ hash is 32 bytes) and
    the index finds candidates within a Hamming radius of it. A method may also set ``code_radius: int``, the
    largest Hamming distance at which two of its fingerprints can reach ``threshold``, and define
    ``query_codes(fp) -> Sequence[bytes]``, the codes to probe with when ``fp`` is a query (e.g. a PDQ code
    and its 7 dihedral variants, so rotated or mirrored copies are found); by default ``[code(fp)]``."""

    def code(self, fp: Fingerprint) -> bytes: ...


@runtime_checkable
class KeyedMethod(Protocol):
    """Optional hook of a :class:`~datagora.fingerprint.base.Method`: ``keys(fp)`` returns 64-bit candidate
    keys; two fingerprints with a similarity above 0 share at least one key."""

    def keys(self, fp: Fingerprint) -> U64 | Sequence[int]: ...


@dataclass(frozen=True, order=True)
class Match:
    """A stored dataset and its similarity in [0, 1] to the queried fingerprint."""

    dataset_id: int
    similarity: float


# --------------------------------------------------------------------------------------------------------------
# Multi-index hashing over binary codes


def _ball_volume(bits: int, radius: int) -> int:
    return sum(math.comb(bits, j) for j in range(min(bits, radius) + 1))


_MASKS: dict[tuple[int, int], U64] = {}


def _flip_masks(bits: int, radius: int) -> U64:
    """Every ``bits``-bit mask with at most ``radius`` ones (cached)."""
    key = (bits, radius)
    if key not in _MASKS:
        masks = [0]
        for r in range(1, min(bits, radius) + 1):
            masks.extend(sum(1 << i for i in combo) for combo in itertools.combinations(range(bits), r))
        _MASKS[key] = np.array(masks, dtype=np.uint64)
    return _MASKS[key]


def _to_words(codes: npt.NDArray[np.uint8], words: int) -> U64:
    """(n, nbytes) uint8 codes → (words, n) uint64, big-endian: bit 0 is the most significant bit of byte 0."""
    n, nbytes = codes.shape
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :nbytes] = codes
    return np.ascontiguousarray(padded.view(">u8").astype(np.uint64).T)


def _extract(words: U64, start: int, length: int) -> U64:
    """Bits ``[start, start + length)`` (length ≤ 64) of codes given as (words, n) uint64 rows."""
    w, off = divmod(start, 64)
    mask = np.uint64((1 << length) - 1)
    if off + length <= 64:
        return np.asarray((words[w] >> np.uint64(64 - off - length)) & mask, dtype=np.uint64)
    hi_len = 64 - off
    lo_len = length - hi_len
    hi = (words[w] & np.uint64((1 << hi_len) - 1)) << np.uint64(lo_len)
    return np.asarray(hi | (words[w + 1] >> np.uint64(64 - lo_len)), dtype=np.uint64)


@dataclass(frozen=True)
class MihPlan:
    """A multi-index hashing layout: the code is cut into ``len(spans)`` substrings ``(start, length)``,
    probed within :func:`substring_radii` bits; no spans means a linear scan. ``cost`` is the model's
    estimated query time in seconds."""

    spans: tuple[tuple[int, int], ...]
    cost: float

    @property
    def substrings(self) -> int:
        return len(self.spans)


def substring_radii(radius: int, m: int) -> list[int]:
    """Per-substring search radii guaranteeing every code within ``radius`` bits is found (Norouzi et al.
    2012, section 3): with ``radius = m·q + a`` (0 ≤ a < m), two codes within ``radius`` agree within ``q``
    bits on one of the first ``a + 1`` substrings or within ``q - 1`` bits on one of the others (else they
    would differ in at least ``(a+1)(q+1) + (m-a-1)q = radius + 1`` bits). -1 means "not probed"."""
    q, a = divmod(radius, m)
    return [q if i <= a else q - 1 for i in range(m)]


# Cost model (seconds), measured with numpy 2 on one core: per probed bucket, per candidate checked, per
# table visited, per code of a linear scan (per 64-bit word).
_COST_PROBE, _COST_CANDIDATE, _COST_TABLE, _COST_SCAN_WORD = 1e-8, 6e-8, 3e-5, 2.6e-9
_MAX_TABLE_BITS = 24
_MAX_PROBES = 1 << 18


def plan_mih(nbits: int, radius: int, n: int, substrings: int | None = None) -> MihPlan:
    """The cheapest exact layout for ``n`` random codes of ``nbits`` bits searched within ``radius`` bits.

    Multi-index hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index hashing",
    CVPR 2012): cut the code into ``m`` disjoint substrings and index each in its own table; probing the
    tables within :func:`substring_radii` finds every code within ``radius`` exactly. ``substrings`` forces
    ``m`` (0: a linear scan); otherwise ``m`` minimises the cost model, and a linear scan wins for small
    ``n``. A table has at most ``2 · n`` buckets (rounded up to a power of two) and never more than ``2**24``."""
    linear = MihPlan((), _COST_SCAN_WORD * n * math.ceil(nbits / 64) + _COST_TABLE)
    table_bits = min(_MAX_TABLE_BITS, max(8, math.ceil(math.log2(max(n, 1))) + 1))
    choices = [substrings] if substrings is not None else range(math.ceil(nbits / table_bits), nbits + 1)
    best = linear
    for m in choices:
        if m == 0:
            return linear
        if not 1 <= m <= nbits:
            raise ValueError(f"substrings must be in [0, {nbits}]")
        base, extra = divmod(nbits, m)
        lengths = [base + 1] * extra + [base] * (m - extra)
        radii = substring_radii(radius, m)
        probes = sum(_ball_volume(b, r) for b, r in zip(lengths, radii, strict=True) if r >= 0)
        if max(lengths) > _MAX_TABLE_BITS or probes > _MAX_PROBES * m:
            if substrings is not None:
                raise ValueError(f"{m} substrings of {nbits} bits need too large tables for radius {radius}")
            continue
        candidates = n * sum(_ball_volume(b, r) / 2.0**b for b, r in zip(lengths, radii, strict=True) if r >= 0)
        cost = _COST_PROBE * probes + _COST_CANDIDATE * candidates + _COST_TABLE * m
        starts = itertools.accumulate([0, *lengths[:-1]])
        plan = MihPlan(tuple(zip(starts, lengths, strict=True)), cost)
        if substrings is not None:
            return plan
        if cost < best.cost:
            best = plan
    return best


class HammingIndex:
    """Exact radius search over fixed-length binary codes by multi-index hashing (:func:`plan_mih`).

    ``add``/``add_many`` append codes to a tail that is scanned linearly; :meth:`build` (run automatically
    by :meth:`search` once the tail outgrows an eighth of the index) re-plans the layout for the current size
    and rebuilds the substring tables: for each substring, the slots sorted by substring value and a direct
    address table of bucket offsets (``2**bits`` entries). Removed codes are tombstoned and dropped at the
    next build. Memory: ``nbytes`` per code plus, per table, 4 bytes per code and ``4 · 2**bits`` bytes.
    ``radius`` is the largest radius :meth:`search` accepts; ``substrings`` forces the layout (tests)."""

    def __init__(self, nbits: int, radius: int, *, substrings: int | None = None) -> None:
        if nbits <= 0 or not 0 <= radius <= nbits:
            raise ValueError("need nbits > 0 and 0 <= radius <= nbits")
        self.nbits = nbits
        self.nbytes = (nbits + 7) // 8
        self.radius = radius
        self._force = substrings
        self._words = (self.nbytes + 7) // 8
        self._codes: U64 = np.zeros((self._words, 0), dtype=np.uint64)
        self._keys: I64 = np.zeros(0, dtype=np.int64)
        self._alive: npt.NDArray[np.bool_] = np.zeros(0, dtype=np.bool_)
        self._n = 0  # used slots
        self._built = 0  # slots [0, _built) are in the tables
        self._slot: dict[int, int] = {}
        self._plan = MihPlan((), 0.0)
        self._tables: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]] = []

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    @property
    def plan(self) -> MihPlan:
        """The layout of the current tables (``substrings == 0``: no tables, linear scan)."""
        return self._plan

    def add(self, key: int, code: bytes) -> None:
        """Store ``code`` (``nbytes`` bytes) under ``key``. ``ValueError`` for a duplicate key or a bad length."""
        self.add_many(np.array([key], dtype=np.int64), self._as_codes([code]))

    def add_many(self, keys: I64 | Sequence[int], codes: npt.NDArray[np.uint8]) -> None:
        """Store ``codes`` ((n, nbytes) uint8) under ``keys`` (distinct, not yet stored)."""
        keys = np.asarray(keys, dtype=np.int64)
        if codes.ndim != 2 or codes.shape != (len(keys), self.nbytes):
            raise ValueError(f"codes must be an array of shape ({len(keys)}, {self.nbytes})")
        if len(set(keys.tolist())) != len(keys) or any(k in self._slot for k in keys.tolist()):
            raise ValueError("duplicate key")
        self._reserve(self._n + len(keys))
        lo, hi = self._n, self._n + len(keys)
        self._codes[:, lo:hi] = _to_words(codes, self._words)
        self._keys[lo:hi] = keys
        self._alive[lo:hi] = True
        self._slot.update(zip(keys.tolist(), range(lo, hi), strict=True))
        self._n = hi

    def remove(self, key: int) -> None:
        """Forget ``key``; ``KeyError`` when it is not stored."""
        slot = self._slot.pop(key)
        self._alive[slot] = False

    def build(self) -> None:
        """Drop tombstones, re-plan for the current size and rebuild every substring table."""
        live = np.flatnonzero(self._alive[: self._n])
        n = len(live)
        self._codes = np.ascontiguousarray(self._codes[:, live])
        self._keys = self._keys[live]
        self._alive = np.ones(n, dtype=np.bool_)
        self._slot = dict(zip(self._keys.tolist(), range(n), strict=True))
        self._n = self._built = n
        self._plan = plan_mih(self.nbits, self.radius, n, self._force)
        self._tables = []
        for start, length in self._plan.spans:
            sub = _extract(self._codes, start, length).astype(np.int64)
            order = np.argsort(sub, kind="stable").astype(np.int32)
            counts = np.bincount(sub, minlength=1 << length)
            offsets = np.zeros((1 << length) + 1, dtype=np.int32)
            np.cumsum(counts, out=offsets[1:])
            self._tables.append((order, offsets))

    def search(self, code: bytes, radius: int | None = None) -> list[tuple[int, int]]:
        """Every stored ``(key, distance)`` with a Hamming distance ≤ ``radius`` (default: the index's) to
        ``code``, nearest first (ties by key). Exact: no code within the radius is ever missed."""
        r = self.radius if radius is None else radius
        if not 0 <= r <= self.radius:
            raise ValueError(f"radius must be in [0, {self.radius}]")
        if self._n - self._built > max(1024, self._built // 8) or self._n - len(self._slot) > self._n // 2 + 1024:
            self.build()
        q = _to_words(self._as_codes([code]), self._words)[:, 0]
        parts = [self._table_candidates(q, r)] if self._tables else [np.arange(self._built, dtype=np.int64)]
        parts.append(np.arange(self._built, self._n, dtype=np.int64))
        slots = np.concatenate(parts)
        if len(slots) == 0:
            return []
        dist = np.zeros(len(slots), dtype=np.int64)
        for j in range(self._words):
            dist += np.bitwise_count(self._codes[j, slots] ^ q[j])
        hit = (dist <= r) & self._alive[slots]
        slots, dist = slots[hit], dist[hit]
        slots, first = np.unique(slots, return_index=True)
        found = sorted(zip(dist[first].tolist(), self._keys[slots].tolist(), strict=True))
        return [(key, d) for d, key in found]

    def _table_candidates(self, q: U64, r: int) -> I64:
        radii = substring_radii(r, self._plan.substrings)
        chunks: list[I64] = []
        for (start, length), (order, offsets), rho in zip(self._plan.spans, self._tables, radii, strict=True):
            if rho < 0:
                continue
            qsub = _extract(q[:, None], start, length)[0]
            probes = (_flip_masks(length, rho) ^ qsub).astype(np.int64)
            lo = offsets[probes].astype(np.int64)
            lens = offsets[probes + 1] - lo
            keep = lens > 0
            lo, lens = lo[keep], lens[keep]
            if len(lo) == 0:
                continue
            ends = np.cumsum(lens)
            idx = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - lens - lo, lens)
            chunks.append(order[idx].astype(np.int64))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)

    def _as_codes(self, codes: Sequence[bytes]) -> npt.NDArray[np.uint8]:
        for c in codes:
            if len(c) != self.nbytes:
                raise ValueError(f"code of {len(c)} bytes, expected {self.nbytes}")
        return np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), self.nbytes)

    def _reserve(self, size: int) -> None:
        cap = self._codes.shape[1]
        if size <= cap:
            return
        cap = max(size, 2 * cap, 1024)
        codes = np.zeros((self._words, cap), dtype=np.uint64)
        codes[:, : self._n] = self._codes[:, : self._n]
        keys = np.zeros(cap, dtype=np.int64)
        keys[: self._n] = self._keys[: self._n]
        alive = np.zeros(cap, dtype=np.bool_)
        alive[: self._n] = self._alive[: self._n]
        self._codes, self._keys, self._alive = codes, keys, alive


# --------------------------------------------------------------------------------------------------------------
# Inverted index over 64-bit candidate keys


class KeyIndex:
    """Inverted index from 64-bit candidate keys to stored ids: :meth:`search` returns the ids sharing at
    least one key with the query, with the number of keys shared. Recent additions sit in a dictionary that
    is merged into sorted arrays (``searchsorted`` lookups, 12 bytes per key) once it outgrows an eighth of
    them; removals are tombstoned and dropped at the merge."""

    def __init__(self) -> None:
        self._values: U64 = np.zeros(0, dtype=np.uint64)
        self._owners: I64 = np.zeros(0, dtype=np.int64)
        self._tail: dict[int, list[int]] = {}
        self._tail_size = 0
        self._keys: dict[int, U64] = {}  # id → its keys (needed to merge and to rebuild)
        self._dead: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, ident: int, keys: U64 | Sequence[int]) -> None:
        """Index ``ident`` under ``keys``. ``ValueError`` if ``ident`` is already stored."""
        if ident in self._keys:
            raise ValueError("duplicate id")
        values = np.unique(np.asarray(keys, dtype=np.uint64))
        self._keys[ident] = values
        self._dead.discard(ident)
        for v in values.tolist():
            self._tail.setdefault(v, []).append(ident)
        self._tail_size += len(values)
        if self._tail_size > max(4096, len(self._values) // 8):
            self.build()

    def remove(self, ident: int) -> None:
        """Forget ``ident``; ``KeyError`` when it is not stored."""
        del self._keys[ident]
        self._dead.add(ident)
        if len(self._dead) > max(64, len(self._keys) // 4):
            self.build()

    def build(self) -> None:
        """Merge the dictionary and drop removed ids: everything in sorted arrays."""
        if self._keys:
            values = np.concatenate(list(self._keys.values()))
            owners = np.repeat(np.fromiter(self._keys, dtype=np.int64), [len(v) for v in self._keys.values()])
        else:
            values, owners = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        order = np.argsort(values, kind="stable")
        self._values, self._owners = values[order], owners[order]
        self._tail, self._tail_size, self._dead = {}, 0, set()

    def search(self, keys: U64 | Sequence[int]) -> dict[int, int]:
        """Stored id → number of ``keys`` it shares, for every stored id sharing at least one."""
        q = np.unique(np.asarray(keys, dtype=np.uint64))
        shared: dict[int, int] = {}
        if len(self._values) and len(q):
            lo = np.searchsorted(self._values, q, side="left")
            hi = np.searchsorted(self._values, q, side="right")
            lens = hi - lo
            if lens.sum():
                ends = np.cumsum(lens)
                idx = np.arange(int(ends[-1])) - np.repeat(ends - lens - lo, lens)
                owners, counts = np.unique(self._owners[idx], return_counts=True)
                shared = dict(zip(owners.tolist(), counts.tolist(), strict=True))
        for v in q.tolist():
            for ident in self._tail.get(v, ()):
                shared[ident] = shared.get(ident, 0) + 1
        return {i: c for i, c in shared.items() if i in self._keys}


# --------------------------------------------------------------------------------------------------------------
# Per-method buckets


class _Bucket(Protocol):
    def prepare(self, fp: Fingerprint) -> object: ...

    def insert(self, items: list[tuple[int, object]]) -> None: ...

    def remove(self, dataset_id: int) -> None: ...

    def candidates(self, fp: Fingerprint) -> list[int]: ...


class _CodeBucket:
    def __init__(
        self,
        code: Callable[[Fingerprint], bytes],
        radius: int,
        query_codes: Callable[[Fingerprint], Sequence[bytes]] | None = None,
        exhaustive_below: int = 0,
    ) -> None:
        self._code = code
        self._query_codes = query_codes
        self._radius = radius
        self._exhaustive_below = exhaustive_below
        self._ids: set[int] = set()
        self._nbytes: int | None = None
        self._index: HammingIndex | None = None

    def prepare(self, fp: Fingerprint) -> object:
        code = bytes(self._code(fp))
        if not code:
            raise ValidationError("empty fingerprint code")
        if self._nbytes is None:
            self._nbytes = len(code)
        elif len(code) != self._nbytes:
            raise ValidationError(f"fingerprint code of {len(code)} bytes, expected {self._nbytes}")
        return code

    def insert(self, items: list[tuple[int, object]]) -> None:
        codes = [c for _, c in items if isinstance(c, bytes)]
        if self._index is None:
            nbits = 8 * len(codes[0])
            self._index = HammingIndex(nbits, min(self._radius, nbits))
        arr = np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), self._index.nbytes)
        self._index.add_many(np.array([i for i, _ in items], dtype=np.int64), arr)
        self._ids.update(i for i, _ in items)

    def remove(self, dataset_id: int) -> None:
        if self._index is not None:
            self._index.remove(dataset_id)
        self._ids.discard(dataset_id)

    def candidates(self, fp: Fingerprint) -> list[int]:
        if self._index is None or len(self._index) == 0:
            return []
        if len(self._ids) <= self._exhaustive_below:
            # The code (a global hash) misses crops, which only the method's full similarity catches: while the
            # bucket is small enough, every stored fingerprint is a candidate (the method's ``exhaustive_below``).
            return sorted(self._ids)
        codes = [bytes(c) for c in self._query_codes(fp)] if self._query_codes else [bytes(self._code(fp))]
        if any(len(c) != self._index.nbytes for c in codes):
            raise ValidationError(f"fingerprint code of the wrong length, expected {self._index.nbytes} bytes")
        found: set[int] = set()
        for c in codes:
            found.update(key for key, _ in self._index.search(c))
        return sorted(found)


class _KeyBucket:
    def __init__(self, keys: Callable[[Fingerprint], U64 | Sequence[int]]) -> None:
        self._keys = keys
        self._index = KeyIndex()

    def prepare(self, fp: Fingerprint) -> object:
        return np.asarray(self._keys(fp), dtype=np.uint64)

    def insert(self, items: list[tuple[int, object]]) -> None:
        for ident, keys in items:
            assert isinstance(keys, np.ndarray)
            self._index.add(ident, keys)

    def remove(self, dataset_id: int) -> None:
        self._index.remove(dataset_id)

    def candidates(self, fp: Fingerprint) -> list[int]:
        keys = self.prepare(fp)
        assert isinstance(keys, np.ndarray)
        return sorted(self._index.search(keys))


class _ScanBucket:
    def __init__(self) -> None:
        self._ids: set[int] = set()

    def prepare(self, fp: Fingerprint) -> object:
        return None

    def insert(self, items: list[tuple[int, object]]) -> None:
        self._ids.update(i for i, _ in items)

    def remove(self, dataset_id: int) -> None:
        self._ids.discard(dataset_id)

    def candidates(self, fp: Fingerprint) -> list[int]:
        return sorted(self._ids)


def _code_hooks(
    method: Method, fp: Fingerprint
) -> tuple[Callable[[Fingerprint], bytes], Callable[[Fingerprint], Sequence[bytes]] | None] | None:
    """``(code, query_codes)`` of a method: its own hooks, else, for an image method, ``image_code`` and
    ``image_codes`` of ``datagora.fingerprint.images`` if that module provides them and ``image_code``
    accepts ``fp`` (a fingerprint of the method); None when the method has no code."""
    if isinstance(method, CodedMethod):
        query_codes = getattr(method, "query_codes", None)
        return method.code, query_codes if callable(query_codes) else None
    if method.kind == "image":
        try:
            images: Any = importlib.import_module("datagora.fingerprint.images")
        except ImportError:
            return None
        code, codes = getattr(images, "image_code", None), getattr(images, "image_codes", None)
        if not callable(code):
            return None
        try:
            code(fp)
        except ValidationError:  # e.g. an image method whose fingerprints carry no PDQ code
            return None
        return code, codes if callable(codes) else None
    return None


# --------------------------------------------------------------------------------------------------------------
# The index


_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    dataset_id  INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'table', 'text')),
    method      TEXT NOT NULL,
    fingerprint BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class FingerprintIndex:
    """Fingerprints of the datasets on the market, persisted in the SQLite file ``path`` (``":memory:"`` for
    a throw-away index) and searchable by similarity (see the module docstring).

    ``hamming_radius`` is the candidate radius, in bits, for methods with a ``code`` hook and no
    ``code_radius`` of their own. Thread-safe (one lock); use as a context manager or call :meth:`close`.
    Raises ``ValidationError`` when the file is not a fingerprint index or holds a fingerprint of a method
    that is not registered."""

    def __init__(self, path: str | Path = ":memory:", *, hamming_radius: int = DEFAULT_RADIUS) -> None:
        self.path = str(path)
        self.hamming_radius = hamming_radius
        self._lock = threading.RLock()
        self._where: dict[int, str] = {}  # dataset_id → method
        self._buckets: dict[str, _Bucket] = {}
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise ValidationError(f"cannot open fingerprint index {self.path}: {exc}") from None
        try:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._conn:
                self._conn.executescript(_SCHEMA)
                self._conn.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            (version,) = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ValidationError(f"{self.path} is not a fingerprint index: {exc}") from None
        if version != str(SCHEMA_VERSION):
            self._conn.close()
            raise ValidationError(f"fingerprint index schema {version}, this version reads {SCHEMA_VERSION}")
        try:
            self._load()
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open(cls, path: str | Path, *, hamming_radius: int = DEFAULT_RADIUS) -> FingerprintIndex:
        """Open (or create) the index stored in ``path`` and rebuild its search structures from the rows."""
        return cls(path, hamming_radius=hamming_radius)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, dataset_id: object) -> bool:
        return dataset_id in self._where

    def add(self, dataset_id: int, fp: Fingerprint) -> None:
        """Store ``fp`` as the fingerprint of ``dataset_id``. ``ValidationError`` when the id already has one
        or ``fp`` is malformed; nothing is stored then."""
        self.add_many([(dataset_id, fp)])

    def add_many(self, items: Iterable[tuple[int, Fingerprint]]) -> int:
        """Store several fingerprints in one transaction: all of them, or none if any is rejected (or the
        process dies) before the commit. Returns how many were stored."""
        with self._lock:
            staged: dict[str, list[tuple[int, object]]] = {}
            seen: set[int] = set()
            with self._conn:  # BEGIN … COMMIT, or ROLLBACK on any exception
                for dataset_id, fp in items:
                    if dataset_id in self._where or dataset_id in seen:
                        raise ValidationError(f"dataset {dataset_id} already has a fingerprint in the index")
                    method = self._checked_method(fp)
                    entry = self._bucket(method, fp).prepare(fp)
                    self._conn.execute(
                        "INSERT INTO fingerprints (dataset_id, kind, method, fingerprint) VALUES (?, ?, ?, ?)",
                        (dataset_id, fp.kind, fp.method, fp.to_bytes()),
                    )
                    staged.setdefault(fp.method, []).append((dataset_id, entry))
                    seen.add(dataset_id)
            self._apply(staged)
            return len(seen)

    def remove(self, dataset_id: int) -> None:
        """Forget the fingerprint of ``dataset_id``; ``NotFoundError`` when there is none."""
        with self._lock:
            if dataset_id not in self._where:
                raise NotFoundError(f"dataset {dataset_id} has no fingerprint in the index")
            with self._conn:
                self._conn.execute("DELETE FROM fingerprints WHERE dataset_id = ?", (dataset_id,))
            self._buckets[self._where.pop(dataset_id)].remove(dataset_id)

    def get(self, dataset_id: int) -> Fingerprint:
        """The stored fingerprint of ``dataset_id``; ``NotFoundError`` when there is none."""
        found = self._fetch([dataset_id])
        if dataset_id not in found:
            raise NotFoundError(f"dataset {dataset_id} has no fingerprint in the index")
        return found[dataset_id]

    def candidates(self, fp: Fingerprint) -> list[int]:
        """The stored dataset ids whose similarity to ``fp`` :meth:`query` computes (same method only)."""
        method = self._checked_method(fp)
        with self._lock:
            bucket = self._buckets.get(method.name)
            return [] if bucket is None else bucket.candidates(fp)

    def query(self, fp: Fingerprint, k: int = 10, *, min_similarity: float = 0.0) -> list[Match]:
        """The ``k`` stored datasets most similar to ``fp`` (search by sample, step (9-2)), by the method's
        similarity computed on the candidates only; most similar first, ties by dataset id. Only
        fingerprints of the same method are compared; matches with similarity 0 or below ``min_similarity``
        are left out."""
        if k <= 0:
            return []
        method = self._checked_method(fp)
        ids = self.candidates(fp)
        scored = [
            Match(i, sim)
            for i, other in self._fetch(ids).items()
            if (sim := float(method.similarity(fp, other))) > 0.0 and sim >= min_similarity
        ]
        scored.sort(key=lambda m: (-m.similarity, m.dataset_id))
        return scored[:k]

    def check_novelty(self, fp: Fingerprint) -> Match | None:
        """The best stored match at or above the method's ``threshold`` (the dataset is then not new and the
        platform refuses the sale, step (5)), or ``None`` when the fingerprint is novel."""
        method = self._checked_method(fp)
        best = self.query(fp, k=1, min_similarity=method.threshold)
        return best[0] if best else None

    # ----------------------------------------------------------------------------------------------------------

    def _checked_method(self, fp: Fingerprint) -> Method:
        method = get_method(fp.method)
        if fp.kind != method.kind:
            raise ValidationError(f"{fp.method} fingerprint with kind {fp.kind!r}, expected {method.kind!r}")
        method.validate(fp)
        return method

    def _bucket(self, method: Method, fp: Fingerprint) -> _Bucket:
        """The method's bucket; the first fingerprint of a method decides which kind it is."""
        bucket = self._buckets.get(method.name)
        if bucket is None:
            hooks = _code_hooks(method, fp)
            if hooks is not None:
                radius = int(getattr(method, "code_radius", self.hamming_radius))
                exhaustive = int(getattr(method, "exhaustive_below", 0))
                bucket = _CodeBucket(hooks[0], radius, hooks[1], exhaustive)
            elif isinstance(method, KeyedMethod):
                bucket = _KeyBucket(method.keys)
            else:
                bucket = _ScanBucket()
            self._buckets[method.name] = bucket
        return bucket

    def _apply(self, staged: dict[str, list[tuple[int, object]]]) -> None:
        for name, items in staged.items():
            self._buckets[name].insert(items)
            self._where.update((i, name) for i, _ in items)

    def _fetch(self, ids: Sequence[int]) -> dict[int, Fingerprint]:
        found: dict[int, Fingerprint] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT dataset_id, fingerprint FROM fingerprints WHERE dataset_id IN ({marks})", chunk
                ).fetchall()
                found.update((i, Fingerprint.from_bytes(raw)) for i, raw in rows)
        return found

    def _load(self) -> None:
        # The methods' modules (numpy, SciPy, OpenCV, PyArrow ...) load on the first stored fingerprint's lookup
        # (``get_method``), not here: an empty index, e.g. a node that has not attested anything yet, stays light.
        staged: dict[str, list[tuple[int, object]]] = {}
        rows = self._conn.execute("SELECT dataset_id, kind, method, fingerprint FROM fingerprints ORDER BY dataset_id")
        for dataset_id, _kind, _method, raw in rows:
            fp = Fingerprint.from_bytes(raw)
            entry = self._bucket(self._checked_method(fp), fp).prepare(fp)
            staged.setdefault(fp.method, []).append((dataset_id, entry))
        self._apply(staged)
