"""The platform's rules for search by sample (Wu et al. step 9-2), so that it finds datasets and not people.

A table sample whose fingerprint matches a dataset says that its rows are in that dataset. With one person's row
(a header and one line) that is a membership test: "this person is in the diabetes table". The platform therefore
answers only samples that describe a dataset, and keeps every search on record:

- **Minimum rows.** A table sample must hold at least ``min_rows`` distinct rows (:data:`DEFAULT_MIN_ROWS`, 40),
  counted by the platform from the sample's fingerprint (the distinct row hashes of its bottom-k sketch; exact
  below 256 rows), not taken from the searcher's word. 40 rows are many times what one person contributes to a
  typical table (one row per person, a few for repeated visits), and still a 10 % sample of a table of 400 rows,
  so a buyer who holds a real part of a dataset still finds it. Owners of tables with many rows per person
  (transactions, time series) should see the platform raise it above the most rows one person has. Images and
  texts are not rows of people and are unaffected.
- **Rate limit.** Each account may search ``per_window`` times per ``window`` seconds (30 per hour by default);
  past that the platform answers 429 with ``Retry-After``. It bounds how many probes anyone can make.
- **Audit log.** Every search, answered or refused, is appended to the platform's sample-search log
  (:class:`SearchLog`): when, which account, the sample's kind and distinct rows, the outcome and the dataset ids
  it answered. It is an off-chain log on the platform's node, shown by ``datagora audit searches`` there, not an
  on-chain record: a search reveals what a buyer is looking for, which every chain participant would read on
  chain; it would cost gas per search; and the chain could not prove that the platform recorded every search
  anyway (only the platform sees them). Each line carries the SHA-256 of the line before it, so an edited or
  removed line breaks the chain (:meth:`SearchLog.verify`).

What these rules do not stop: a searcher who already holds many rows of a dataset can craft a fingerprint from
them plus one more row and learn from the answer whether that row is in it too. The rate limit and the log bound
and expose such probing; they do not make it impossible.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from datagora.domain.canonical import canonical_json
from datagora.domain.errors import IntegrityError, RateLimited, ValidationError
from datagora.fingerprint.base import Fingerprint

DEFAULT_MIN_ROWS = 40
"""Fewest distinct rows a table sample must hold (see the module docstring for why 40)."""
DEFAULT_PER_WINDOW = 30
"""Searches one account may make per window."""
DEFAULT_WINDOW = 3600
"""The rate limit's window, seconds."""


@dataclass(frozen=True)
class SampleSearchRules:
    """``min_rows``: fewest distinct rows of a table sample; ``per_window`` searches per account every
    ``window`` seconds (0 searches: no limit)."""

    min_rows: int = DEFAULT_MIN_ROWS
    per_window: int = DEFAULT_PER_WINDOW
    window: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        if self.min_rows < 1 or self.per_window < 0 or self.window < 1:
            raise ValueError("sample search rules: min_rows and window must be positive, per_window not negative")


@dataclass(frozen=True)
class SearchRecord:
    """One sample search as the platform logged it: Unix seconds ``at``, the searcher's ``account``, the sample's
    ``kind`` (table, image, text; "" when unreadable) and its distinct ``rows`` (tables; 0 otherwise), the
    ``outcome`` ("answered", "too few rows", "rate limited", "unreadable") and the dataset ids it answered."""

    at: int
    account: str
    kind: str
    rows: int
    outcome: str
    matches: list[int]
    prev: str = ""


def distinct_rows(fp: Fingerprint) -> int:
    """Distinct normalised rows of a table fingerprint (``minhash-rows``): exact below the sketch's sample size
    (256), the KMV estimate above. ``ValidationError`` for a malformed fingerprint or one built with another
    sample size than the platform's (which would skew the estimate)."""
    from datagora.fingerprint.tables import MINHASH_ROWS

    sketch = MINHASH_ROWS.sketch(fp)
    if sketch.sample_size != MINHASH_ROWS.sample_size:
        raise ValidationError(f"table sample fingerprinted with sample size {sketch.sample_size}, expected 256")
    return int(sketch.cardinality)


