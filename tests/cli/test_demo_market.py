"""``datagora demo market``: every market scenario of the trading paper in one command on the embedded chain
(``slow``: about 30-45 s), and the exit code when a scenario does not end as the paper states."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from datagora.services import demo_market
from tests.cli.conftest import failed, invoke, ok

TITLES = [title for _, title, _, _ in demo_market.SCENARIOS]


@pytest.mark.slow
def test_demo_market_walks_every_scenario_on_the_embedded_chain(tmp_path: Path) -> None:
    out = ok(invoke(["demo", "market", "--workdir", str(tmp_path / "work")]))
    assert "Datagora market demo on the embedded chain" in out
    text = " ".join(out.split())
    pos = 0
    for number, title in enumerate(TITLES, 1):  # each scenario announced, in order
        match = re.compile(re.escape(f"{number}. {title}")).search(text, pos)
        assert match, f"no scenario {number} {title!r} after offset {pos}:\n{out}"
        pos = match.end()
    verdicts = out[out.index("Outcomes: chain vs. paper") :]
    assert verdicts.count("✓") == len(TITLES) and "✗" not in verdicts
    for outcome in ("CONFIRMED", "FOR_BUYER", "FOR_SELLER", "REDELIVERED", "NOT_DELIVERED", "RELEASED"):
        assert outcome in verdicts
    assert "Gas per step (transaction receipts)" in out
    assert f"All {len(TITLES)} scenarios ended as the paper states." in text
    assert "Market escrow 0 ETH and 0 DGD" in text
    assert (tmp_path / "work" / "seller").is_dir()  # --workdir keeps the participants' stores


def test_demo_market_exits_1_when_a_scenario_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake(console: Any, workdir: Path | None = None, rpc_url: str | None = None) -> SimpleNamespace:
        calls.append((workdir, rpc_url))
        scenarios = [SimpleNamespace(title="Broker sale", ok=True), SimpleNamespace(title="Auction", ok=False)]
        return SimpleNamespace(ok=False, scenarios=scenarios)

    monkeypatch.setattr(demo_market, "run_market_demo", fake)
    result = invoke(["demo", "market", "--rpc-url", "http://127.0.0.1:1"])
    message = result.stderr.strip()
    assert result.exit_code == 1 and message.startswith("error: ") and "Traceback" not in result.stdout
    assert "did not end as the paper states: Auction" in message
    assert calls == [(None, "http://127.0.0.1:1")]

    refused = invoke(["demo", "auction"])  # only trade and market exist
    assert refused.exit_code == 2 and "auction" in refused.stderr


def test_demo_without_argument_is_still_the_single_trade(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise AssertionError("the market demo ran")

    monkeypatch.setattr(demo_market, "run_market_demo", boom)
    failed(invoke(["demo", "--rpc-url", "http://127.0.0.1:1"]), "127.0.0.1:1")  # the trade demo's own error
