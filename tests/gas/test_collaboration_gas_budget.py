"""The Collaboration gas gate: every operation of ``benchmarks/collaboration_gas.py`` (deployment, offers and
negotiation rounds, forming and joining a DAO, revenue paid and withdrawn, infrastructure request, heartbeat,
channel key and post, termination, closing, ratings) costs at most 2 % more than the committed snapshot
(``benchmarks/collaboration_gas_snapshot.json``), played once on a fresh embedded chain. A change that makes one
dearer fails here, naming it, unless the same commit updates the snapshot (``python
benchmarks/collaboration_gas.py --snapshot benchmarks/collaboration_gas_snapshot.json``). About 33 transactions,
each with a gas estimate, take 2-7 s on the embedded EVM: marked slow (CI runs it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.collaboration_gas import operations

from datagora.chain.client import EmbeddedChain

SNAPSHOT = Path(__file__).resolve().parents[2] / "benchmarks" / "collaboration_gas_snapshot.json"
ALLOWED_RISE = 0.02

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    return operations(EmbeddedChain(), tmp_path_factory.mktemp("collaboration-gas"))


def test_snapshot_names_every_operation(measured: dict[str, int]) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    assert sorted(snapshot) == sorted(measured), "regenerate the snapshot with benchmarks/collaboration_gas.py"


def test_no_operation_costs_more_than_the_snapshot_allows(measured: dict[str, int]) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    over = {op: (snapshot[op], gas) for op, gas in measured.items() if gas > snapshot[op] * (1 + ALLOWED_RISE)}
    assert not over, "above the Collaboration gas snapshot by more than 2 %: " + "; ".join(
        f"{op} {old:,} -> {new:,} gas ({(new - old) / old:+.1%})" for op, (old, new) in over.items()
    )


def test_every_operation_is_a_transaction_that_did_work(measured: dict[str, int]) -> None:
    assert all(gas > 21_000 for gas in measured.values())
    assert measured["accept (form DAO)"] > measured["accept (join, 3rd member)"]  # forming seats two members
