"""A node's small SQLite file: opened per call, created with its tables when missing."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path


class SqliteFile:
    """The SQLite file at ``db_path`` (its folder and the tables of ``schema``, an SQL script of ``CREATE ...
    IF NOT EXISTS`` statements, are created when missing). Each :meth:`_db` block opens its own connection and
    commits before returning (rolls back on an exception); thread-safe within one process."""

    def __init__(self, db_path: Path, schema: str) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._db() as db:
            db.executescript(schema)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.db_path)
            try:
                with db:  # commits, or rolls back on an exception
                    yield db
            finally:
                db.close()
