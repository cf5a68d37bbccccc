"""Table fingerprints, method ``"minhash-rows"`` (Wu et al. section III.C applied to tables: a fingerprint that
survives minor modifications, so the platform's novelty check of steps (4)-(8) and the search by sample of
step (9-2) in section III.A also work for CSV and Parquet data).

A table is the *set* of its normalised rows. Each row is normalised so that cosmetic changes do not alter it:

* columns are put in a canonical order: sorted by normalised header name (ties keep the file's order), so a
  copy with reordered columns has the same rows; files without a header keep their column order;
* text cells are Unicode NFKC-normalised, trimmed, inner whitespace collapsed, lower-cased; empty cells and
  ``nan``/``na``/``n/a``/``null``/``none`` are the same null cell as a Parquet null;
* numbers are compared by value, whatever their type (writers drop it: pyarrow writes the float ``1001.0`` as
  ``1001``): numeric Arrow columns, and text cells that are integer or decimal literals (``17.99``,
  ``1e-3``). Integral values below 2**53 are kept exactly (identifiers, years, counts; ``5``, ``5.0`` and
  an int64 ``5`` are the same cell); integer literals of 16 digits or more are text. Other values are
  rounded to ``sig_digits`` significant digits (3 by default), half to even on the decimally scaled value
  as ``numpy.round`` and ``pandas.DataFrame.round`` do (values within float32 precision of a tie count as
  ties, so a float32 copy rounds alike), and an integral result is that integer: ``17.99``, ``18.0`` and
  ``18`` match, and so do a column and its float32 copy. A copy whose fractional values are rounded to
  ``sig_digits`` digits or more still matches, except where its rounding and the normaliser's fall on
  different sides of a boundary: a copy with one digit more crosses on about 5 % of cells, and a tie
  (``10.95`` to 3 digits) rounded by a tool with another tie rule (Python's ``round`` and ``format`` round
  the binary value, spreadsheets round half up) crosses too. Rounding an integral value (``1001`` to
  ``1000``), or to fewer digits, changes the row;

The row shingle is a 64-bit hash of the normalised cells in canonical order (header names are not part of
it). The fingerprint is a :class:`SetSketch` of the set of row shingles: a k-mins MinHash (datasketch
``MinHash``, 128 permutations; Broder 1997) for the Jaccard estimate, plus a bottom-k sample (the
``sample_size`` = 256 smallest distinct row hashes; Broder 1997's MIN_s sketch, Cohen & Kaplan 2007) for the
containment estimate, the set's cardinality (KMV estimator) and the index's candidate keys.

Why a bottom-k sample and not only MinHash + set size: estimating containment from a MinHash Jaccard estimate
and the two sizes, as LSH Ensemble's filter does (Zhu et al., VLDB 2016), amplifies the estimate's noise by
the size ratio: for 10 % subsets of the scikit-learn tables it falls below 0.9 for 15-45 % of the subsets with
128 or 256 permutations (``benchmarks/fingerprint_tables.py``), where the bottom-k estimate never does.
The coordinated bottom-k estimator counts how many of the smaller set's sampled rows are in the larger set
and is exact when no sampling happened. ``similarity(a, b) = max(Jaccard, containment of the smaller set in
the larger)``, in [0, 1]: both copies, subsets and supersets of a table score high.

Files are streamed: CSV through ``pyarrow.csv.open_csv`` in blocks, Parquet through
``ParquetFile.iter_batches``; memory is bounded by one batch (``BATCH_ROWS`` rows) whatever the file size.
"""

from __future__ import annotations

import csv
import hashlib
import struct
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from datasketch import LeanMinHash, MinHash

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, register
from datagora.fingerprint.detect import CsvDialect, detect_csv, detect_kind, is_parquet

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

