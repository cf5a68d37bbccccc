"""``datagora demo``: the whole trade in one command, on the embedded chain (as a real process, through the
console entry point) and on the session Anvil node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from datagora.chain.client import RpcChain
from tests.cli.conftest import invoke, ok

# One phrase per step the demo must report, in order.
STEPS = [
    ("funding", r"funded 4 new accounts"),
    ("deployment", r"deployed Registry"),
    ("registration", r"registered organisation 'Acme Data Ltd'"),
    ("audit", r"audited organisation #\d+ 'Acme Data Ltd' → AUDITED"),
    ("publish CSV", r"published breast_cancer_wisconsin\.csv as dataset #1"),
    ("publish PNG", r"published astronaut\.png as dataset #2"),
    (
        "novelty refusal",
        r"refused to attest a cropped, brightened, re-encoded copy of the photo: refused: near-duplicate of dataset 2",
    ),
    ("listing", r"listed dataset #1 as listing #1 for 0\.5 ETH, posting 0\.5 ETH collateral"),
    ("search", r"searched 'cancer'"),
    ("purchase", r"bought listing #1: 0\.5 ETH plus 0\.5 ETH collateral held in escrow"),
    ("delivery", r"deliver(ed)?:? .*encrypted the data to the buyer's key"),
    ("decryption verified", r"received and decrypted \d+ bytes; sha256 matches Catalog"),
    ("confirmation", r"confirmed order #1"),
    ("withdrawal", r"seller +withdrew [\d.]+ ETH: the price less the fee, and its collateral"),
    ("collateral withdrawal", r"buyer +withdrew its [\d.]+ ETH collateral"),
    ("fee withdrawal", r"platform +withdrew the \d+ bps fee"),
    ("audit trail", r"Audit trail"),
    ("summary", r"Trade completed"),
]
# Events the audit trail table must show.
TRAIL_EVENTS = [
    "OrganisationRegistered",
    "MemberJoined",
    "StatusChanged",
    "DatasetPublished",
    "Listed",
    "OrderPaid",
    "Delivered",
    "Settled",
    "Withdrawn",
]


def check_demo_output(out: str) -> None:
    text = " ".join(out.split())  # Rich wraps long step lines at spaces
    pos = 0
    for step, pattern in STEPS:
        match = re.compile(pattern).search(text, pos)
        assert match, f"demo output lacks the {step} step ({pattern!r}) after offset {pos}:\n{out}"
        pos = match.end()
    trail = out[out.index("Audit trail") :]
    for event in TRAIL_EVENTS:
        assert event in trail, f"audit trail lacks {event}:\n{trail}"
    assert "Traceback" not in out


def _entry_point() -> list[str]:
    """The installed ``datagora`` console script next to this interpreter, else ``python -m datagora``."""
    script = Path(sys.executable).with_name("datagora")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "datagora"]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env["COLUMNS"] = "200"
    return env


def test_demo_on_the_embedded_chain_as_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*_entry_point(), "demo"], capture_output=True, text=True, env=_clean_env(), cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert "on the embedded chain" in proc.stdout
    check_demo_output(proc.stdout)
    gas_rows = dict(re.findall(r"│ (\w+)\s+│\s+(\d+) │", proc.stdout.split("Gas used (transaction receipts)")[1]))
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


def test_demo_on_anvil(chain_snapshot: RpcChain, anvil_url: str, tmp_path: Path) -> None:
    before = chain_snapshot.block_number()
    out = ok(invoke(["demo", "--rpc-url", anvil_url, "--workdir", tmp_path / "work"]))
    assert "on the rpc chain (chain id 31337)" in out
    check_demo_output(out)
    assert chain_snapshot.block_number() > before  # the trade really happened on Anvil
    assert (tmp_path / "work" / "buyer" / "received.csv").is_file()  # --workdir keeps the participants' stores
