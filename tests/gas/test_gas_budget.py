"""The gas gate: every operation of an ownership trade costs at most 2 % more than the committed snapshot
(``benchmarks/gas_snapshot.json``).

The operations are those of ``benchmarks/gas.py`` (register, audit, publish, approve, list, buy, deliver,
confirm, withdraw, rate and the whole trade), played once on a fresh deployment on the embedded EVM with the
same service calls the CLI makes; gas is each receipt's ``gasUsed``. A change that makes one dearer fails here,
naming it, unless the same commit updates the snapshot (``python benchmarks/gas.py --snapshot
benchmarks/gas_snapshot.json``). Participants' keys are random, so calldata varies by a few dozen gas between
runs (a zero byte costs 4 gas, a non-zero one 16): far below the 2 % allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.gas import OPS, operations

from datagora.chain.client import EmbeddedChain

SNAPSHOT = Path(__file__).resolve().parents[2] / "benchmarks" / "gas_snapshot.json"
TRADE = "trade (buy+deliver+confirm+withdraw)"
ALLOWED_RISE = 0.02


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    return operations(EmbeddedChain(), tmp_path_factory.mktemp("gas"))[0]


def test_snapshot_names_every_operation() -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    missing = [op for op in (*OPS, TRADE) if op not in snapshot]
    assert not missing, f"gas_snapshot.json lacks {missing}: regenerate it with benchmarks/gas.py --snapshot"


def test_no_operation_costs_more_than_the_snapshot_allows(measured: dict[str, float]) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    over = {
        op: (int(snapshot[op]), int(gas))
        for op, gas in measured.items()
        if op in snapshot and gas > snapshot[op] * (1 + ALLOWED_RISE)
    }
    assert not over, "above the gas snapshot by more than 2 %: " + "; ".join(
        f"{op} {old:,} -> {new:,} gas ({(new - old) / old:+.1%})" for op, (old, new) in over.items()
    )


def test_the_trade_is_the_sum_of_its_steps(measured: dict[str, float]) -> None:
    assert measured[TRADE] == sum(measured[op] for op in ("buy", "deliver", "confirm", "withdraw"))
    assert all(measured[op] > 21_000 for op in OPS)  # every step is a transaction that did some work