NUM_PERM: Final = 128
"""Permutations of the k-mins MinHash (datasketch ``affine32`` scheme)."""
MINHASH_SEED: Final = 20_200_703
"""Seed of the MinHash permutations: every Datagora sketch uses the same permutations."""
SAMPLE_SIZE: Final = 256
"""Default k of the bottom-k sample (8 bytes per sampled element)."""
MIN_SAMPLE: Final = 8
"""Fewest sampled elements a containment estimate is made from (unless the sample holds the whole set)."""
SIG_DIGITS: Final = 3
"""Default significant digits numbers are rounded to."""
BATCH_ROWS: Final = 65_536
"""Rows per Parquet batch; CSV blocks are ``CSV_BLOCK_BYTES``."""
CSV_BLOCK_BYTES: Final = 4 << 20

_VERSION: Final = 1
_HEADER = struct.Struct("<BBHHQH")  # version, param, num_perm, sample_size, items, len(sample)
_MAX_U64: Final = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_NULL_WORDS = ["", "nan", "na", "n/a", "null", "none"]
_INT_RE = r"^[+-]?\d{1,15}$"  # 16 digits and more may not fit a float64 exactly: kept as text
_DECIMAL_RE = r"^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$"
_EXACT_INT = 2.0**53
_TIE_TOLERANCE = 4 * 2.0**-24  # relative: four float32 ulps

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SALT_INT, _SALT_EXP = np.uint64(0x6A09E667F3BCC908), np.uint64(0xBB67AE8584CAA73B)
_NULL_HASH = np.uint64(0x3C6EF372FE94F82B)
_ROW_SEED = np.uint64(0xA54FF53A5F1D36F1)


def mix64(x: U64) -> U64:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014), element-wise with wrap-around: a bijection of
    uint64 that spreads every input bit over the output."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_strings(values: Sequence[str], domain: bytes = b"s") -> U64:
    """64-bit BLAKE2b of each string's UTF-8 bytes, prefixed with ``domain`` (stable across processes)."""
    out = np.empty(len(values), dtype=np.uint64)
    for i, v in enumerate(values):
        out[i] = int.from_bytes(hashlib.blake2b(domain + v.encode(), digest_size=8).digest(), "little")
    return out


def combine(acc: U64, column: U64) -> U64:
    """Fold one column of cell hashes into running row hashes (order-sensitive)."""
    return mix64(acc * _GOLDEN + column)


# --------------------------------------------------------------------------------------------------------------
# The set sketch shared by "minhash-rows" and "minhash-words"


