"""The platform's rate limit of searches by sample, without a chain: per account, per window, and kept across a
restart of the platform's node (it is read back from the search log)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.domain.errors import RateLimited
from datagora.services.sample_search import SampleSearchGuard, SampleSearchRules, SearchLog


def test_rate_limit_survives_a_restart(tmp_path: Path) -> None:
    now = [1_000_000.0]
    rules = SampleSearchRules(per_window=2, window=60)
    guard = SampleSearchGuard(rules, SearchLog(tmp_path / "log.jsonl"), clock=lambda: now[0])
    for _ in range(2):
        guard.admit("0xAbc")
        guard.record("0xAbc", "table", 40, "answered")
    restarted = SampleSearchGuard(rules, SearchLog(tmp_path / "log.jsonl"), clock=lambda: now[0] + 10)
    with pytest.raises(RateLimited, match="2 searches by sample per minute at most: try again in 50 s") as limited:
        restarted.admit("0xabc")
    assert limited.value.retry_after == 50
    restarted.admit("0xdef")  # per account
    now[0] += 61
    restarted.admit("0xabc")
