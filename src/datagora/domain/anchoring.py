"""Plain models of batch anchoring: an anchored batch and one record's inclusion proof (RFC 9162 audit path)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch as the ``Anchors`` contract holds it: its Merkle ``root`` (32 bytes), ``size`` (records),
    ``anchored_at`` (block timestamp, seconds) and the anchoring ``organisation_id``."""

    batch_id: int
    root: bytes
    size: int
    anchored_at: int
    organisation_id: int


@dataclass(frozen=True)
class RecordProof:
    """Where one record sits: batch ``batch_id``, position ``index`` (from 0) of ``size``, its RFC 6962 leaf hash
    and the audit path from its sibling up (RFC 9162 section 2.1.3.1), 32-byte hashes."""

    batch_id: int
    index: int
    size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