def check_sample(fp: Fingerprint, min_rows: int) -> int:
    """The distinct rows of a table sample (0 for an image or a text); ``ValidationError`` in plain words when a
    table has fewer than ``min_rows``."""
    if fp.kind != "table":
        return 0
    rows = distinct_rows(fp)
    if rows < min_rows:
        raise ValidationError(
            f"the sample has {rows} different row{'s' if rows != 1 else ''}; search by sample needs at least "
            f"{min_rows}, so that it finds datasets and not the records of one person"
        )
    return rows


class SearchLog:
    """The platform's append-only log of sample searches: JSON lines at ``path`` (``None``: kept in memory), each
    with the SHA-256 of the previous line (``prev``). Thread-safe within one process."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._memory: list[str] = []
        self._last: str | None = None  # SHA-256 of the last line, read at the first append

    def _lines(self) -> list[str]:
        if self.path is None:
            return list(self._memory)
        try:
            return [line for line in self.path.read_text(encoding="utf-8").splitlines() if line]
        except FileNotFoundError:
            return []

    def append(self, record: SearchRecord) -> SearchRecord:
        """Write ``record`` (its ``prev`` set to the last line's SHA-256); returns it as written."""
        with self._lock:
            if self._last is None:
                lines = self._lines()
                self._last = _digest(lines[-1]) if lines else ""
            written = SearchRecord(**{**asdict(record), "prev": self._last})
            line = canonical_json(asdict(written)).decode()
            if self.path is None:
                self._memory.append(line)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
            self._last = _digest(line)
            return written

    def records(self, account: str | None = None) -> list[SearchRecord]:
        """Every logged search, oldest first (only ``account``'s when given)."""
        out = [SearchRecord(**json.loads(line)) for line in self._lines()]
        return [r for r in out if account is None or r.account.lower() == account.lower()]

    def verify(self) -> int:
        """Check the chain of line hashes; returns the number of lines. ``IntegrityError`` names the first line
        that does not follow from the one before (edited, inserted or removed)."""
        prev = ""
        lines = self._lines()
        for number, line in enumerate(lines, start=1):
            if json.loads(line).get("prev") != prev:
                raise IntegrityError(f"sample-search log line {number} does not follow line {number - 1}")
            prev = _digest(line)
        return len(lines)


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


class SampleSearchGuard:
    """Applies :class:`SampleSearchRules` to each search and records it in a :class:`SearchLog`. ``clock`` gives
    Unix seconds. The rate limit counts the searches of the last window found in the log when the guard starts,
    so restarting the platform's node (or the CLI running it) does not reset it."""

    def __init__(self, rules: SampleSearchRules, log: SearchLog, clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self.log = log
        self.clock = clock
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] | None = None  # read from the log at the first search

    def _load(self) -> dict[str, deque[float]]:
        if self._recent is None:
            recent: dict[str, deque[float]] = {}
            horizon = self.clock() - self.rules.window
            for record in self.log.records():
                if record.at > horizon and record.outcome != "rate limited":
                    recent.setdefault(record.account.lower(), deque()).append(record.at)
            self._recent = recent
        return self._recent

    def admit(self, account: str) -> None:
        """Count one search by ``account``; ``RateLimited`` (logged) when it made ``per_window`` already in the
        last window."""
        if self.rules.per_window == 0:
            return
        now = self.clock()
        with self._lock:
            recent = self._load().setdefault(account.lower(), deque())
            while recent and recent[0] <= now - self.rules.window:
                recent.popleft()
            if len(recent) >= self.rules.per_window:
                wait = max(1, int(recent[0] + self.rules.window - now + 0.999))
                self.record(account, "", 0, "rate limited")
                raise RateLimited(
                    f"{self.rules.per_window} searches by sample per {_period(self.rules.window)} at most: try again "
                    f"in {wait} s",
                    wait,
                )
            recent.append(now)

    def record(self, account: str, kind: str, rows: int, outcome: str, matches: list[int] | None = None) -> None:
        self.log.append(SearchRecord(int(self.clock()), account, kind, rows, outcome, list(matches or [])))


def _period(seconds: int) -> str:
    if seconds % 3600 == 0:
        return "hour" if seconds == 3600 else f"{seconds // 3600} hours"
    if seconds % 60 == 0:
        return "minute" if seconds == 60 else f"{seconds // 60} minutes"
    return f"{seconds} s"
