"""Data fingerprints that catch re-sold data (Wu et al. section III.C, IV.A.2-3, IV.C).

``fingerprint(path)`` detects the kind of content (image, table, text) from the bytes, not the file name, and
applies the default method for it; ``similarity(a, b)`` is in [0, 1]; ``is_near_duplicate(a, b)`` compares it
with the method's calibrated threshold. Methods: ``"pdq-orb"`` (default for images: PDQ with dihedral variants
plus ORB/RANSAC verification), ``"wu2020"`` (the paper's colour histogram + DCT aHash + SSIM), ``"phash"``,
``"pdq"``; ``"minhash-rows"`` for CSV / Parquet tables; ``"minhash-words"`` for text. See docs/fingerprints.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from datagora.domain.errors import ValidationError
from datagora.fingerprint.base import Fingerprint, Kind, Method, get_method, methods
from datagora.fingerprint.detect import default_method, detect_kind

if TYPE_CHECKING:
    from datagora.fingerprint.index import FingerprintIndex, Match

__all__ = [
    "Fingerprint",
    "FingerprintIndex",
    "Kind",
    "Match",
    "Method",
    "detect_kind",
    "fingerprint",
    "get_method",
    "is_near_duplicate",
    "methods",
    "similarity",
]


def __getattr__(name: str) -> Any:
    """``FingerprintIndex`` and ``Match`` load with :mod:`datagora.fingerprint.index` (and numpy) on first use."""
    if name in ("FingerprintIndex", "Match"):
        from datagora.fingerprint import index

        return getattr(index, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fingerprint(path: Path | str, method: str | None = None) -> Fingerprint:
    """Fingerprint a file. ``method`` defaults to the one for the detected kind; a method of another kind is a
    ``ValidationError``, as are empty, corrupt or unsupported files (one-line messages)."""
    p = Path(path)
    kind = detect_kind(p)
    chosen = get_method(method or default_method(kind))
    if chosen.kind != kind:
        raise ValidationError(f"{p.name}: method {chosen.name!r} is for {chosen.kind} data, the file holds {kind} data")
    return chosen.compute(p)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Similarity in [0, 1] of two fingerprints of the same method (``ValidationError`` otherwise)."""
    if a.method != b.method:
        raise ValidationError(f"cannot compare a {a.method!r} fingerprint with a {b.method!r} one")
    return float(get_method(a.method).similarity(a, b))


def is_near_duplicate(a: Fingerprint, b: Fingerprint, threshold: float | None = None) -> bool:
    """True when ``similarity(a, b)`` reaches ``threshold`` (default: the method's calibrated threshold)."""
    limit = get_method(a.method).threshold if threshold is None else threshold
    return similarity(a, b) >= limit
