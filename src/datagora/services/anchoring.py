"""Batch anchoring: many records (IoT readings, stream items, dataset versions, consent accesses) committed as one
Merkle root per transaction in the ``Anchors`` contract, each record then verifiable on its own.

Hashing is RFC 6962 / RFC 9162 with domain separation (leaf ``SHA-256(0x00 || record)``, node
``SHA-256(0x01 || left || right)``); a record's proof is its RFC 9162 audit path. Anchoring goes through the fast
client path (:mod:`datagora.chain.fastpath`): all of a run's transactions signed locally and sent in JSON-RPC
batches, their receipts fetched in batches. The node keeps each record's batch id, index and audit path in its
:class:`~datagora.storage.anchoring.AnchorStore`; a verification checks the proof three times: in Python, with
pymerkle and with the contract's own ``verify`` view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.chain.fastpath import Call, FastPath
from datagora.crypto import merkle
from datagora.domain.anchoring import AnchoredBatch, RecordProof
from datagora.domain.errors import NotFoundError, ValidationError
from datagora.storage.anchoring import AnchorStore, StoredBatch

MAX_LABEL = 64
"""Longest batch label in characters (the contract's ``MAX_LABEL`` is in bytes; labels are checked as UTF-8)."""
DEFAULT_BATCH_SIZE = 10_000
MAX_BATCH_SIZE = 1_000_000
MAX_CANDIDATES = 10
"""Places of one record (identical records anchored again) checked at most by :func:`verify_record`."""


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one record: where it is (``proof``), the batch as the chain holds it, and whether
    the proof leads to the batch's root by the Python check, by pymerkle and by the contract's ``verify``."""

    record_id: str
    proof: RecordProof
    batch: AnchoredBatch
    in_python: bool
    by_pymerkle: bool
    on_chain: bool

    @property
    def ok(self) -> bool:
        return self.in_python and self.by_pymerkle and self.on_chain


def record_id(record: bytes) -> str:
    """A record's id: its RFC 6962 leaf hash as 0x-hex (64 hex digits)."""
    return "0x" + merkle.leaf_hash(record).hex()


def parse_record_id(text: str) -> bytes:
    """The 32-byte leaf hash of a record id (0x-hex); :class:`ValidationError` when malformed."""
    raw = text.strip().lower().removeprefix("0x")
    if len(raw) != 64:
        raise ValidationError("a record id is 64 hexadecimal digits (its leaf hash), optionally after 0x")
    try:
        return bytes.fromhex(raw)
    except ValueError as exc:
        raise ValidationError("a record id is 64 hexadecimal digits (its leaf hash), optionally after 0x") from exc


def check_label(label: str) -> str:
    """``label`` when it is 1 to 64 bytes of UTF-8; :class:`ValidationError` otherwise."""
    if not label.strip():
        raise ValidationError("a batch needs a label saying what it holds")
    if len(label.encode()) > MAX_LABEL:
        raise ValidationError(f"a batch label is at most {MAX_LABEL} bytes")
    return label


def anchor_records(
    contracts: Contracts,
    account: LocalAccount,
    records: Sequence[bytes],
    *,
    label: str,
    store: AnchorStore,
    batch_size: int = DEFAULT_BATCH_SIZE,
    fast: FastPath | None = None,
) -> list[StoredBatch]:
    """Anchor ``records`` (raw bytes each) in batches of ``batch_size``: one Merkle root and one ``anchor``
    transaction per batch, all sent together on the fast path, then every record's batch id, index and audit path
    kept in ``store``. ``account`` belongs to an Audited organisation.

    Returns the stored batches in order. Raises :class:`ValidationError` on no records, a bad label or batch
    size, :class:`~datagora.domain.errors.TransactionReverted` with the contract's reason (``"anchors: not
    audited"``), :class:`~datagora.domain.errors.ChainError` when the node fails."""
    if not records:
        raise ValidationError("nothing to anchor: no records given")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValidationError(f"the batch size must be between 1 and {MAX_BATCH_SIZE:,}")
    check_label(label)
    anchors = contracts.anchors
    trees = []
    calls = []
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        tree = merkle.build([merkle.leaf_hash(bytes(r)) for r in chunk])
        trees.append(tree)
        calls.append(Call(anchors.address, anchors.anchor_call(tree.root, tree.size, label), label="Anchors.anchor"))
    path = fast or FastPath(contracts.chain, account)
    sent = path.send_many(calls) if len(calls) > 1 else [path.send(calls[0])]
    chain_id = contracts.chain.chain_id
    stored = []
    for tree, tx in zip(trees, sent, strict=True):
        batch = StoredBatch(
            chain_id, anchors.batch_id_of(tx.logs), tree.root, tree.size, label, tx.tx_hash, tx.block_number
        )
        store.add_batch(batch, tree.leaves, tree.paths)
        stored.append(batch)
    return stored


def proofs_of(contracts: Contracts, store: AnchorStore, leaf_hash: bytes) -> list[RecordProof]:
    """Every place this node anchored the record with ``leaf_hash``; :class:`NotFoundError` when none."""
    found = store.proofs(contracts.chain.chain_id, leaf_hash)
    if not found:
        raise NotFoundError(
            "this record is in no batch this node anchored (a changed record has a different hash: check it is the "
            "original)"
        )
    return found


def verify(contracts: Contracts, leaf_hash: bytes, proof: RecordProof) -> Verification:
    """Check that the record with ``leaf_hash`` is record ``proof.index`` of batch ``proof.batch_id`` on the chain:
    the audit path must lead to the root the contract holds (Python, pymerkle and the contract's view all agree).
    A record outside the batch or a changed record fails (``ok`` is False). :class:`NotFoundError` when the batch
    is not on the chain."""
    batch = contracts.anchors.batch(proof.batch_id)
    path = list(proof.path)
    in_python = merkle.verify(leaf_hash, proof.index, batch.size, path, batch.root)
    by_pymerkle = merkle.check_with_pymerkle(leaf_hash, proof.index, batch.size, path, batch.root)
    on_chain = contracts.anchors.verify(proof.batch_id, leaf_hash, proof.index, path)
    return Verification("0x" + leaf_hash.hex(), proof, batch, in_python, by_pymerkle, on_chain)


def verify_record(
    contracts: Contracts, store: AnchorStore, leaf_hash: bytes, proof: RecordProof | None = None
) -> Verification:
    """Verify a record by its leaf hash with ``proof`` (e.g. from a proof file) or, without one, with the proofs
    this node keeps for it (the oldest ten at most): the first that passes, else the first that failed.
    :class:`NotFoundError` when the node
    knows no proof for it or the batch is not on the chain."""
    candidates = [proof] if proof is not None else proofs_of(contracts, store, leaf_hash)[:MAX_CANDIDATES]
    first = None
    for candidate in candidates:  # stop at the first that passes: a record anchored many times costs one check
        result = verify(contracts, leaf_hash, candidate)
        if result.ok:
            return result
        first = first or result
    assert first is not None
    return first


def proof_document(contracts: Contracts, proof: RecordProof) -> dict[str, Any]:
    """A record's proof as a JSON object anyone can check against the chain: chain id, contract address, batch
    id, index (from 0), batch size, leaf hash and audit path (0x-hex)."""
    return {
        "chain_id": contracts.chain.chain_id,
        "contract": contracts.anchors.address,
        "batch_id": proof.batch_id,
        "index": proof.index,
        "size": proof.size,
        "leaf_hash": "0x" + proof.leaf_hash.hex(),
        "path": ["0x" + p.hex() for p in proof.path],
    }


def parse_proof_document(doc: Any) -> RecordProof:
    """The :class:`RecordProof` of a proof document (see :func:`proof_document`); :class:`ValidationError` when
    it is malformed."""
    try:
        batch_id, index, size = int(doc["batch_id"]), int(doc["index"]), int(doc["size"])
        leaf = parse_record_id(str(doc["leaf_hash"]))
        path = tuple(parse_record_id(str(p)) for p in doc["path"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"not a proof document: {exc}") from exc
    if batch_id < 1 or index < 0 or size < 1 or len(path) > merkle.MAX_PROOF:
        raise ValidationError("not a proof document: batch id, index, size or path out of range")
    return RecordProof(batch_id, index, size, leaf, path)