@dataclass(frozen=True, eq=False)
class SetSketch:
    """Sketch of a set of 64-bit element hashes: ``minhash`` (``NUM_PERM`` k-mins values, uint32),
    ``sample`` (the ``≤ sample_size`` smallest distinct element hashes, ascending uint64), ``items`` (elements
    streamed, duplicates included) and the method's ``param`` (significant digits or words per shingle).

    Payload layout, little-endian: u8 version (1) ‖ u8 param ‖ u16 num_perm ‖ u16 sample_size ‖ u64 items ‖
    u16 len(sample) ‖ num_perm × u32 MinHash values ‖ len(sample) × u64 sample.
    """

    param: int
    items: int
    minhash: U32
    sample: U64
    sample_size: int = SAMPLE_SIZE

    @property
    def full(self) -> bool:
        """True when the sample holds only the ``sample_size`` smallest hashes, not the whole set."""
        return len(self.sample) >= self.sample_size

    @property
    def cardinality(self) -> float:
        """Distinct elements: exact when the sample is not full, else the KMV estimate (k-1)/U(k)
        (Bar-Yossef et al. 2002; relative standard error ≈ 1/sqrt(k-2), 6 % for k = 256)."""
        if not self.full:
            return float(len(self.sample))
        return (self.sample_size - 1) * 2.0**64 / (float(self.sample[-1]) + 1.0)

    def jaccard(self, other: SetSketch) -> float:
        """Jaccard estimate |A∩B|/|A∪B| from the k-mins MinHash (as ``datasketch.MinHash.jaccard``)."""
        self._check_compatible(other)
        return float(np.count_nonzero(self.minhash == other.minhash)) / len(self.minhash)

    def containment(self, other: SetSketch) -> float:
        """Containment estimate |A∩B|/|A| of this set A in ``other`` B (coordinated bottom-k samples).

        The elements of A's sample not above B's k-th smallest hash are exactly A's elements in that hash
        range, and each is in B iff it is in B's sample; the estimate is the fraction found. It is exact when
        both samples hold their whole sets; 0 when fewer than ``MIN_SAMPLE`` of A's sampled elements fall in
        B's range (A more than about ``sample_size / MIN_SAMPLE`` times smaller than B) and A's sample is not
        complete there: the sketches then carry no evidence of containment."""
        self._check_compatible(other)
        if len(self.sample) == 0:
            return 0.0
        tau = other.sample[-1] if other.full and len(other.sample) else _MAX_U64
        usable = self.sample[self.sample <= tau]
        whole = not self.full and len(usable) == len(self.sample)
        if len(usable) == 0 or (len(usable) < MIN_SAMPLE and not whole):
            return 0.0
        shared = np.intersect1d(usable, other.sample, assume_unique=True).size
        return shared / len(usable)

    def similarity(self, other: SetSketch) -> float:
        """``max(jaccard, containment of the smaller set in the larger)``, in [0, 1]. Containment of the
        smaller set is never below the Jaccard index of the two sets (|A∩B|/|A| ≥ |A∩B|/|A∪B|); the max
        only guards against the estimates' noise. Sizes are compared by :attr:`cardinality`."""
        a_card, b_card = self.cardinality, other.cardinality
        if a_card < b_card:
            contained = self.containment(other)
        elif b_card < a_card:
            contained = other.containment(self)
        else:
            contained = max(self.containment(other), other.containment(self))
        return min(1.0, max(self.jaccard(other), contained))

    def lean_minhash(self) -> LeanMinHash:
        """The k-mins part as a ``datasketch.LeanMinHash`` (for ``MinHashLSH`` and other datasketch tools)."""
        return LeanMinHash(seed=MINHASH_SEED, hashvalues=self.minhash, scheme="affine32")

    def to_payload(self) -> bytes:
        header = _HEADER.pack(_VERSION, self.param, len(self.minhash), self.sample_size, self.items, len(self.sample))
        return header + self.minhash.astype("<u4").tobytes() + self.sample.astype("<u8").tobytes()

    @classmethod
    def from_payload(cls, payload: bytes) -> SetSketch:
        """Parse :meth:`to_payload` output; ``ValidationError`` when malformed."""
        if len(payload) < _HEADER.size:
            raise ValidationError("malformed set sketch: payload too short")
        version, param, num_perm, sample_size, items, n_sample = _HEADER.unpack_from(payload)
        if version != _VERSION:
            raise ValidationError(f"malformed set sketch: unknown version {version}")
        if num_perm != NUM_PERM or sample_size < MIN_SAMPLE or n_sample > sample_size:
            raise ValidationError("malformed set sketch: bad sizes")
        expected = _HEADER.size + 4 * num_perm + 8 * n_sample
        if len(payload) != expected:
            raise ValidationError(f"malformed set sketch: {len(payload)} bytes, expected {expected}")
        minhash = np.frombuffer(payload, dtype="<u4", count=num_perm, offset=_HEADER.size).astype(np.uint32)
        sample = np.frombuffer(payload, dtype="<u8", count=n_sample, offset=_HEADER.size + 4 * num_perm)
        sample = sample.astype(np.uint64)
        if n_sample > 1 and not bool(np.all(sample[1:] > sample[:-1])):
            raise ValidationError("malformed set sketch: sample not strictly ascending")
        if n_sample > items:
            raise ValidationError("malformed set sketch: more sampled elements than items")
        return cls(param, items, minhash, sample, sample_size)

    def _check_compatible(self, other: SetSketch) -> None:
        if self.param != other.param or len(self.minhash) != len(other.minhash):
            raise ValidationError(
                f"fingerprints were computed with different parameters ({self.param} vs {other.param})"
            )


