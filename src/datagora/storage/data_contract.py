"""The platform's "data-contract" table on disk (Wu et al. section III.A steps 4-8): which fingerprint it attested
for which publisher and content, until when, and which dataset was minted with it. One SQLite file; rows only,
the novelty rules are ``datagora.services.attestation``'s."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS data_contract ("
    " fingerprint BLOB PRIMARY KEY, publisher TEXT NOT NULL, content_hash BLOB NOT NULL,"
    " token_id INTEGER, attested_at INTEGER NOT NULL, expiry INTEGER NOT NULL)"
)
_REFUSALS = (
    "CREATE TABLE IF NOT EXISTS refusals ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, publisher TEXT NOT NULL, content_hash BLOB NOT NULL,"
    " matching_token_id INTEGER, reason TEXT NOT NULL, refused_at INTEGER NOT NULL)"
)


@dataclass(frozen=True)
class DataContractRow:
    """One attestation: the serialised ``fingerprint`` it covers, the ``publisher``'s address, the SHA-256
    ``content_hash``, the minted ``token_id`` (None until the seller reports it), when it was signed and until
    when it is valid (Unix seconds)."""

    fingerprint: bytes
    publisher: str
    content_hash: bytes
    token_id: int | None
    attested_at: int
    expiry: int


@dataclass(frozen=True)
class RefusalRow:
    """A refused attestation: the ``publisher`` who asked, the SHA-256 ``content_hash`` it asked for, the dataset
    its data matched (None when the refusal names none), the ``reason`` given and when (Unix seconds)."""

    publisher: str
    content_hash: bytes
    matching_token_id: int | None
    reason: str
    refused_at: int


class DataContractTable:
    """The table in the SQLite file ``db_path`` (``":memory:"`` for a throw-away platform), created when missing.
    One connection shared between threads under a lock."""

    def __init__(self, db_path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(db_path), check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(_SCHEMA)
            self._db.execute(_REFUSALS)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def row(self, fingerprint: bytes) -> DataContractRow | None:
        """The attestation of ``fingerprint``, or None."""
        with self._lock:
            found = self._db.execute(
                "SELECT fingerprint, publisher, content_hash, token_id, attested_at, expiry FROM data_contract "
                "WHERE fingerprint = ?",
                (fingerprint,),
            ).fetchone()
        return None if found is None else _row(found)

    def rows(self) -> list[DataContractRow]:
        """Every attestation, in no particular order."""
        with self._lock:
            found = self._db.execute(
                "SELECT fingerprint, publisher, content_hash, token_id, attested_at, expiry FROM data_contract"
            ).fetchall()
        return [_row(r) for r in found]

    def record_attested(
        self, fingerprint: bytes, publisher: str, content_hash: bytes, *, attested_at: int, expiry: int
    ) -> None:
        """Keep a new attestation of ``fingerprint`` (replacing an earlier, unminted one), not yet minted."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO data_contract (fingerprint, publisher, content_hash, token_id, attested_at, "
                "expiry) VALUES (?, ?, ?, NULL, ?, ?)",
                (fingerprint, publisher, content_hash, attested_at, expiry),
            )

    def bind(self, fingerprint: bytes, token_id: int) -> None:
        """Record that the dataset ``token_id`` was minted with the attestation of ``fingerprint`` (nothing when
        there is none)."""
        with self._lock, self._db:
            self._db.execute("UPDATE data_contract SET token_id = ? WHERE fingerprint = ?", (token_id, fingerprint))

    def fingerprint_of(self, token_id: int) -> bytes | None:
        """The fingerprint attested for the dataset ``token_id``, or None."""
        with self._lock:
            found = self._db.execute("SELECT fingerprint FROM data_contract WHERE token_id = ?", (token_id,)).fetchone()
        return None if found is None else bytes(found[0])

    def record_refused(
        self, publisher: str, content_hash: bytes, reason: str, *, refused_at: int, matching_token_id: int | None
    ) -> None:
        """Keep a refusal (the platform's log of attestations it would not give)."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO refusals (publisher, content_hash, matching_token_id, reason, refused_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (publisher, content_hash, matching_token_id, reason, refused_at),
            )

    def refusals(self) -> list[RefusalRow]:
        """Every refusal, oldest first."""
        with self._lock:
            found = self._db.execute(
                "SELECT publisher, content_hash, matching_token_id, reason, refused_at FROM refusals ORDER BY id"
            ).fetchall()
        return [
            RefusalRow(str(p), bytes(c), None if t is None else int(t), str(r), int(at)) for p, c, t, r, at in found
        ]


def _row(r: tuple[bytes, str, bytes, int | None, int, int]) -> DataContractRow:
    fingerprint, publisher, content_hash, token_id, attested_at, expiry = r
    return DataContractRow(
        bytes(fingerprint), str(publisher), bytes(content_hash), token_id, int(attested_at), int(expiry)
    )
