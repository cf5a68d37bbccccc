"""Gas per step of every market scenario (Wu et al.: broker, reseller, use-right, negotiation, auction, the
dishonest behaviours of section IV.A), on the embedded EVM and, when Anvil is installed, on Anvil side by side.

    python benchmarks/gas_scenarios.py [--no-anvil] [--snapshot benchmarks/gas_scenarios_snapshot.json]

The figures are the ``gasUsed`` of the transaction receipts of the market scenarios
(:func:`datagora.scenarios.market.run`), the same functions ``datagora demo market`` and the integration tests run.
Then compares a whole fixed-price trade and a listing with Ocean Protocol's anchors (FACTS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datagora.chain.client import Chain, EmbeddedChain, RpcChain
from datagora.chain.devnode import AnvilNode, find_anvil
from datagora.scenarios import market
from datagora.scenarios.records import ScenarioResult

EMBEDDED = "embedded (py-evm)"
ANVIL = "anvil (JSON-RPC)"
DEFAULT_SNAPSHOT = Path(__file__).with_name("gas_scenarios_snapshot.json")
SEED = "datagora-gas-scenarios"
"""Fixed participants' keys: the same addresses on every run and backend, so calldata gas repeats. What still
varies is random calldata (salts, ciphertext hashes): 12 gas per zero byte (16 per non-zero byte, 4 per zero)."""

# FACTS.md "Anchors": Ocean Protocol contracts 2.6.0 on Anvil.
OCEAN_PUBLISH = 1_769_108  # createNftWithErc20WithFixedRate + setMetaData (1.7 KB DDO)
OCEAN_FIRST_PURCHASE = 389_112  # approve + buyDT + startOrder
OCEAN_SECOND_PURCHASE = 269_412
WIBSON_DATA_ORDER = 237_924  # createDataOrder


def run(chain: Chain, progress: Progress, label: str) -> market.MarketReport:
    task = progress.add_task(label, total=len(market.SCENARIOS) + 1)

    def on_scenario(scenario: ScenarioResult) -> None:
        if scenario.key != "setup":
            progress.advance(task)
        progress.update(task, description=f"{label}: {scenario.title}")

    with tempfile.TemporaryDirectory(prefix="datagora-gas-") as tmp:
        report = market.run(chain, Path(tmp), on_scenario=on_scenario, seed=SEED)
    progress.advance(task)
    failed = [s.title for s in report.scenarios if not s.ok]
    if failed:
        raise SystemExit(f"{label}: scenarios ended with another outcome than the paper's: {', '.join(failed)}")
    return report


def trade_figures(gas: dict[str, dict[str, int]]) -> dict[str, int]:
    """The anchors' counterparts in one run's ``{scenario: {step: gas}}``: a whole fixed-price trade of the broker
    scenario and the cost of putting a dataset on the market."""
    b, setup = gas["broker"], gas["setup"]
    trade = b["buy"] + b["deliver"] + b["confirm"] + b["withdraw (seller, ETH)"]
    return {
        "publish": setup["publish astronaut.png"],
        "approve NFTs": b["approve NFTs"],
        "list": b["list"],
        "publish + approve + list": setup["publish astronaut.png"] + b["approve NFTs"] + b["list"],
        "trade (buy+deliver+confirm+withdraw)": trade,
        "trade + buyer's collateral withdraw": trade + b["withdraw (buyer, ETH)"],
        "later trade (reseller buys: buy+deliver+confirm) + withdraw": (
            sum(gas["reseller_buy"][k] for k in ("buy", "deliver", "confirm")) + b["withdraw (seller, ETH)"]
        ),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-anvil", action="store_true", help="Only the embedded EVM, even when Anvil is installed.")
    ap.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT, help="Write the embedded figures here.")
    ap.add_argument("--no-snapshot", action="store_true", help="Do not write the snapshot.")
    args = ap.parse_args()
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    results: dict[str, dict[str, dict[str, int]]] = {}
    titles: dict[str, str] = {}
    seconds: dict[str, float] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        t0 = time.perf_counter()
        report = run(EmbeddedChain(), progress, "embedded")
        seconds[EMBEDDED] = time.perf_counter() - t0
        results[EMBEDDED] = report.gas()
        titles = {s.key: s.title for s in [report.setup, *report.scenarios]}
        if not args.no_anvil and find_anvil() is not None:
            with AnvilNode() as node:
                t0 = time.perf_counter()
                results[ANVIL] = run(RpcChain(node.url), progress, "anvil").gas()
                seconds[ANVIL] = time.perf_counter() - t0
    if ANVIL not in results:
        console.print("[yellow]Anvil not run (not installed or --no-anvil): embedded EVM only.[/]")

    backends = list(results)
    table = Table(
        title="Gas per step of each market scenario (transaction receipts)",
        caption="Δ in steps of 12 gas: a zero byte of random calldata (salts, ciphertext hashes) costs 4 gas, not 16",
    )
    table.add_column("scenario")
    table.add_column("step")
    for backend in backends:
        table.add_column(backend, justify="right")
    if len(backends) > 1:
        table.add_column("Δ", justify="right")
    base = results[EMBEDDED]
    for key, steps in base.items():
        for i, (step, gas) in enumerate(steps.items()):
            cells = [f"{r.get(key, {}).get(step, 0):,}" for r in results.values()]
            row = [titles[key] if i == 0 else "", step, *cells]
            if len(backends) > 1:
                other = results[ANVIL].get(key, {}).get(step, 0)
                row.append("" if other == gas else f"{other - gas:+,}")
            table.add_row(*row)
        table.add_section()
    totals = [f"{sum(sum(s.values()) for s in r.values()):,}" for r in results.values()]
    table.add_row("all scenarios", "total", *totals, *([""] if len(backends) > 1 else []))
    console.print(table)

    anchors = Table(title="Against the anchors (FACTS.md): Ocean Protocol 2.6.0 on Anvil")
    anchors.add_column("Datagora")
    for backend in backends:
        anchors.add_column(backend, justify="right")
    anchors.add_column("anchor")
    anchors.add_column("share", justify="right")
    anchors.add_column("target")
    figures = {b: trade_figures(r) for b, r in results.items()}
    comparisons = {
        "publish": ("Ocean publish", OCEAN_PUBLISH, ""),
        "list": ("Ocean publish", OCEAN_PUBLISH, ""),
        "publish + approve + list": ("Ocean publish", OCEAN_PUBLISH, "≤ 10 %"),
        "trade (buy+deliver+confirm+withdraw)": ("Ocean first purchase", OCEAN_FIRST_PURCHASE, "≤ 50 %"),
        "trade + buyer's collateral withdraw": ("Ocean first purchase", OCEAN_FIRST_PURCHASE, "≤ 50 %"),
        "later trade (reseller buys: buy+deliver+confirm) + withdraw": (
            "Ocean second purchase",
            OCEAN_SECOND_PURCHASE,
            "≤ 50 %",
        ),
    }
    for key, (name, anchor, target) in comparisons.items():
        ours = figures[EMBEDDED][key]
        share = ours / anchor
        met = (
            ""
            if not target
            else (" [green]met[/]" if share <= float(target.strip("≤ %")) / 100 else " [red]not met[/]")
        )
        anchors.add_row(
            key, *[f"{f[key]:,}" for f in figures.values()], f"{name} {anchor:,}", f"{share:.1%}", target + met
        )
    console.print(anchors)
    console.print(
        f"Wibson's createDataOrder: {WIBSON_DATA_ORDER:,} gas; Datagora list: {figures[EMBEDDED]['list']:,}. "
        "The listing includes the platform's management fee (0.001 ETH, first credit of the platform's pending "
        "withdrawal) and the seller's ether collateral (100 % of the price)."
    )
    console.print(
        "Time: " + ", ".join(f"{b} {s:.1f} s" for b, s in seconds.items()) + " (whole run incl. off-chain work)"
    )
    if not args.no_snapshot:
        args.snapshot.write_text(json.dumps(results[EMBEDDED], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"gas snapshot (embedded) written to {args.snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