class SketchBuilder:
    """Accumulates 64-bit element hashes in batches into a :class:`SetSketch` (memory: one batch)."""

    _CHUNK = 16_384  # elements per MinHash update (a chunk × NUM_PERM uint32 temporary)

    def __init__(self, param: int, sample_size: int = SAMPLE_SIZE) -> None:
        if not MIN_SAMPLE <= sample_size <= 0xFFFF:
            raise ValueError(f"sample_size must be in [{MIN_SAMPLE}, 65535]")
        self.param = param
        self.sample_size = sample_size
        self.items = 0
        self._minhash = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=int, scheme="affine32")
        self._sample: U64 = np.empty(0, dtype=np.uint64)

    def update(self, hashes: U64) -> None:
        """Add a batch of element hashes (duplicates allowed)."""
        if len(hashes) == 0:
            return
        self.items += len(hashes)
        for start in range(0, len(hashes), self._CHUNK):
            chunk = hashes[start : start + self._CHUNK]
            self._minhash.update_batch((chunk >> np.uint64(32)).astype(np.uint32).tolist())
        fresh = hashes
        if len(self._sample) >= self.sample_size:
            fresh = hashes[hashes < self._sample[-1]]
        if len(fresh):
            self._sample = np.union1d(self._sample, fresh)[: self.sample_size]

    def finish(self) -> SetSketch:
        values = np.asarray(self._minhash.hashvalues, dtype=np.uint32).copy()
        return SetSketch(self.param, self.items, values, self._sample.copy(), self.sample_size)


# --------------------------------------------------------------------------------------------------------------
# Row normalisation


def normalise_header(name: str) -> str:
    """Header name used to order columns: NFKC, trimmed, inner whitespace collapsed, lower-cased."""
    return " ".join(unicodedata.normalize("NFKC", name).replace("\ufeff", "").split()).lower()


def canonical_order(names: Sequence[str]) -> list[int]:
    """Column positions sorted by normalised header name, ties in file order."""
    return sorted(range(len(names)), key=lambda i: (normalise_header(names[i]), i))


