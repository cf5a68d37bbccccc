"""The one canonical JSON form of every document Datagora hashes, signs, encrypts for a commitment or compares byte
for byte: query specs and their results, compute specs and policies, federated specs, DCAT descriptions, dispute
evidence, shop order bodies, collaboration terms, channel key envelopes, stream documents, envelope headers and the
sample-search log. Two components that compute the hash of the same document must both call
:func:`canonical_json`, so that the same document always gives the same bytes.

The form follows the JSON Canonicalization Scheme (JCS, RFC 8785) where Python's standard encoder can: object
members sorted by key, no whitespace (``,`` and ``:`` separators), strings written as UTF-8 with only ``"``, ``\\``
and the control characters U+0000..U+001F escaped (``\\b \\t \\n \\f \\r``, the others as ``\\u00xx``), and
NaN and Infinity refused. It differs from JCS in three ways, all kept so that hashes already on chain do not move:

- **Numbers.** A float is written as Python's shortest round-trip ``repr`` (``1.0``, ``1e-05``, ``1e+16``,
  ``-0.0``) where JCS writes the ECMAScript form (``1``, ``0.00001``, ``10000000000000000``, ``0``); an integer
  is written exactly at any size, where JCS reads every number as an IEEE 754 double (integers above 2**53 lose
  precision). ``1`` and ``1.0`` are therefore different documents here, as they are different Python values.
- **Key order.** Keys are sorted by Unicode code point (Python's string order), JCS sorts by UTF-16 code unit; the
  two differ only when keys mix characters above U+FFFF with characters U+E000..U+FFFF.
- **Input.** The document is a Python value, not JSON text: tuples are written as arrays, ``bool`` as
  ``true``/``false``, ``None`` as ``null``; object keys must be strings (an ``int`` key would sort as a number
  but be written as a string, so it is refused rather than guessed).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from datagora.domain.errors import NotCanonicalJSON

__all__ = ["MAX_DEPTH", "canonical_json"]

MAX_DEPTH: Final = 200
"""Most levels of nested arrays and objects a canonical document may have."""

_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(doc: Any) -> bytes:
    """The canonical JSON bytes (UTF-8) of ``doc``: a ``dict`` with string keys, ``list``, ``tuple``, ``str``,
    ``int``, finite ``float``, ``bool`` or ``None``, nested at most :data:`MAX_DEPTH` levels. See the module
    docstring for the form and where it differs from RFC 8785 (JCS).

    Raises:
        NotCanonicalJSON: (a ``ValidationError`` and a ``ValueError``) naming where the document holds NaN or
            Infinity, a key that is not a string, a value of a type JSON has no form for, text with an unpaired
            surrogate (not encodable as UTF-8), or nesting deeper than :data:`MAX_DEPTH`.
    """
    try:
        _check(doc, 0)
        try:
            return _ENCODER.encode(doc).encode("utf-8")
        except UnicodeEncodeError:
            _find_surrogate(doc)
            raise _Refused("an unpaired surrogate", _SURROGATE) from None  # pragma: no cover - found above
    except _Refused as refused:
        raise NotCanonicalJSON(
            f"the document cannot be written as canonical JSON: {refused.what} at {refused.where()} ({refused.why})"
        ) from None


_SURROGATE: Final = "a code point from U+D800 to U+DFFF on its own is not Unicode text; UTF-8 cannot encode it"
_SCALARS: Final = frozenset({str, int, bool, type(None)})


class _Refused(Exception):
    """What canonical JSON cannot write; ``path`` (innermost first) is filled in as the walk unwinds, so the walk
    builds no path for documents that are fine."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(what)
        self.what = what
        self.why = why
        self.path: list[str | int] = []

    def where(self) -> str:
        """The JSONPath of the value at fault (``$.where[0].value``), ASCII and at most ~120 characters."""
        parts = ["$"]
        for step in reversed(self.path):
            if isinstance(step, int):
                parts.append(f"[{step}]")
            elif step.isidentifier() and step.isascii() and len(step) <= 40:
                parts.append(f".{step}")
            else:
                parts.append(f"[{_short(ascii(step), 40)}]")
        text = "".join(parts)
        return text if len(text) <= 120 else "$…" + text[-110:]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check(value: Any, depth: int) -> None:
    """Raise :class:`_Refused` for the first value (depth first) canonical JSON cannot write."""
    kind = type(value)
    if kind in _SCALARS:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            name = "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
            raise _Refused(name, "NaN and Infinity are not JSON numbers")
        return
    if isinstance(value, str | int):  # subclasses: enums, numpy integers that subclass int
        return
    if depth >= MAX_DEPTH:
        raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", "a hashed document is kept shallow")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Refused(f"the key {_short(repr(key), 40)}", "object keys must be strings")
            if type(item) in _SCALARS:
                continue
            try:
                _check(item, depth + 1)
            except _Refused as refused:
                refused.path.append(key)
                raise
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if type(item) in _SCALARS:
                continue
            try:
                _check(item, depth + 1)
            except _Refused as refused:
                refused.path.append(index)
                raise
        return
    raise _Refused(f"a value of type {type(value).__name__}", "JSON has no form for it")


def _find_surrogate(value: Any) -> None:
    """Raise :class:`_Refused` at the first key or string that UTF-8 cannot encode."""
    if isinstance(value, str):
        if not _encodable(value):
            raise _Refused("an unpaired surrogate", _SURROGATE)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(key):
                raise _Refused("an unpaired surrogate in a key", _SURROGATE)
            try:
                _find_surrogate(item)
            except _Refused as refused:
                refused.path.append(key)
                raise
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            try:
                _find_surrogate(item)
            except _Refused as refused:
                refused.path.append(index)
                raise


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
