"""The platform's send-receive board on disk (Wu et al. section III.A steps 13-22): one SQLite file holding the
ciphertexts the platform relays (by order; ``purged`` notes those deleted after their order settled), the signed
delivery notices in the order they arrived, and the fingerprints that came with them (decrypted,
platform-internal). Rows only: checking notices and signatures is
``datagora.services.relay``'s job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagora.storage.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS relayed (
    order_id INTEGER PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    received INTEGER NOT NULL,
    seller TEXT NOT NULL,
    buyer TEXT NOT NULL,
    delivery_hash BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    signature BLOB NOT NULL UNIQUE,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_by_order ON notices (order_id, id);
CREATE TABLE IF NOT EXISTS purged (
    order_id INTEGER PRIMARY KEY,
    blob TEXT NOT NULL,
    purged_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notice_fingerprints (
    signature BLOB PRIMARY KEY,
    fingerprint_hash BLOB NOT NULL,
    fingerprint BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class RelayedCiphertext:
    """The ciphertext of ``order_id`` held by the platform: ``blob`` (its address in the platform's store, the
    delivery hash in hex), ``size`` in bytes, who uploaded it and when (Unix seconds)."""

    order_id: int
    blob: str
    size: int
    uploaded_by: str
    uploaded_at: int


@dataclass(frozen=True)
class StoredNotice:
    """One row of the board: a notice's fields as signed (``delivery_hash`` and ``fingerprint_hash`` 32 bytes,
    zero fingerprint hash: none), its 65-byte ``signature``, ``entry_id`` (arrival order) and ``recorded_at``
    (Unix seconds of the platform's clock)."""

    entry_id: int
    order_id: int
    seller: str
    buyer: str
    delivery_hash: bytes
    timestamp: int
    received: bool
    signature: bytes
    recorded_at: int
    fingerprint_hash: bytes = bytes(32)


class SendReceiveStore(SqliteFile):
    """The board's SQLite file at ``db_path`` (created with its tables when missing). Each call opens its own
    connection and commits before returning; thread-safe within one process."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path, _SCHEMA)

    # -- relayed ciphertexts -------------------------------------------------------------------------------

    def put_relayed(self, relayed: RelayedCiphertext) -> None:
        """Keep (or replace) what the platform relays for ``relayed.order_id``."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO relayed (order_id, blob, size, uploaded_by, uploaded_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (relayed.order_id, relayed.blob, relayed.size, relayed.uploaded_by, relayed.uploaded_at),
            )

    def relayed(self, order_id: int) -> RelayedCiphertext | None:
        with self._db() as db:
            row = db.execute(
                "SELECT order_id, blob, size, uploaded_by, uploaded_at FROM relayed WHERE order_id = ?", (order_id,)
            ).fetchone()
        return None if row is None else RelayedCiphertext(*row)

    def relayed_orders(self) -> list[int]:
        """The orders whose ciphertext the platform holds, ascending."""
        with self._db() as db:
            return [int(r[0]) for r in db.execute("SELECT order_id FROM relayed ORDER BY order_id")]

    def forget_relayed(self, order_id: int, purged_at: int) -> RelayedCiphertext | None:
        """Drop the relayed ciphertext's row of ``order_id`` and note when (Unix seconds) in ``purged``; returns
        the row dropped (its blob is the caller's to delete), None when there was none."""
        with self._db() as db:
            row = db.execute(
                "SELECT order_id, blob, size, uploaded_by, uploaded_at FROM relayed WHERE order_id = ?", (order_id,)
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM relayed WHERE order_id = ?", (order_id,))
            db.execute(
                "INSERT OR REPLACE INTO purged (order_id, blob, purged_at) VALUES (?, ?, ?)",
                (order_id, row[1], purged_at),
            )
        return RelayedCiphertext(*row)

    def purged_at(self, order_id: int) -> int | None:
        """When (Unix seconds) the relayed ciphertext of ``order_id`` was deleted, or None."""
        with self._db() as db:
            row = db.execute("SELECT purged_at FROM purged WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else int(row[0])

    # -- notices -------------------------------------------------------------------------------------------

    def add_notice(self, notice: StoredNotice, fingerprint: bytes | None = None) -> StoredNotice:
        """Append ``notice`` (its ``entry_id`` is ignored and assigned here) with the decrypted ``fingerprint``
        that came with it, in one transaction. A notice whose signature is already on the board is not added
        again: the stored row comes back, with its first ``entry_id`` and ``recorded_at``."""
        with self._db() as db:
            existing = db.execute(
                "SELECT id, recorded_at FROM notices WHERE signature = ?", (notice.signature,)
            ).fetchone()
            if existing is not None:
                return _with(notice, existing[0], existing[1])
            cursor = db.execute(
                "INSERT INTO notices (order_id, received, seller, buyer, delivery_hash, timestamp, signature, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notice.order_id,
                    int(notice.received),
                    notice.seller,
                    notice.buyer,
                    notice.delivery_hash,
                    notice.timestamp,
                    notice.signature,
                    notice.recorded_at,
                ),
            )
            if fingerprint is not None:
                db.execute(
                    "INSERT OR REPLACE INTO notice_fingerprints (signature, fingerprint_hash, fingerprint) "
                    "VALUES (?, ?, ?)",
                    (notice.signature, notice.fingerprint_hash, fingerprint),
                )
            entry_id = cursor.lastrowid
        assert entry_id is not None
        return _with(notice, entry_id, notice.recorded_at)

    def notices(self, order_id: int) -> list[StoredNotice]:
        """The notices of ``order_id``, oldest first, each with the hash of the fingerprint that came with it."""
        with self._db() as db:
            rows = db.execute(
                "SELECT n.id, n.order_id, n.seller, n.buyer, n.delivery_hash, n.timestamp, n.received, n.signature, "
                "n.recorded_at, f.fingerprint_hash FROM notices n "
                "LEFT JOIN notice_fingerprints f ON f.signature = n.signature "
                "WHERE n.order_id = ? ORDER BY n.id",
                (order_id,),
            ).fetchall()
        return [
            StoredNotice(
                entry_id,
                oid,
                seller,
                buyer,
                bytes(dh),
                ts,
                bool(received),
                bytes(sig),
                recorded_at,
                bytes(fh or bytes(32)),
            )
            for entry_id, oid, seller, buyer, dh, ts, received, sig, recorded_at, fh in rows
        ]

    def fingerprint(self, signature: bytes) -> bytes | None:
        """The fingerprint that came with the notice signed ``signature``, or None."""
        with self._db() as db:
            row = db.execute("SELECT fingerprint FROM notice_fingerprints WHERE signature = ?", (signature,)).fetchone()
        return None if row is None else bytes(row[0])


def _with(notice: StoredNotice, entry_id: int, recorded_at: int) -> StoredNotice:
    return StoredNotice(
        entry_id,
        notice.order_id,
        notice.seller,
        notice.buyer,
        notice.delivery_hash,
        notice.timestamp,
        notice.received,
        notice.signature,
        recorded_at,
        notice.fingerprint_hash,
    )
