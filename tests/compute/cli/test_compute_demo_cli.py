"""``datagora demo compute`` as a real process on the embedded chain: a model runs on the seller's table and only
its result comes back, a raw-row job is refused with its rule and refunded; ``datagora compute --help`` lists the
five commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests import REPO_ROOT

STEPS = [
    r"published tumours\.csv as dataset #1",
    r"paid 0\.05 ETH into escrow \(job 1\)",
    r"inside it, accepted automatically",
    r"posted the hash of the result, encrypted to the buyer",
    r"hold-out accuracy \d+\.\d% on 143 rows it never saw",
    r"confirmed the result: the seller is owed 0\.05 ETH",
    r"refused it automatically: raw rows: the output predictions gives one value per row",
    r"the seller took 0\.05 ETH, the buyer its 0\.05 ETH refund",
    r"COMPLETED \(the requester confirmed the result, the owner is paid\)",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "datagora", *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


@pytest.mark.slow
def test_demo_compute_reports_every_step_in_order() -> None:
    done = run("demo", "compute", "--no-federated")  # the federated part: tests/federated/cli
    assert done.returncode == 0, done.stderr + done.stdout
    position = 0
    for step in STEPS:
        found = re.compile(step).search(done.stdout, position)
        assert found, f"missing or out of order: {step!r}\n{done.stdout}"
        position = found.end()


def test_compute_help_lists_the_commands() -> None:
    done = run("compute", "--help")
    assert done.returncode == 0, done.stderr
    for command in ("submit", "review", "approve", "reject", "run", "result"):
        assert re.search(rf"│ {command}\s", done.stdout), command
