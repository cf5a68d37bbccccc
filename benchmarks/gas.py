"""Gas per operation of an ownership trade and publishes per second, on the embedded EVM and on Anvil, side by
side in one run.

    python benchmarks/gas.py [--publishes 40] [--snapshot benchmarks/gas_snapshot.json]

Gas figures come from transaction receipts. "publish (service)" is the whole seller + platform path (describe,
encrypt into the store, ECIES request, novelty check, EIP-712 signature, mint); "publish (chain)" sends
pre-attested publish transactions only.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from datagora.chain.client import Chain, EmbeddedChain, RpcChain
from datagora.chain.contracts import Contracts
from datagora.chain.devnode import AnvilNode
from datagora.crypto.eip712 import description_hash, novelty_attestation, sign_typed_data
from datagora.domain.models import DatasetDescription, OrgStatus
from datagora.services import market, publishing, registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant

ETHER = 10**18
OPS = ("register", "audit", "publish", "approve", "list", "buy", "deliver", "confirm", "withdraw", "rate")


def _table(path: Path, seed: int, rows: int = 200) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "x", "y"])
        for i in range(rows):
            w.writerow([i, rng.random(), rng.random()])
    return path


def operations(chain: Chain, work: Path) -> tuple[dict[str, float], Contracts, dict[str, Participant]]:
    """Gas (receipt ``gasUsed``) of each operation in :data:`OPS` of one ownership trade on a fresh deployment
    on ``chain``, plus the whole trade (buy + deliver + confirm + withdraw); the CI gate
    (``tests/gas/test_gas_budget.py``) runs this on the embedded EVM against ``gas_snapshot.json``."""
    people = {n: Participant(n, Account.create(), work / n) for n in ("supervisor", "platform", "seller", "buyer")}
    for p in people.values():
        chain.fund(p.address, 1000 * ETHER)
    c = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    out: dict[str, float] = {}
    org, tx = registry.register_organisation(c, people["seller"], "Seller")
    out["register"] = tx.gas_used
    borg, _ = registry.register_organisation(c, people["buyer"], "Buyer")
    _, tx = registry.set_status(c, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    out["audit"] = tx.gas_used
    registry.set_status(c, people["supervisor"].account, borg.id, OrgStatus.AUDITED)
    pub_org, _ = registry.register_organisation(c, people["platform"], "Platform")
    registry.set_status(c, people["supervisor"].account, pub_org.id, OrgStatus.AUDITED)
    attestor = NoveltyAttestor(c, people["platform"].account, ":memory:")

    seller, buyer = people["seller"], people["buyer"]
    prepared = publishing.prepare(seller, _table(work / "t0.csv", 0), name="bench")
    token_id, _, tx = publishing.publish(c, seller, prepared, attestor)
    out["publish"] = tx.gas_used
    listing_id, txs = market.list_dataset(c, seller, token_id, ETHER)
    out["approve"], out["list"] = txs[0].gas_used, txs[-1].gas_used
    order_id, tx = market.buy(c, buyer, listing_id)
    out["buy"] = tx.gas_used
    out["deliver"] = market.deliver(c, seller, order_id).tx.gas_used
    out["confirm"] = market.confirm(c, buyer, order_id).gas_used
    out["withdraw"] = market.withdraw(c, seller)[1].gas_used
    out["rate"] = c.reputation.rate(buyer.account, order_id, 5).gas_used
    out["trade (buy+deliver+confirm+withdraw)"] = out["buy"] + out["deliver"] + out["confirm"] + out["withdraw"]
    return out, c, people


def run(chain: Chain, work: Path, publishes: int, progress: Progress, label: str) -> dict[str, float]:
    out, c, people = operations(chain, work)
    seller = people["seller"]
    attestor = NoveltyAttestor(c, people["platform"].account, ":memory:")

    # Whole service path, sequential.
    files = [_table(work / f"s{i}.csv", 1000 + i) for i in range(publishes)]
    task = progress.add_task(f"{label}: publish (service)", total=publishes)
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        publishing.publish(c, seller, publishing.prepare(seller, f, name=f"s{i}"), attestor)
        progress.advance(task)
    out["publish/s (service)"] = publishes / (time.perf_counter() - t0)

    # Chain only: pre-signed attestations, one transaction per publish.
    platform = people["platform"]
    jobs = []
    for i in range(publishes):
        content = random.Random(i).randbytes(32)
        expiry = chain.now() + 3600
        desc = DatasetDescription("bench", f"d{i}", "a,b,c", 100, content)
        described = description_hash(seller.address, desc)
        sig = sign_typed_data(
            bytes(platform.account.key),
            novelty_attestation(
                c.chain.chain_id,
                c.addresses["Catalog"],
                seller.address,
                content,
                described,
                bytes(32),
                bytes(32),
                expiry,
            ),
        )
        jobs.append((desc, expiry, sig))
    task = progress.add_task(f"{label}: publish (chain)", total=publishes)
    t0 = time.perf_counter()
    gas = []
    for desc, expiry, sig in jobs:
        gas.append(c.catalog.publish(seller.account, desc, bytes(32), bytes(32), expiry, sig)[1].gas_used)
        progress.advance(task)
    out["publish/s (chain)"] = publishes / (time.perf_counter() - t0)
    out["publish gas (median)"] = statistics.median(gas)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--publishes", type=int, default=40)
    ap.add_argument("--snapshot", type=Path, default=None, help="Write the gas figures as JSON here.")
    args = ap.parse_args()
    console = Console()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        results["embedded (py-evm)"] = run(EmbeddedChain(), Path(tmp) / "e", args.publishes, progress, "embedded")
        with AnvilNode() as node:
            results["anvil (JSON-RPC)"] = run(RpcChain(node.url), Path(tmp) / "a", args.publishes, progress, "anvil")
    table = Table(title="Datagora gas per operation and publish throughput")
    table.add_column("metric")
    for backend in results:
        table.add_column(backend, justify="right")
    keys = list(next(iter(results.values())))
    for key in keys:
        cells = [f"{v[key]:,.1f}" if "/s" in key else f"{int(v[key]):,}" for v in results.values()]
        table.add_row(key, *cells)
    console.print(table)
    ocean_publish, ocean_buy = 1_769_108, 389_112
    e = results["embedded (py-evm)"]
    console.print(
        f"publish gas {int(e['publish']):,} = {e['publish'] / ocean_publish:.1%} "
        f"of Ocean's publish ({ocean_publish:,}); "
        f"whole trade {int(e['trade (buy+deliver+confirm+withdraw)']):,} = "
        f"{e['trade (buy+deliver+confirm+withdraw)'] / ocean_buy:.1%} of Ocean's first purchase ({ocean_buy:,})"
    )
    if args.snapshot:
        snap = {k: int(v) for k, v in e.items() if "/s" not in k}
        args.snapshot.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
        console.print(f"gas snapshot written to {args.snapshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
