"""Time of a shop node's purchase-history feed (``datagora.services.shop_history.feed``) with 0 and with N prior
orders, on the embedded chain.

    python benchmarks/shop_history_feed.py [--orders 1000] [--customers 50]

Setup: the Datagora contract set, the shop's organisation audited, its shop open, ``--customers`` customers who
pay ``--orders`` orders between them (one item each, round robin) through ``Shop.vy``, the shop node's index
synced. Each row is one feed after an index sync: the orders it read (the shop store's quote lookups, one per
order row read from the index), the histories it published and its wall time. The feed is incremental: with
no new order it reads none, and one new order costs the same with 0 or N prior orders (it reads that order and
its customer's earlier ones). The last line times reading every order from the index once, what each feed paid
before it kept a cursor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.models import OrgStatus
from datagora.index import EventIndexer, open_engine
from datagora.services import registry, shop, shop_history
from datagora.services.participant import Participant
from datagora.storage.shop_store import ShopStore

ETHER = 10**18
DAY = 86_400
CATALOGUE = "sku,name,category,price_eth,stock,description\nMUG,Stoneware mug,tableware,0.001,1000000,\n"


class Feeder:
    """The shop node: its service, index and participant, and a count of the orders each feed reads."""

    def __init__(self, home: Path, customers: int) -> None:
        self.chain = EmbeddedChain()
        self.chain.fixed_gas = 8_000_000  # no gas estimation per transaction
        supervisor, platform, seller = (Participant(n, Account.create(), home / n) for n in ("sv", "pf", "shop"))
        for p in (supervisor, platform, seller):
            self.chain.fund(p.address, 1_000 * ETHER)
        self.contracts = c = Contracts.deploy(self.chain, supervisor.account, platform.account)
        org, _ = registry.register_organisation(c, seller, "Benchmark Shop")
        registry.set_status(c, supervisor.account, org.id, OrgStatus.AUDITED)
        shop.open_shop(c, seller.account, bond=10 * ETHER, delivery_window=DAY, confirm_window=DAY)
        engine = open_engine(f"sqlite:///{home / 'index.db'}")
        self.indexer = EventIndexer(c, engine)
        store = ShopStore(home / "shop.sqlite")
        self.service = shop.ShopService(c, seller.account, shop.parse_catalogue(CATALOGUE), store, engine)
        self.seller = seller
        self.customers = [Account.create() for _ in range(customers)]
        for customer in self.customers:
            self.chain.fund(customer.address, 100 * ETHER)
        self.reads = 0
        real = store.quote

        def counted(order_hash: str) -> Any:
            self.reads += 1
            return real(order_hash)

        store.quote = counted  # type: ignore[method-assign]
        self.paid = 0

    def pay(self, count: int) -> None:
        for _ in range(count):
            customer = self.customers[self.paid % len(self.customers)]
            self.service.add(customer.address, "MUG")
            shop.pay(self.contracts, customer, self.service.quote(customer.address))
            self.paid += 1
        self.indexer.sync()

    def feed(self) -> tuple[int, int, float]:
        """(orders read, histories published, seconds) of one feed."""
        self.reads = 0
        started = time.perf_counter()
        updates = shop_history.feed(self.service, self.seller)
        return self.reads, len(updates), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node = Feeder(Path(tmp), args.customers)
        rows = []
        node.pay(1)
        rows.append(("0 prior orders, 1 new", *node.feed()))
        rows.append(("1 prior order, none new", *node.feed()))
        started = time.perf_counter()
        node.pay(args.orders - 1)
        print(f"paid and indexed {args.orders - 1:,} orders in {time.perf_counter() - started:.1f} s")
        rows.append((f"1 prior order, {args.orders - 1:,} new (catching up)", *node.feed()))
        rows.append((f"{args.orders:,} prior orders, none new", *node.feed()))
        node.pay(1)
        rows.append((f"{args.orders:,} prior orders, 1 new", *node.feed()))
        started = time.perf_counter()
        every = len(node.service.orders())
        full = time.perf_counter() - started
        print(f"{'feed':<44} {'orders read':>11} {'published':>9} {'seconds':>8}")
        for label, reads, published, seconds in rows:
            print(f"{label:<44} {reads:>11,} {published:>9} {seconds:>8.3f}")
        print(f"reading every order once ({every:,}), what each feed did before: {full:.3f} s")
        node.indexer.engine.dispose()


if __name__ == "__main__":
    main()
