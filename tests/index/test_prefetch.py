"""The indexer's one-ahead fetch thread: results in order, the next job running while the caller works, errors
passed on, and nothing left running once the caller stops early."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from datagora.index.indexer import prefetched


def test_results_come_in_order_and_the_next_job_runs_meanwhile() -> None:
    started = [threading.Event() for _ in range(5)]
    caller = threading.get_ident()

    def job(i: int) -> int:
        assert threading.get_ident() != caller  # fetched in the background
        started[i].set()
        return i * i

    seen = []
    for result in prefetched(lambda i=i: job(i) for i in range(5)):
        seen.append(result)
        if len(seen) < 5:  # while the caller writes this page, the next one is being fetched (else: a 5 s timeout)
            assert started[len(seen)].wait(timeout=5)
    assert seen == [0, 1, 4, 9, 16]


def test_a_failed_job_raises_in_the_caller() -> None:
    def fail() -> int:
        raise ConnectionError("node went away")

    out = prefetched([lambda: 1, fail, lambda: 3])
    assert next(out) == 1
    with pytest.raises(ConnectionError, match="node went away"):
        next(out)


def test_stopping_early_waits_for_the_job_under_way() -> None:
    finished = threading.Event()

    def slow() -> int:
        time.sleep(0.2)
        finished.set()
        return 2

    with contextlib.closing(prefetched([lambda: 1, slow, lambda: 3])) as out:
        assert next(out) == 1  # ``slow`` is now running
    assert finished.is_set()  # closed only after it ended: no fetch runs on after a sync returns
