"""``datagora demo points`` as a real process on the embedded chain: the case study a line per step, the tier
on chain equal to the plain computation (Hu, Xin, Deng, Qian, section 2.3); ``datagora points --help``."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests import REPO_ROOT

STEPS = [
    r"deployed the Points contract at 0x[0-9a-fA-F]{40}",
    r"registered the brand 'Cufflinks & Co' \(#1\) and its 3 computing\s+parties",
    r"Mallory bought cufflinks at the store: 2600 brand points",
    r"holds 3200 points of Mallory's in its own records \(private\)",
    r"computed the tier in 3 processes\s+over TLS .* tier 2 \(gold\),\s+score\s+150,000",
    r"posted the tier with all 3 parties' signatures",
    r"Mallory paid 600 points at checkout",
    r"Tier 2 on chain, the same as computing it in the clear from 2600 \+ 3200\s+points",
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "datagora", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_demo_points_reports_every_step_in_order() -> None:
    done = run("demo", "points")
    assert done.returncode == 0, done.stderr
    position = 0
    for step in STEPS:
        found = re.compile(step).search(done.stdout, position)
        assert found, f"missing or out of order: {step!r}\n{done.stdout}"
        position = found.end()


def test_points_help_names_its_commands() -> None:
    done = run("points", "--help")
    assert done.returncode == 0, done.stderr
    for command in ("balance", "issue", "spend", "send", "history", "compute"):
        assert re.search(rf"\b{command}\b", done.stdout), done.stdout