def cell_hashes(column: pa.Array | pa.ChunkedArray, sig_digits: int = SIG_DIGITS) -> U64:
    """64-bit hash of every normalised cell of an Arrow column (see the module docstring for the rules)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    if pa.types.is_dictionary(t):
        return cell_hashes(column.dictionary_decode(), sig_digits)
    if pa.types.is_integer(t):
        return _integer_hashes(column)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        valid = _valid_mask(column)
        values = pc.cast(column, pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        return _number_hashes(np.asarray(values, dtype=np.float64), valid, sig_digits)
    if pa.types.is_boolean(t):
        return _text_hashes(pc.cast(column, pa.string()), sig_digits)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _text_hashes(column, sig_digits)
    try:
        as_text = pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        as_text = pa.array([None if v is None else str(v) for v in column.to_pylist()], type=pa.string())
    return _text_hashes(as_text, sig_digits)


def row_hashes(columns: Sequence[pa.Array | pa.ChunkedArray], order: Sequence[int], sig_digits: int) -> U64:
    """Row shingles: the cell hashes of ``columns`` folded in ``order``."""
    n = len(columns[0]) if columns else 0
    acc = np.full(n, _ROW_SEED, dtype=np.uint64)
    for i in order:
        acc = combine(acc, cell_hashes(columns[i], sig_digits))
    return mix64(acc)


def _mask(flags: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(flags.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _valid_mask(column: pa.Array) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _int_token_hashes(values: npt.NDArray[np.int64]) -> U64:
    return mix64(values.astype(np.uint64) ^ _SALT_INT)


def _integer_hashes(column: pa.Array) -> U64:
    valid = _valid_mask(column)
    out = np.full(len(column), _NULL_HASH, dtype=np.uint64)
    if pa.types.is_unsigned_integer(column.type):
        big = np.asarray(pc.greater_equal(column, 2**53).fill_null(False).to_numpy(zero_copy_only=False))
    else:
        big = np.asarray(pc.greater_equal(pc.abs(column), 2**53).fill_null(False).to_numpy(zero_copy_only=False))
    small = valid & ~big
    if small.any():
        ints = pc.cast(column.filter(pa.array(small)), pa.int64()).to_numpy(zero_copy_only=False)
        out[small] = _int_token_hashes(np.asarray(ints, dtype=np.int64))
    if big.any():
        texts = [str(v) for v in column.filter(pa.array(big)).to_pylist()]
        out[big] = hash_strings(texts)
    return out


def _number_hashes(values: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_], sig_digits: int) -> U64:
    """Hash numbers: integral values below 2**53 exactly, others rounded to ``sig_digits`` significant
    digits (NaN is null)."""
    out = np.full(len(values), _NULL_HASH, dtype=np.uint64)
    with np.errstate(invalid="ignore"):
        finite = valid & np.isfinite(values)
    infinite = valid & np.isinf(values)
    if infinite.any():
        out[infinite] = hash_strings(["inf" if v > 0 else "-inf" for v in values[infinite]])
    integral = finite & (np.abs(values) < _EXACT_INT) & (values == np.floor(values))
    if integral.any():
        out[integral] = _int_token_hashes(values[integral].astype(np.int64))
    rest = finite & ~integral
    if rest.any():
        out[rest] = _rounded_hashes(values[rest], sig_digits)
    return out


def _rounded_hashes(v: npt.NDArray[np.float64], sig_digits: int) -> U64:
    """Hash of each value rounded to ``sig_digits`` significant digits, in the canonical form
    ``mantissa · 10**scale`` with no trailing zero in the mantissa: an integral result (``17.99`` → ``18``)
    hashes as the integer it is, so it matches an integer cell."""
    mant, exp = _round_significant(v, sig_digits)
    scale = exp - (sig_digits - 1)
    for _ in range(sig_digits):
        strip = (mant % 10 == 0) & (mant != 0)
        if not strip.any():
            break
        mant = np.where(strip, mant // 10, mant)
        scale = scale + strip.astype(np.int64)
    hashed = np.empty(len(v), dtype=np.uint64)
    as_int = mant.astype(np.float64) * np.power(10.0, np.maximum(scale, 0).astype(np.float64))
    whole = (scale >= 0) & (np.abs(as_int) < _EXACT_INT)
    if whole.any():
        hashed[whole] = _int_token_hashes(as_int[whole].astype(np.int64))
    if (~whole).any():
        hashed[~whole] = _mant_exp_hashes(mant[~whole], scale[~whole])
    return hashed


def _round_significant(v: npt.NDArray[np.float64], digits: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(mantissa, exponent) with ``10**(digits-1) ≤ |mantissa| < 10**digits`` and
    ``v ≈ mantissa · 10**(exponent - digits + 1)``: ``v`` rounded half-to-even to ``digits`` digits."""
    a = np.abs(v)
    exp = np.floor(np.log10(a)).astype(np.int64)
    lo, hi = 10 ** (digits - 1), 10**digits
    mant = _scaled_round(v, exp, digits)
    for _ in range(2):  # log10 can be off by one next to powers of ten; rounding can carry (999.6 → 1000)
        up = np.abs(mant) >= hi
        down = np.abs(mant) < lo
        if not (up.any() or down.any()):
            break
        exp = exp + up.astype(np.int64) - down.astype(np.int64)
        mant = _scaled_round(v, exp, digits)
    return mant, exp


def _scaled_round(v: npt.NDArray[np.float64], exp: npt.NDArray[np.int64], digits: int) -> npt.NDArray[np.int64]:
    """Round ``v · 10**(digits-1-exp)`` half to even, treating values within float32 precision of a half as
    exact ties, so that a float64 value and its float32 copy (``10.95`` and ``10.9499998``) round alike."""
    shift = (digits - 1) - exp  # multiply by 10**shift: exact powers of ten up to 1e22 keep this precise
    pos = shift >= 0
    scaled = np.empty_like(v)
    scaled[pos] = v[pos] * np.power(10.0, shift[pos].astype(np.float64))
    scaled[~pos] = v[~pos] / np.power(10.0, (-shift[~pos]).astype(np.float64))
    low = np.floor(scaled)
    tie = np.abs(scaled - low - 0.5) <= _TIE_TOLERANCE * np.maximum(np.abs(scaled), 1.0)
    even = low + np.mod(low, 2.0)  # the even one of low and low + 1
    return np.where(tie, even, np.rint(scaled)).astype(np.int64)


