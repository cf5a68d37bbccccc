"""Core types of data fingerprints (Wu et al. section III.C): a fingerprint is a compact, robust summary of a
dataset's content; the distance between two fingerprints measures how similar their contents are, so lightly
modified copies (cropped, noisy, re-encoded images; subsets of a table's rows; edited texts) are still caught.

Each method (``"wu2020"``, the default image method, ``"minhash-rows"``, ``"minhash-words"`` …) registers a
:class:`Method`; :class:`Fingerprint` carries the method name and its binary payload and serialises to bytes.
"""

from __future__ import annotations

import importlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from datagora.domain.errors import ValidationError

Kind = Literal["image", "table", "text"]
MAGIC = b"DGF1"


@dataclass(frozen=True)
class Fingerprint:
    """``kind`` of data, ``method`` that computed it, and the method's ``payload`` bytes."""

    kind: Kind
    method: str
    payload: bytes

    def to_bytes(self) -> bytes:
        """``b"DGF1"`` ‖ u8 len(kind) ‖ kind ‖ u8 len(method) ‖ method ‖ payload."""
        k, m = self.kind.encode(), self.method.encode()
        return MAGIC + struct.pack("B", len(k)) + k + struct.pack("B", len(m)) + m + self.payload

    @classmethod
    def from_bytes(cls, raw: bytes) -> Fingerprint:
        """Parse :meth:`to_bytes` output; ``ValidationError`` when malformed or of an unknown method."""
        try:
            if raw[:4] != MAGIC:
                raise ValueError("bad magic")
            pos = 4
            (kl,) = struct.unpack_from("B", raw, pos)
            kind = raw[pos + 1 : pos + 1 + kl].decode()
            pos += 1 + kl
            (ml,) = struct.unpack_from("B", raw, pos)
            method = raw[pos + 1 : pos + 1 + ml].decode()
            pos += 1 + ml
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise ValidationError(f"not a Datagora fingerprint: {exc}") from exc
        if kind not in ("image", "table", "text"):
            raise ValidationError(f"not a Datagora fingerprint: unknown kind {kind!r}")
        fp = cls(kind, method, raw[pos:])  # type: ignore[arg-type]
        get_method(method).validate(fp)
        return fp


class Method(Protocol):
    """A fingerprinting method. ``threshold`` is the calibrated similarity at or above which two
    fingerprints are near-duplicates."""

    name: str
    kind: Kind
    threshold: float

    def compute(self, path: Path) -> Fingerprint:
        """Fingerprint a file of this method's kind. ``ValidationError`` for unreadable content."""
        ...

    def similarity(self, a: Fingerprint, b: Fingerprint) -> float:
        """Similarity in [0, 1] (1 = identical content)."""
        ...

    def validate(self, fp: Fingerprint) -> None:
        """``ValidationError`` when ``fp.payload`` is not a well-formed payload of this method."""
        ...


_METHODS: dict[str, Method] = {}
_PROVIDERS = {
    "datagora.fingerprint.images": ("wu2020", "phash", "pdq", "pdq-orb"),
    "datagora.fingerprint.tables": ("minhash-rows",),
    "datagora.fingerprint.text": ("minhash-words",),
}
"""The modules that register the methods when imported, with the names they register. They load numpy, SciPy,
scikit-image, OpenCV, Pillow, imagehash, PyArrow and datasketch (about 100 MiB of resident memory together), so
each is imported on the first lookup of one of its methods, not with the package: a node that never fingerprints
never pays for them, one that holds table fingerprints only never loads the image libraries."""


def _load_providers(name: str | None = None) -> None:
    """Import the module that registers method ``name`` (every provider for None or an unknown name)."""
    for module, names in _PROVIDERS.items():
        if name is None or name in names:
            importlib.import_module(module)
            if name is not None:
                return
    if name is not None:
        _load_providers()


def register(method: Method) -> Method:
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The registered method called ``name``. ``ValidationError`` for an unknown name."""
    if name not in _METHODS:
        _load_providers(name)
    try:
        return _METHODS[name]
    except KeyError:
        raise ValidationError(f"unknown fingerprint method {name!r} (known: {', '.join(sorted(_METHODS))})") from None


def methods() -> dict[str, Method]:
    """Every method, by name."""
    _load_providers()
    return dict(_METHODS)
