"""A node's store of anchored records (SQLite): every batch it anchored (root, size, label, transaction) and every
record's place in it (batch id, index from 0, leaf hash, audit path), so that any record can later be shown with
its inclusion proof. Records themselves stay where they are; only their leaf hashes are kept. Rows only: building
trees and checking proofs is :mod:`datagora.services.anchoring`'s job."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from datagora.domain.anchoring import RecordProof
from datagora.domain.errors import StorageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    chain_id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL,
    root BLOB NOT NULL,
    size INTEGER NOT NULL,
    label TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block_number INTEGER NOT NULL,
    PRIMARY KEY (chain_id, batch_id)
);
CREATE TABLE IF NOT EXISTS records (
    chain_id INTEGER NOT NULL,
    batch_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    leaf_hash BLOB NOT NULL,
    path BLOB NOT NULL,
    PRIMARY KEY (chain_id, batch_id, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_leaf ON records (leaf_hash);
"""


@dataclass(frozen=True)
class StoredBatch:
    """A batch this node anchored: ``root`` (32 bytes), ``size`` (records), ``label``, transaction hash and block."""

    chain_id: int
    batch_id: int
    root: bytes
    size: int
    label: str
    tx_hash: str
    block_number: int


class AnchorStore:
    """The SQLite file ``path`` (created on first use). Safe to share between threads (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    conn = sqlite3.connect(self.path, check_same_thread=False)
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.executescript(_SCHEMA)
                except (OSError, sqlite3.Error) as exc:
                    raise StorageError(f"anchor store {self.path.name} unusable: {exc}") from exc
                self._conn = conn
            try:
                with self._conn:
                    yield self._conn
            except sqlite3.Error as exc:
                raise StorageError(f"anchor store {self.path.name}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def add_batch(self, batch: StoredBatch, leaves: Sequence[bytes], paths: Sequence[Sequence[bytes]]) -> None:
        """Record one anchored batch and its records (``leaves[i]`` with audit path ``paths[i]``) in one
        transaction. Raises :class:`StorageError` when the batch is already stored."""
        if len(leaves) != batch.size or len(paths) != batch.size:
            raise StorageError(f"batch {batch.batch_id}: {len(leaves)} records for a batch of {batch.size}")
        rows = [
            (batch.chain_id, batch.batch_id, i, leaf, b"".join(path))
            for i, (leaf, path) in enumerate(zip(leaves, paths, strict=True))
        ]
        with self._db() as db:
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    batch.chain_id,
                    batch.batch_id,
                    batch.root,
                    batch.size,
                    batch.label,
                    batch.tx_hash,
                    batch.block_number,
                ),
            )
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", rows)

    def batch(self, chain_id: int, batch_id: int) -> StoredBatch | None:
        """The stored batch, or None."""
        with self._db() as db:
            row = db.execute(
                "SELECT chain_id, batch_id, root, size, label, tx_hash, block_number FROM batches "
                "WHERE chain_id = ? AND batch_id = ?",
                (chain_id, batch_id),
            ).fetchone()
        return StoredBatch(*row) if row else None

    def batches(self, chain_id: int) -> list[StoredBatch]:
        """Every stored batch of the chain, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT chain_id, batch_id, root, size, label, tx_hash, block_number FROM batches "
                "WHERE chain_id = ? ORDER BY batch_id DESC",
                (chain_id,),
            ).fetchall()
        return [StoredBatch(*row) for row in rows]

    def proofs(self, chain_id: int, leaf_hash: bytes) -> list[RecordProof]:
        """Every place the record with ``leaf_hash`` was anchored on the chain (a record may be anchored twice),
        oldest batch first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT r.batch_id, r.idx, b.size, r.path FROM records r JOIN batches b "
                "ON b.chain_id = r.chain_id AND b.batch_id = r.batch_id "
                "WHERE r.leaf_hash = ? AND r.chain_id = ? ORDER BY r.batch_id, r.idx",
                (leaf_hash, chain_id),
            ).fetchall()
        return [
            RecordProof(int(b), int(i), int(size), leaf_hash, tuple(path[k : k + 32] for k in range(0, len(path), 32)))
            for b, i, size, path in rows
        ]

    def proof_at(self, chain_id: int, batch_id: int, index: int) -> RecordProof | None:
        """The record at ``index`` of batch ``batch_id``, or None."""
        with self._db() as db:
            row = db.execute(
                "SELECT r.leaf_hash, b.size, r.path FROM records r JOIN batches b "
                "ON b.chain_id = r.chain_id AND b.batch_id = r.batch_id "
                "WHERE r.chain_id = ? AND r.batch_id = ? AND r.idx = ?",
                (chain_id, batch_id, index),
            ).fetchone()
        if row is None:
            return None
        leaf, size, path = row
        return RecordProof(
            batch_id, index, int(size), bytes(leaf), tuple(path[k : k + 32] for k in range(0, len(path), 32))
        )