def _mant_exp_hashes(mant: npt.NDArray[np.int64], exp: npt.NDArray[np.int64]) -> U64:
    return mix64(mix64(mant.astype(np.uint64) ^ _SALT_INT) ^ ((exp + 4096).astype(np.uint64) * _SALT_EXP))


def _text_hashes(column: pa.Array, sig_digits: int) -> U64:
    out = np.full(len(column), _NULL_HASH, dtype=np.uint64)
    if len(column) == 0:
        return out
    s = pc.utf8_normalize(column, form="NFKC")
    s = pc.utf8_trim_whitespace(s)
    s = pc.replace_substring_regex(s, pattern=r"\s+", replacement=" ")
    s = pc.utf8_lower(s)
    null = np.asarray(
        pc.or_kleene(pc.is_null(s), pc.is_in(s, value_set=pa.array(_NULL_WORDS)))
        .fill_null(True)
        .to_numpy(zero_copy_only=False),
        dtype=np.bool_,
    )
    is_int = _mask(pc.match_substring_regex(s, _INT_RE)) & ~null
    if is_int.any():
        ints = pc.cast(s.filter(pa.array(is_int)), pa.int64()).to_numpy(zero_copy_only=False)
        out[is_int] = _int_token_hashes(np.asarray(ints, dtype=np.int64))
    is_dec = _mask(pc.match_substring_regex(s, _DECIMAL_RE)) & ~null
    if is_dec.any():
        nums = np.asarray(pc.cast(s.filter(pa.array(is_dec)), pa.float64()).to_numpy(zero_copy_only=False))
        out[is_dec] = _number_hashes(nums.astype(np.float64), np.ones(len(nums), dtype=np.bool_), sig_digits)
    is_num = is_int | is_dec
    is_text = ~null & ~is_num
    if is_text.any():
        encoded = pc.dictionary_encode(s.filter(pa.array(is_text)))
        assert isinstance(encoded, pa.DictionaryArray)
        uniques = hash_strings([str(x) for x in encoded.dictionary.to_pylist()])
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        out[is_text] = uniques[indices]
    return out


# --------------------------------------------------------------------------------------------------------------
# Streaming readers


def iter_table(path: str | Path, batch_rows: int | None = None) -> tuple[list[str], Iterator[list[pa.Array]]]:
    """Column names (``""`` when the CSV has no header) and an iterator over batches of Arrow columns of a
    CSV or Parquet file. ``ValidationError`` when the file is neither, or cannot be parsed."""
    p = Path(path)
    if is_parquet(p):
        return _iter_parquet(p, batch_rows or BATCH_ROWS)
    dialect = detect_csv(p)  # ValidationError when the file is not text
    if dialect is None:
        raise ValidationError(f"{p.name} is not a table (CSV or Parquet): detected {detect_kind(p)}")
    return _iter_csv(p, dialect)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _iter_parquet(p: Path, batch_rows: int) -> tuple[list[str], Iterator[list[pa.Array]]]:
    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowException, OSError) as exc:
        raise ValidationError(f"cannot read Parquet file {p.name}: {_one_line(exc)}") from None
    names = list(pf.schema_arrow.names)

    def batches() -> Iterator[list[pa.Array]]:
        try:
            for batch in pf.iter_batches(batch_size=batch_rows):
                yield list(batch.columns)
        except (pa.ArrowException, OSError) as exc:
            raise ValidationError(f"cannot read Parquet file {p.name}: {_one_line(exc)}") from None

    return names, batches()


def _iter_csv(p: Path, dialect: CsvDialect) -> tuple[list[str], Iterator[list[pa.Array]]]:
    names = [""] * dialect.columns
    if dialect.has_header:
        with p.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f, delimiter=dialect.delimiter, quotechar=dialect.quotechar), [])
        names = [*header[: dialect.columns], *[""] * (dialect.columns - len(header))]
    column_types = {f"f{i}": pa.string() for i in range(dialect.columns)}
    read = pa_csv.ReadOptions(
        autogenerate_column_names=True, skip_rows=1 if dialect.has_header else 0, block_size=CSV_BLOCK_BYTES
    )
    parse = pa_csv.ParseOptions(
        delimiter=dialect.delimiter, quote_char=dialect.quotechar, newlines_in_values=True, ignore_empty_lines=True
    )
    convert = pa_csv.ConvertOptions(
        column_types=column_types, strings_can_be_null=False, quoted_strings_can_be_null=False
    )

    def batches() -> Iterator[list[pa.Array]]:
        try:
            reader = pa_csv.open_csv(p, read_options=read, parse_options=parse, convert_options=convert)
            for batch in reader:
                yield list(batch.columns)
        except (pa.ArrowException, OSError) as exc:
            raise ValidationError(f"cannot read CSV file {p.name}: {_one_line(exc)}") from None

    return names, batches()


