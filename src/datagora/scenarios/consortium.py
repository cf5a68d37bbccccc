"""Trades on a consortium chain: the same stage as the trade demo (:func:`datagora.scenarios.trade.setup`), then
as many short trades as wanted, each on a fresh table so the platform's novelty check accepts it. Used by the
consortium test and ``benchmarks/consortium.py``."""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from pathlib import Path

from datagora.scenarios.records import WEI
from datagora.scenarios.trade import TradeStage
from datagora.services import market, publishing

PRICE = WEI // 100
"""Asking price of each short trade's table, in wei."""


@dataclass(frozen=True)
class ShortTrade:
    """One short trade: the dataset's token id, its listing and order, and the transactions it took."""

    token_id: int
    listing_id: int
    order_id: int
    transactions: int


def write_table(path: Path, rows: int = 40) -> Path:
    """A CSV of ``rows`` random readings (its content is new each time, so its fingerprint is too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["sensor", "reading", "note"])
        for i in range(rows):
            out.writerow([f"s{i}", secrets.randbelow(10**9), secrets.token_hex(12)])
    return path


def short_trade(stage: TradeStage, number: int) -> ShortTrade:
    """Publish a fresh table by the seller, list it at :data:`PRICE`, buy it, deliver it, confirm it and
    withdraw the seller's proceeds: six transactions (seven the first time, when the seller also approves the
    Market), each waiting for the one before. Raises ``ChainError`` /
    ``TransactionReverted`` on failure."""
    c, people = stage.contracts, stage.people
    seller, buyer = people["seller"], people["buyer"]
    path = write_table(stage.workdir / "short" / f"table-{number}.csv")
    prepared = publishing.prepare(seller, path, name=f"Sensor readings {number}", domain="iot")
    token_id, _, _ = publishing.publish(c, seller, prepared, stage.attestor)
    listing_id, list_txs = market.list_dataset(c, seller, token_id, PRICE)
    order_id, _ = market.buy(c, buyer, listing_id)
    delivery = market.deliver(c, seller, order_id, out_dir=stage.workdir / "short" / "outbox")
    market.receive(c, buyer, order_id, delivery.path, buyer.home / f"received-{number}.csv")
    market.confirm(c, buyer, order_id)
    market.withdraw(c, seller)
    return ShortTrade(token_id, listing_id, order_id, 5 + len(list_txs))
