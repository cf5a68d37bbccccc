"""``datagora demo market``: every market scenario in one command on the embedded chain (``slow``: the scenarios
themselves are asserted on every backend by tests/market/test_market_scenarios.py), and the exit code when a
scenario does not end as expected."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from datagora.chain import client
from datagora.scenarios import market
from datagora.scenarios.records import Check, ScenarioResult
from tests.kits.cli_fixtures import failed, invoke, ok


@pytest.mark.slow
def test_demo_market_walks_every_scenario_on_the_embedded_chain(tmp_path: Path) -> None:
    out = ok(invoke(["demo", "market", "--workdir", str(tmp_path / "work"), "--gas"]))
    assert "Datagora market demo on the embedded chain" in out
    pos = 0
    for number, scenario in enumerate(market.SCENARIOS, 1):  # each scenario announced in order, with its verdict
        match = re.compile(
            re.escape(f"{number}. {scenario.title}") + r"\n(.*\n)*?\s+✓ " + re.escape(scenario.expected)
        ).search(out, pos)
        assert match, f"no scenario {number} {scenario.title!r} ending in ✓ {scenario.expected} after {pos}:\n{out}"
        pos = match.end()
    assert "✗" not in out and "§" not in out
    assert "Gas per step" in out and "from transaction receipts" in out
    assert f"All {len(market.SCENARIOS)} scenarios ended as expected; the Market holds nothing." in out
    assert (tmp_path / "work" / "seller").is_dir()  # --workdir keeps the participants' stores


def _fake_run(calls: list[Path]) -> Any:
    def run(chain: Any, workdir: Path, **hooks: Any) -> SimpleNamespace:
        calls.append(workdir)
        good = ScenarioResult("broker", "A sale through the platform", "CONFIRMED", "CONFIRMED")
        bad = ScenarioResult("auction", "Auction paid in a token", "CONFIRMED", "CONFIRMED")
        bad.checks.append(Check("the winner owns the dataset", False))
        setup = ScenarioResult("setup", "Setting up the market", "")
        for scenario in (setup, good, bad):
            hooks["on_scenario"](scenario)
        return SimpleNamespace(setup=setup, scenarios=[good, bad], escrow_empty=True, seconds=1.0)

    return run


def test_demo_market_exits_1_when_a_scenario_differs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(market, "run", _fake_run(calls))
    monkeypatch.setattr(client, "connect", lambda url: SimpleNamespace(kind="rpc", chain_id=31337))
    result = invoke(["demo", "market", "--rpc-url", "http://127.0.0.1:1", "--workdir", str(tmp_path)])
    message = result.stderr.strip()
    assert result.exit_code == 1 and message.startswith("error: ") and "Traceback" not in result.stdout
    assert "did not end as expected: Auction paid in a token" in message
    assert "✗ the winner owns the dataset" in result.stdout
    assert calls == [tmp_path]

    refused = invoke(["demo", "auction"])  # only the trade and `market` exist
    assert refused.exit_code == 2 and "auction" in refused.stderr


def test_demo_without_argument_is_still_the_single_trade(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise AssertionError("the market demo ran")

    monkeypatch.setattr(market, "run", boom)
    failed(invoke(["demo", "--rpc-url", "http://127.0.0.1:1"]), "127.0.0.1:1")  # the trade demo's own error
