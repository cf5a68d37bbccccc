"""``datagora demo``: the whole trade in one command, as a real process through the console entry point, on the
embedded chain (the trade itself is asserted on every backend by tests/trade/test_trade.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests import REPO_ROOT

# One phrase per step the demo must report, in order: a line per step, in plain words.
STEPS = [
    ("funding", r"gave 4 new accounts 100 ETH each"),
    ("deployment", r"deployed the contracts: Registry"),
    ("registration", r"registered the organisation 'Acme Data Ltd'"),
    ("audit", r"audited 'Acme Data Ltd': it may now trade"),
    ("publish CSV", r"published breast_cancer_wisconsin\.csv as dataset #1"),
    ("publish PNG", r"published astronaut\.png as dataset #2"),
    (
        "novelty refusal",
        r"refused to accept a cropped, brightened copy of the photo \(refused: near-duplicate of dataset 2",
    ),
    ("listing", r"put dataset #1 up for sale at 0\.5 ETH, with 0\.5 ETH collateral"),
    ("search", r"searched for 'cancer' and found 'Breast Cancer Wisconsin diagnostic'"),
    ("purchase", r"paid 0\.5 ETH and 0\.5 ETH collateral"),
    ("delivery", r"encrypted the data to the buyer's key"),
    ("decryption verified", r"decrypted [\d,]+ bytes; their hash matches the published one"),
    ("confirmation", r"confirmed receipt: dataset #1 now belongs to the buyer"),
    ("withdrawal", r"seller\s+withdrew 0\.9875 ETH: the price less the platform's fee, and its collateral"),
    ("collateral withdrawal", r"buyer\s+withdrew its 0\.5 ETH collateral"),
    ("fee withdrawal", r"platform\s+withdrew its fee of 0\.0125 ETH"),
    ("summary", r"Trade completed: dataset #1 sold for 0\.5 ETH"),
]


def _entry_point() -> list[str]:
    """The installed ``datagora`` console script next to this interpreter, else ``python -m datagora``."""
    script = Path(sys.executable).with_name("datagora")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "datagora"]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env["COLUMNS"] = "200"
    env["PYTHONPATH"] = str(REPO_ROOT / "src")
    return env


def test_demo_on_the_embedded_chain_as_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*_entry_point(), "demo", "--gas"], capture_output=True, text=True, env=_clean_env(), cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stderr == ""
    out = proc.stdout
    assert "a data trade on the embedded chain" in out
    pos = 0
    for step, pattern in STEPS:
        match = re.compile(pattern).search(out, pos)
        assert match, f"demo output lacks the {step} step ({pattern!r}) after offset {pos}:\n{out}"
        pos = match.end()
    # Short: a line per step (plus title, gas table and summary); no tx hashes, no paper sections.
    before_table = out.split("Gas per operation")[0]
    assert len(before_table.splitlines()) <= 25
    assert "0x" not in before_table.split("deployed the contracts")[1] and "§" not in out
    gas_rows = dict(re.findall(r"│ (\w+)\s+│\s+(\d+) │", out.split("Gas per operation")[1]))
    assert gas_rows == {
        "register": "3",
        "audit": "3",
        "publish": "2",
        "approve": "1",
        "list": "2",
        "buy": "1",
        "deliver": "1",
        "confirm": "1",
        "withdraw": "3",
    }
    assert list(tmp_path.iterdir()) == []  # the default workdir is a temporary directory, removed afterwards


def test_python_dash_m_datagora_runs_the_same_app() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "datagora", "--help"], capture_output=True, text=True, env=_clean_env(), timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("demo", "deploy", "publish", "buy", "audit"):
        assert command in proc.stdout
