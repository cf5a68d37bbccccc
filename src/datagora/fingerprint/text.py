"""Text fingerprints, method ``"minhash-words"`` (Wu et al. section III.C applied to text; Broder 1997, "On the
resemblance and containment of documents").

A text is the set of its word shingles: the text is Unicode NFKC-normalised and case-folded, words are the
maximal runs of letters, digits and underscores (``\\w+``: punctuation and symbols separate words and are
dropped), and a shingle is ``k`` consecutive words (``k`` = 4 by default, 3 to 5 allowed). Each shingle is a
64-bit hash of its words' hashes, and the text's fingerprint is the :class:`~datagora.fingerprint.tables.SetSketch`
of the shingle set, the same sketch as tables use: ``similarity(a, b) = max(Jaccard, containment of the
smaller shingle set in the larger)``, in [0, 1]. A lightly edited copy (a few words changed: each change
breaks at most ``k`` shingles) or an excerpt (a paragraph removed) keeps a high containment; unrelated texts
share almost no shingles. A text shorter than ``k`` words is one shingle of all its words.

Files are read as UTF-8 in chunks (``CHUNK_CHARS`` characters), so memory stays bounded.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, register
from datagora.fingerprint.detect import detect_kind, is_parquet
from datagora.fingerprint.tables import (
    SAMPLE_SIZE,
    U64,
    SetSketch,
    SetSketchMethod,
    SketchBuilder,
    combine,
    hash_strings,
    mix64,
)

SHINGLE_WORDS: Final = 4
"""Default words per shingle."""
CHUNK_CHARS: Final = 1 << 20
"""Characters decoded per step when streaming a file."""

_WORD = re.compile(r"\w+")
_SHINGLE_SEED = np.uint64(0x510E527FADE682D1)


def words(text: str) -> list[str]:
    """The normalised words of ``text``: NFKC, case-folded, split on everything that is not ``\\w``."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(word_hashes: U64, k: int) -> U64:
    """Hashes of the ``len - k + 1`` windows of ``k`` consecutive word hashes (order-sensitive)."""
    n = len(word_hashes) - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint64)
    acc = np.full(n, _SHINGLE_SEED, dtype=np.uint64)
    for j in range(k):
        acc = combine(acc, word_hashes[j : j + n])
    return mix64(acc)


class _WordHasher:
    """Caches each distinct word's 64-bit hash (texts repeat their words)."""

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}

    def __call__(self, ws: list[str]) -> U64:
        cache = self._cache
        missing = [w for w in dict.fromkeys(ws) if w not in cache]
        if missing:
            for w, h in zip(missing, hash_strings(missing, b"w").tolist(), strict=True):
                cache[w] = h
        if len(cache) > 1_000_000:  # bounded memory on huge vocabularies
            self._cache = {}
        return np.fromiter((cache[w] for w in ws), dtype=np.uint64, count=len(ws))


def iter_text(path: str | Path) -> Iterator[str]:
    """Decode a UTF-8 file in chunks ending on whitespace (a word is never split across two chunks).
    ``ValidationError`` when the bytes are not UTF-8."""
    p = Path(path)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    carry = ""
    try:
        with p.open("rb") as f:
            while block := f.read(CHUNK_CHARS):
                text = carry + decoder.decode(block)
                cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
                if cut < 0 and len(text) < 4 * CHUNK_CHARS:
                    carry = text
                    continue
                if cut < 0:  # no whitespace for 4 chunks: split the giant "word" (memory stays bounded)
                    cut = len(text) - 1
                yield text[: cut + 1]
                carry = text[cut + 1 :]
            carry += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{p.name} is not UTF-8 text: invalid byte at offset {exc.start}") from None
    except OSError as exc:
        raise ValidationError(f"cannot read {p.name}: {exc.strerror or exc}") from None
    if carry:
        yield carry


def sketch_words(
    chunks: Iterator[str] | list[str], k: int = SHINGLE_WORDS, sample_size: int = SAMPLE_SIZE
) -> SetSketch:
    """The :class:`SetSketch` of the ``k``-word shingles of a text given as chunks (see :func:`iter_text`).
    ``ValidationError`` when the text has no words."""
    if not 1 <= k <= 255:
        raise ValueError("k must be in [1, 255]")
    builder = SketchBuilder(k, sample_size)
    hasher = _WordHasher()
    tail: U64 = np.empty(0, dtype=np.uint64)  # the last k-1 word hashes of the previous chunk
    seen = 0
    for chunk in chunks:
        hashes = hasher(words(chunk))
        if len(hashes) == 0:
            continue
        seen += len(hashes)
        joined = np.concatenate((tail, hashes))
        builder.update(shingle_hashes(joined, k))
        tail = joined[-(k - 1) :] if k > 1 else np.empty(0, dtype=np.uint64)
    if seen == 0:
        raise ValidationError("the text has no words")
    if seen < k:  # shorter than one shingle: the whole text is the shingle
        builder.update(shingle_hashes(tail, len(tail)))
    return builder.finish()


class MinHashWords(SetSketchMethod):
    """``"minhash-words"``: UTF-8 texts as sets of ``k``-word shingles (see the module docstring).

    ``threshold`` 0.6: a text is a near-duplicate of another when at least ~60 % of the shorter one's
    shingles are in the longer one."""

    name = "minhash-words"
    kind: Kind = "text"
    threshold = 0.6

    def __init__(self, shingle_words: int = SHINGLE_WORDS, sample_size: int = SAMPLE_SIZE) -> None:
        if not 3 <= shingle_words <= 5:
            raise ValueError("shingle_words must be 3, 4 or 5")
        self.param = shingle_words
        self.sample_size = sample_size

    def compute(self, path: Path) -> Fingerprint:
        """Fingerprint a UTF-8 text file (CSV files are text too). ``ValidationError`` for images, Parquet,
        binary data, invalid UTF-8 or a text without words."""
        kind = detect_kind(path)
        if kind == "image" or is_parquet(path):
            raise ValidationError(f"{Path(path).name} is not a text file: detected {kind}")
        return self._fingerprint(sketch_words(iter_text(path), self.param, self.sample_size))

    def compute_text(self, text: str) -> Fingerprint:
        """Fingerprint a string (as a file holding ``text`` would be)."""
        return self._fingerprint(sketch_words([text], self.param, self.sample_size))


MINHASH_WORDS: Final = MinHashWords()
register(MINHASH_WORDS)
