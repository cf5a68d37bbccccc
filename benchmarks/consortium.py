"""Datagora on a consortium chain of three Clique signers (``@ethereumjs/client`` from npm) on 127.0.0.1: trades
per minute with three signers and with two, and the time a restarted signer takes to catch up.

    python benchmarks/consortium.py [--trades 4] [--period 2]

A trade here is the short trade of :func:`datagora.scenarios.consortium.short_trade` (publish a fresh table, list,
buy, deliver, confirm, withdraw: six transactions, seven the first time, each waiting for the one before), sent to
signer 0. The chain makes a block every ``--period`` seconds. Steps, printed side by side at the end:

1. three signers: ``--trades`` trades, timed;
2. signer 2 killed (SIGKILL): ``--trades`` trades on the other two, timed;
3. signer 2 restarted: seconds from its start until it holds the chain's head block (the same hash as signer 0),
   and how many blocks it had to fetch.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.table import Table

from datagora.chain.client import RpcChain
from datagora.chain.consortium import Consortium
from datagora.scenarios import trade
from datagora.scenarios.consortium import short_trade
from datagora.scenarios.records import WEI


def timed_trades(stage: trade.TradeStage, count: int, first: int) -> tuple[float, int]:
    """Run ``count`` short trades; returns (seconds, transactions)."""
    started, txs = time.monotonic(), 0
    for i in range(count):
        txs += short_trade(stage, first + i).transactions
    return time.monotonic() - started, txs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=4, help="trades per step (default 4)")
    parser.add_argument("--period", type=int, default=2, help="seconds between blocks (default 2)")
    args = parser.parse_args()
    console = Console()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="datagora-consortium-") as tmp:
        funder = Account.create()
        network = Consortium(Path(tmp) / "network")
        network.create(3, {funder.address: 10**24}, period=args.period)
        try:
            with console.status("starting three signers …"):
                started = time.monotonic()
                network.start()
                network.wait_for_block(1, timeout=120)
            rows.append(("start and agree on block 1", f"{time.monotonic() - started:.1f} s", "3 signers"))
            chain = RpcChain(network.signers()[0].url)
            with console.status("deploying Datagora and registering the organisations …"):
                started = time.monotonic()
                stage = trade.setup(chain, Path(tmp) / "work", funder=funder, fund_wei=50 * WEI)
            rows.append(("deploy 13 contracts + register + audit", f"{time.monotonic() - started:.1f} s", ""))

            with console.status(f"{args.trades} trades with three signers …"):
                seconds, txs = timed_trades(stage, args.trades, 1)
            rows.append(
                ("trades per minute, 3 signers", f"{60 * args.trades / seconds:.2f}", f"{txs} tx in {seconds:.0f} s")
            )

            network.kill(2)
            down_at = chain.block_number()
            with console.status(f"{args.trades} trades with signer 2 killed …"):
                seconds, txs = timed_trades(stage, args.trades, 100)
            rows.append(
                ("trades per minute, 2 signers", f"{60 * args.trades / seconds:.2f}", f"{txs} tx in {seconds:.0f} s")
            )

            with console.status("restarting signer 2 …"):
                started = time.monotonic()
                network.start(2)
                head = chain.block_number()
                network.wait_for_block(head, indexes=[0, 1, 2], timeout=300)
            seconds = time.monotonic() - started
            rows.append(("restarted signer catches up", f"{seconds:.1f} s", f"{head - down_at} blocks missed"))
        finally:
            network.destroy()
    table = Table(title=f"Datagora on a consortium of @ethereumjs/client Clique signers, {args.period} s blocks")
    for column in ("figure", "value", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
