"""Evidence files per order, kept under one directory of a node's home: ``order-<id>.dge`` (a ciphertext moved in
whole) and ``order-<id>.json`` (a record, rewritten atomically). The platform keeps the evidence of disputes it
arbitrates this way (``datagora.services.arbitration``); what the records mean is the service's business."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datagora.fsutil import atomic_write_json, fsync_dir


class EvidenceFiles:
    """The files under ``root`` (created when missing). Record edits are serialised within one process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def record_path(self, order_id: int) -> Path:
        return self.root / f"order-{order_id}.json"

    def ciphertext_path(self, order_id: int) -> Path:
        return self.root / f"order-{order_id}.dge"

    def read(self, order_id: int) -> dict[str, Any]:
        """The record of ``order_id``; empty when there is none."""
        try:
            doc = json.loads(self.record_path(order_id).read_text())
        except FileNotFoundError:
            return {}
        return doc if isinstance(doc, dict) else {}

    @contextlib.contextmanager
    def editing(self, order_id: int) -> Iterator[dict[str, Any]]:
        """Read the record of ``order_id``, let the caller change the dict, then write it back atomically
        (nothing is written when the block raises)."""
        with self._lock:
            doc = self.read(order_id)
            yield doc
            atomic_write_json(self.record_path(order_id), doc)

    def keep_ciphertext(self, order_id: int, staged: Path) -> Path:
        """Move the file ``staged`` (on the same file system) in as the ciphertext of ``order_id``, replacing an
        earlier one. Returns its path."""
        target = self.ciphertext_path(order_id)
        os.replace(staged, target)
        fsync_dir(self.root)
        return target

    def ciphertext(self, order_id: int) -> Path | None:
        """The ciphertext of ``order_id``, or None."""
        path = self.ciphertext_path(order_id)
        return path if path.is_file() else None
