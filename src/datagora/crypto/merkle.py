"""Merkle trees of records as in RFC 6962 / RFC 9162 (Certificate Transparency): SHA-256 with domain separation,
leaf hash ``SHA-256(0x00 || record)``, node hash ``SHA-256(0x01 || left || right)``, the tree of ``n`` leaves split
at the largest power of two below ``n``.

:func:`build` computes the root and every record's audit path in one bottom-up pass (each level pairs adjacent
nodes and carries an unpaired last node up unchanged, which gives exactly the RFC 6962 tree); :func:`verify`
is the inclusion check of RFC 9162 section 2.1.3.2 (the same algorithm the ``Anchors`` contract runs on chain);
:func:`check_with_pymerkle` checks a proof again with the pymerkle library (its RFC 6962 mode), converting the
audit path into pymerkle's proof format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from datagora.domain.errors import ValidationError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MAX_PROOF = 64
"""Longest audit path accepted (a tree of up to 2**64 leaves); the contract's ``MAX_PROOF``."""


def leaf_hash(record: bytes) -> bytes:
    """The RFC 6962 leaf hash of ``record``: ``SHA-256(0x00 || record)``, 32 bytes."""
    return hashlib.sha256(LEAF_PREFIX + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``, 32 bytes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


@dataclass(frozen=True)
class Tree:
    """A built tree: its ``root`` (32 bytes), the ``leaves`` (leaf hashes in order) and ``paths[i]``, the audit
    path of leaf ``i`` from its sibling up (RFC 9162 section 2.1.3.1)."""

    root: bytes
    leaves: list[bytes]
    paths: list[list[bytes]]

    @property
    def size(self) -> int:
        return len(self.leaves)


def build(leaves: list[bytes], *, with_paths: bool = True) -> Tree:
    """Root and audit paths of the RFC 6962 tree over ``leaves`` (leaf hashes, 32 bytes each, at least one).

    O(n log n) hashing-free appends plus n - 1 node hashes: about 0.1 s for 10,000 leaves. Raises
    :class:`ValidationError` on an empty list or a leaf that is not 32 bytes."""
    n = len(leaves)
    if n == 0:
        raise ValidationError("a Merkle tree needs at least one record")
    if any(len(h) != 32 for h in leaves):
        raise ValidationError("every leaf hash must be 32 bytes")
    paths: list[list[bytes]] = [[] for _ in range(n)] if with_paths else []
    # members[j] = the leaf indices under node j of the current level
    level = list(leaves)
    members: list[list[int]] = [[i] for i in range(n)] if with_paths else []
    sha = hashlib.sha256
    while len(level) > 1:
        nxt: list[bytes] = []
        nxt_members: list[list[int]] = []
        count = len(level)
        for j in range(0, count - 1, 2):
            left, right = level[j], level[j + 1]
            nxt.append(sha(NODE_PREFIX + left + right).digest())
            if with_paths:
                for i in members[j]:
                    paths[i].append(right)
                for i in members[j + 1]:
                    paths[i].append(left)
                nxt_members.append(members[j] + members[j + 1])
        if count % 2:
            nxt.append(level[-1])
            if with_paths:
                nxt_members.append(members[-1])
        level, members = nxt, nxt_members
    return Tree(root=level[0], leaves=list(leaves), paths=paths)


def root_of(leaves: list[bytes]) -> bytes:
    """The root alone (see :func:`build`)."""
    return build(leaves, with_paths=False).root


def _walk(leaf: bytes, index: int, size: int, path: list[bytes]) -> tuple[bytes, list[int]] | None:
    """RFC 9162 section 2.1.3.2: the root the path leads to and, per step, 1 when the sibling is on the left;
    None when the path does not fit ``index`` and ``size``."""
    if not 0 <= index < size or len(path) > MAX_PROOF:
        return None
    fn, sn, r = index, size - 1, leaf
    sides: list[int] = []
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            sides.append(1)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
            sides.append(0)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r, sides


def verify(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """Whether ``path`` proves that ``leaf`` (a leaf hash) is leaf ``index`` (from 0) of the tree of ``size``
    leaves whose root is ``root`` (RFC 9162 section 2.1.3.2)."""
    walked = _walk(leaf, index, size, path)
    return walked is not None and walked[0] == root


def to_pymerkle(leaf: bytes, index: int, size: int, path: list[bytes]) -> dict[str, object]:
    """The same proof in pymerkle 7's serialized inclusion-proof format (``InclusionProof.deserialize``): its path
    starts with the leaf hash and its ``rule`` says, per step, whether the sibling is on the left (1) or right (0),
    with a last unused 0. Raises :class:`ValidationError` when the path does not fit ``index`` and ``size``."""
    walked = _walk(leaf, index, size, path)
    if walked is None:
        raise ValidationError("the proof does not fit the record's position and the batch size")
    return {
        "type": "inclusion",
        "metadata": {"algorithm": "sha256", "security": True, "size": size, "index": index + 1},
        "rule": walked[1] + [0],
        "path": [leaf.hex()] + [p.hex() for p in path],
    }


def check_with_pymerkle(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """:func:`verify` done by pymerkle (RFC 6962 mode, SHA-256): an independent check of the same proof."""
    from pymerkle import InclusionProof, InvalidProof

    try:
        proof = InclusionProof.deserialize(to_pymerkle(leaf, index, size, path))
        proof.verify(leaf, root, index=index + 1, size=size, algorithm="sha256")
    except (InvalidProof, ValidationError):
        return False
    return True