def sketch_table(path: str | Path, sig_digits: int = SIG_DIGITS, sample_size: int = SAMPLE_SIZE) -> SetSketch:
    """The :class:`SetSketch` of a CSV or Parquet file's normalised rows (streamed)."""
    names, batches = iter_table(path)
    order = canonical_order(names)
    builder = SketchBuilder(sig_digits, sample_size)
    for columns in batches:
        if len(columns) != len(names):
            raise ValidationError(f"{Path(path).name}: a batch has {len(columns)} columns, expected {len(names)}")
        builder.update(row_hashes(columns, order, sig_digits))
    if builder.items == 0:
        raise ValidationError(f"{Path(path).name} has no rows")
    return builder.finish()


# --------------------------------------------------------------------------------------------------------------
# The method


class SetSketchMethod:
    """Common part of the ``SetSketch`` methods: payload checks, similarity and the index's ``keys`` hook."""

    name: str
    kind: Kind
    threshold: float
    param: int
    sample_size: int

    def sketch(self, fp: Fingerprint) -> SetSketch:
        """The :class:`SetSketch` inside ``fp``; ``ValidationError`` if ``fp`` is not of this method."""
        if fp.method != self.name:
            raise ValidationError(f"fingerprint of method {fp.method!r} given to {self.name!r}")
        return SetSketch.from_payload(fp.payload)

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        """:meth:`SetSketch.similarity`: max(Jaccard, containment of the smaller set in the larger)."""
        return self.sketch(a).similarity(self.sketch(b))

    def containment(self, query: Fingerprint, stored: Fingerprint) -> float:
        """Estimated fraction of ``query``'s elements found in ``stored`` (LSH Ensemble's semantics)."""
        return self.sketch(query).containment(self.sketch(stored))

    def validate(self, fp: Fingerprint) -> None:
        sketch = self.sketch(fp)
        if fp.kind != self.kind:
            raise ValidationError(f"{self.name} fingerprint with kind {fp.kind!r}")
        if sketch.param != self.param:
            raise ValidationError(f"{self.name} fingerprint with parameter {sketch.param}, expected {self.param}")

    def keys(self, fp: Fingerprint) -> U64:
        """Index hook (:class:`datagora.fingerprint.index.KeyedMethod`): the bottom-k sample. Two fingerprints
        whose containment estimate is above 0 share at least one key."""
        return self.sketch(fp).sample

    def _fingerprint(self, sketch: SetSketch) -> Fingerprint:
        return Fingerprint(self.kind, self.name, sketch.to_payload())


class MinHashRows(SetSketchMethod):
    """``"minhash-rows"``: CSV and Parquet tables as sets of normalised rows (see the module docstring).

    ``threshold`` 0.7: a table is a near-duplicate of another when at least ~70 % of the smaller one's rows
    (after normalisation) are in the larger one."""

    name = "minhash-rows"
    kind: Kind = "table"
    threshold = 0.7

    def __init__(self, sig_digits: int = SIG_DIGITS, sample_size: int = SAMPLE_SIZE) -> None:
        self.param = sig_digits
        self.sample_size = sample_size

    def compute(self, path: Path) -> Fingerprint:
        """Fingerprint a CSV or Parquet file. ``ValidationError`` when it is not a readable table or has no rows."""
        return self._fingerprint(sketch_table(path, self.param, self.sample_size))


MINHASH_ROWS: Final = MinHashRows()
register(MINHASH_ROWS)
