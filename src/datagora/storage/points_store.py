"""A node's tier computations on disk (one SQLite file, ``<participant home>/tier-computations.sqlite``): each
computation this node took part in, as the JSON document ``datagora.services.tier_network`` writes after every
step, so a restarted node still shows its past computations. Rows only: the protocol is the service's job.

What is kept is what the node's API shows: brand, member, parties (accounts, node addresses, MPC endpoints,
signatures), status, steps, result, nonce, transaction hash and error. Never an input: a node's points for the
computation live in memory until its party process has them, and are not written here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datagora.storage.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tier_computations (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tier_computations_by_status ON tier_computations (status);
"""


class TierComputationStore(SqliteFile):
    """The SQLite file at ``db_path`` (created with its table when missing). Each call opens its own connection
    and commits before returning; thread-safe within one process."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path, _SCHEMA)

    def save(self, computation_id: str, created: float, status: str, document: dict[str, Any]) -> None:
        """Insert or replace one computation: ``created`` in Unix seconds, ``document`` any JSON object."""
        with self._db() as db:
            db.execute(
                "INSERT INTO tier_computations (id, created, status, document) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, document = excluded.document",
                (computation_id, created, status, json.dumps(document, separators=(",", ":"))),
            )

    def load_all(self) -> list[dict[str, Any]]:
        """Every stored document, oldest first."""
        with self._db() as db:
            rows = db.execute("SELECT document FROM tier_computations ORDER BY created, id").fetchall()
        documents: list[dict[str, Any]] = [json.loads(row[0]) for row in rows]
        return documents
