"""The owner's privacy ledger: how much differential-privacy budget (epsilon, delta) each buyer organisation has
spent on each dataset, across all its orders. One JSON file, rewritten atomically; edits are serialised between
threads (a lock) and between processes (an advisory ``flock`` on a lock file beside it). What a budget allows is
the service's business (``datagora.services.use_rights``)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagora.domain.errors import StorageError
from datagora.fsutil import atomic_write_json

_SLACK = 1e-9
"""Floating-point slack when comparing spent epsilon with a budget (ten answers of 0.1 fit a budget of 1)."""


@dataclass(frozen=True)
class BudgetUse:
    """What one buyer has spent on one dataset: total ``epsilon`` and ``delta`` and the number of ``answers``."""

    epsilon: float = 0.0
    delta: float = 0.0
    answers: int = 0


class BudgetExceeded(StorageError):
    """Spending would take the buyer past its budget; nothing was spent."""

    def __init__(self, spent: BudgetUse, epsilon: float, limit: float) -> None:
        super().__init__(f"spending {epsilon:g} on top of {spent.epsilon:g} exceeds {limit:g}")
        self.spent = spent
        self.epsilon = epsilon
        self.limit = limit


class PrivacyLedger:
    """The ledger file ``path`` (created on first spend). Keys are strings the caller chooses: ``dataset`` (e.g.
    the token id) and ``buyer`` (e.g. ``organisation:3`` or ``account:0x…``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StorageError(f"privacy ledger {self.path.name} unreadable: {exc}") from exc
        return doc if isinstance(doc, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path.with_suffix(".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def spent(self, dataset: str, buyer: str) -> BudgetUse:
        """What ``buyer`` has spent on ``dataset`` (zero when nothing yet)."""
        entry = self._read().get(dataset, {}).get(buyer)
        if not isinstance(entry, dict):
            return BudgetUse()
        return BudgetUse(float(entry.get("epsilon", 0.0)), float(entry.get("delta", 0.0)), int(entry.get("answers", 0)))

    def spend(self, dataset: str, buyer: str, epsilon: float, delta: float, limit: float) -> BudgetUse:
        """Add one answer of ``epsilon`` and ``delta`` to what ``buyer`` spent on ``dataset``, unless the total
        epsilon would pass ``limit``: then raise :class:`BudgetExceeded` and change nothing. Returns the new
        total."""
        with self._locked():
            doc = self._read()
            before = self.spent(dataset, buyer)
            if before.epsilon + epsilon > limit + _SLACK:
                raise BudgetExceeded(before, epsilon, limit)
            after = BudgetUse(before.epsilon + epsilon, before.delta + delta, before.answers + 1)
            doc.setdefault(dataset, {})[buyer] = {
                "epsilon": after.epsilon,
                "delta": after.delta,
                "answers": after.answers,
            }
            atomic_write_json(self.path, doc)
            return after


__all__ = ["BudgetExceeded", "BudgetUse", "PrivacyLedger"]
