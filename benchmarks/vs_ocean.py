"""Datagora's gas against Ocean Protocol's real contracts, deployed side by side on the same Anvil, in one run.

    npm install                       # brings Anvil and @oceanprotocol/contracts 2.6.0
    python benchmarks/vs_ocean.py [--chart benchmarks/vs_ocean.png]

Ocean (compiled artifacts from the npm package, deployed as its own deploy script does: OceanToken,
OPFCommunityFeeCollector, FactoryRouter, FixedRateExchange, the ERC-20 and ERC-721 templates, ERC721Factory):

- publish = ``createNftWithErc20WithFixedRate`` (data NFT + datatoken + fixed-rate exchange in one call) and
  ``setMetaData`` with a DDO of about 1.7 KB (the DDO is what Ocean keeps on chain to describe a dataset);
- purchase = the buyer's ``approve`` of OCEAN + ``buyDT`` (one datatoken) + ``startOrder`` (spends it for access,
  with a provider-fee message signed by the provider, fee 0). Measured for the first purchase of a buyer and again
  for a second purchase of the same dataset by another buyer.

Datagora (the same calls ``datagora`` makes, through the services): publish (novelty attestation + mint in the
Catalog), the listing (approve + list) and a whole trade: buy (price + 100 % collateral in escrow), deliver (the key
re-encrypted to the buyer), confirm, and the seller's withdrawal; then the same for a second dataset and buyer.

Gas is each receipt's ``gasUsed``. The chart is a grouped bar chart (matplotlib) of the two publish and purchase
figures. Targets (issue "Ahead of the anchors"): Datagora's publish at most 1/10 of Ocean's, a whole trade at most
1/2 of Ocean's purchase; the table says how far each is.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from web3 import Web3
from web3.logs import DISCARD

from datagora.chain.client import Chain, RpcChain
from datagora.chain.contracts import Contracts
from datagora.chain.devnode import AnvilNode
from datagora.domain.models import OrgStatus
from datagora.services import market, publishing, registry
from datagora.services.attestation import NoveltyAttestor
from datagora.services.participant import Participant

ETHER = 10**18
REPO = Path(__file__).resolve().parents[1]
OCEAN_ARTIFACTS = REPO / "node_modules" / "@oceanprotocol" / "contracts" / "artifacts" / "contracts"
ZERO = "0x" + "00" * 20
DEAD = "0x000000000000000000000000000000000000dEaD"


def _artifact(relative: str) -> tuple[list[dict[str, Any]], bytes]:
    path = OCEAN_ARTIFACTS / relative
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `npm install` in the repository first")
    raw = json.loads(path.read_text())
    return raw["abi"], bytes.fromhex(raw["bytecode"].removeprefix("0x"))


class Ocean:
    """Ocean Protocol's v4 contracts (npm @oceanprotocol/contracts 2.6.0) deployed on ``chain`` by ``owner``."""

    def __init__(self, chain: Chain, owner: LocalAccount) -> None:
        self.chain, self.owner = chain, owner
        w3 = chain.w3  # type: ignore[attr-defined]
        self.w3: Web3 = w3

        def deploy(relative: str, *args: Any) -> Any:
            abi, bytecode = _artifact(relative)
            receipt = chain.deploy(owner, abi, bytecode, *args)
            return w3.eth.contract(address=receipt["contractAddress"], abi=abi)

        self.ocean = deploy("utils/OceanToken.sol/OceanToken.json", owner.address)
        opf = deploy(
            "communityFee/OPFCommunityFeeCollector.sol/OPFCommunityFeeCollector.json", owner.address, owner.address
        )
        self.router = deploy(
            "pools/FactoryRouter.sol/FactoryRouter.json", owner.address, self.ocean.address, DEAD, opf.address, []
        )
        self.fre = deploy("pools/fixedRate/FixedRateExchange.sol/FixedRateExchange.json", self.router.address)
        erc20 = deploy("templates/ERC20Template.sol/ERC20Template.json")
        erc721 = deploy("templates/ERC721Template.sol/ERC721Template.json")
        self.factory = deploy(
            "ERC721Factory.sol/ERC721Factory.json", erc721.address, erc20.address, self.router.address
        )
        self.tx(owner, self.router.functions.addFactory(self.factory.address))
        self.tx(owner, self.router.functions.addFixedRateContract(self.fre.address))
        self.datatoken_abi = _artifact("templates/ERC20Template.sol/ERC20Template.json")[0]
        self.nft_abi = _artifact("templates/ERC721Template.sol/ERC721Template.json")[0]

    def tx(self, sender: LocalAccount, fn: Any) -> Any:
        return self.chain.transact(sender, fn)

    def mint_ocean(self, to: str, amount: int) -> None:
        self.tx(self.owner, self.ocean.functions.mint(to, amount))

    def publish(self, publisher: LocalAccount, name: str, ddo: bytes) -> tuple[int, Any, bytes]:
        """createNftWithErc20WithFixedRate + setMetaData; returns (gas, datatoken contract, exchange id)."""
        rate = ETHER  # 1 OCEAN per datatoken
        receipt = self.tx(
            publisher,
            self.factory.functions.createNftWithErc20WithFixedRate(
                (name, name[:8].upper(), 1, "https://example.org/nft/", True, publisher.address),
                (
                    1,
                    [f"{name} access", "DT"],
                    [publisher.address, publisher.address, publisher.address, ZERO],
                    [1000 * ETHER, 0],
                    [],
                ),
                (
                    self.fre.address,
                    [self.ocean.address, publisher.address, publisher.address, ZERO],
                    [18, 18, rate, 0, 1, 0],  # base and datatoken decimals, rate, market fee, mint on buy, -
                ),
            ),
        )
        created = self.factory.events.NFTCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]
        token = self.factory.events.TokenCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]
        exchange = self.factory.events.NewFixedRate().process_receipt(receipt, errors=DISCARD)[0]["args"]
        nft = self.w3.eth.contract(address=created["newTokenAddress"], abi=self.nft_abi)
        datatoken = self.w3.eth.contract(address=token["newTokenAddress"], abi=self.datatoken_abi)
        meta = self.tx(
            publisher,
            nft.functions.setMetaData(
                0, "https://provider.example.org", publisher.address, b"\x00", ddo, Web3.keccak(ddo), []
            ),
        )
        return int(receipt["gasUsed"]) + int(meta["gasUsed"]), datatoken, bytes(exchange["exchangeId"])

    def purchase(self, buyer: LocalAccount, provider: LocalAccount, datatoken: Any, exchange_id: bytes) -> int:
        """approve + buyDT + startOrder (provider fee 0, signed by the provider); returns the buyer's gas."""
        approve = self.tx(buyer, self.ocean.functions.approve(self.fre.address, 2 * ETHER))
        buy = self.tx(buyer, self.fre.functions.buyDT(exchange_id, ETHER, 2 * ETHER, ZERO, 0))
        valid_until = self.chain.now() + 3600
        provider_data = json.dumps({"environment": "download", "timeout": 0}).encode()
        inner = Web3.solidity_keccak(
            ["bytes", "address", "address", "uint256", "uint256"],
            [provider_data, provider.address, ZERO, 0, valid_until],
        )
        sig = provider.sign_message(encode_defunct(primitive=inner))
        provider_fee = (
            provider.address,
            ZERO,
            0,
            sig.v,
            sig.r.to_bytes(32, "big"),
            sig.s.to_bytes(32, "big"),
            valid_until,
            provider_data,
        )
        order = self.tx(buyer, datatoken.functions.startOrder(buyer.address, 0, provider_fee, (ZERO, ZERO, 0)))
        return int(approve["gasUsed"]) + int(buy["gasUsed"]) + int(order["gasUsed"])


def _ddo(name: str, size: int = 1700) -> bytes:
    """An Ocean DDO (v4 shape) of about ``size`` bytes."""
    doc: dict[str, Any] = {
        "@context": ["https://w3id.org/did/v1"],
        "id": "did:op:" + Web3.keccak(text=name).hex(),
        "version": "4.1.0",
        "chainId": 31337,
        "metadata": {
            "created": "2026-12-03T12:00:00Z",
            "updated": "2026-12-03T12:00:00Z",
            "type": "dataset",
            "name": name,
            "description": "",
            "author": "Datagora benchmark",
            "license": "CC-BY-4.0",
            "tags": ["benchmark", "gas"],
        },
        "services": [
            {"id": "0", "type": "access", "files": "0x" + "ab" * 200, "serviceEndpoint": "https://provider.example.org"}
        ],
    }
    text = json.dumps(doc)
    doc["metadata"]["description"] = "x" * max(0, size - len(text))
    return json.dumps(doc).encode()


def _table(path: Path, seed: int, rows: int = 200) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "x", "y"])
        for i in range(rows):
            w.writerow([i, rng.random(), rng.random()])
    return path


def run_ocean(chain: Chain) -> dict[str, int]:
    owner, publisher, provider = (Account.create() for _ in range(3))
    buyers = [Account.create(), Account.create()]
    for who in (owner, publisher, provider, *buyers):
        chain.fund(who.address, 100 * ETHER)
    ocean = Ocean(chain, owner)
    for b in buyers:
        ocean.mint_ocean(b.address, 10 * ETHER)
    out: dict[str, int] = {}
    out["publish"], dt, ex = ocean.publish(publisher, "Household panel", _ddo("Household panel"))
    out["publish (second)"], _, _ = ocean.publish(publisher, "Weather", _ddo("Weather"))
    out["purchase"] = ocean.purchase(buyers[0], provider, dt, ex)
    out["purchase (second)"] = ocean.purchase(buyers[1], provider, dt, ex)
    return out


def run_datagora(chain: Chain, work: Path) -> dict[str, int]:
    names = ("supervisor", "platform", "seller", "buyer", "buyer2")
    people = {n: Participant(n, Account.create(), work / n) for n in names}
    for p in people.values():
        chain.fund(p.address, 1000 * ETHER)
    c = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    for n in ("seller", "buyer", "buyer2", "platform"):
        org, _ = registry.register_organisation(c, people[n], n.title())
        registry.set_status(c, people["supervisor"].account, org.id, OrgStatus.AUDITED)
    attestor = NoveltyAttestor(c, people["platform"].account, ":memory:")
    seller = people["seller"]
    out: dict[str, int] = {}
    for round_, buyer in enumerate((people["buyer"], people["buyer2"])):
        suffix = "" if round_ == 0 else " (second)"
        prepared = publishing.prepare(seller, _table(work / f"t{round_}.csv", round_), name=f"bench {round_}")
        token_id, _, tx = publishing.publish(c, seller, prepared, attestor)
        listing_id, txs = market.list_dataset(c, seller, token_id, ETHER)
        out["publish" + suffix] = tx.gas_used
        out["publish + listing" + suffix] = tx.gas_used + sum(t.gas_used for t in txs)
        order_id, buy = market.buy(c, buyer, listing_id)
        deliver = market.deliver(c, seller, order_id).tx
        confirm = market.confirm(c, buyer, order_id)
        withdraw = market.withdraw(c, seller)[1]
        out["whole trade" + suffix] = buy.gas_used + deliver.gas_used + confirm.gas_used + withdraw.gas_used
        out["buyer's part" + suffix] = buy.gas_used + confirm.gas_used
    return out


def _chart(path: Path, ocean: dict[str, int], datagora: dict[str, int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    groups = ["publish", "purchase / whole trade"]
    o = [ocean["publish"], ocean["purchase"]]
    d = [datagora["publish"], datagora["whole trade"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(groups))
    ax.bar([x - 0.2 for x in xs], o, width=0.4, label="Ocean Protocol 2.6.0", color="#6b7280")
    ax.bar([x + 0.2 for x in xs], d, width=0.4, label="Datagora", color="#2563eb")
    for x, (a, b) in enumerate(zip(o, d, strict=True)):
        ax.text(x - 0.2, a, f"{a:,}", ha="center", va="bottom", fontsize=8)
        ax.text(x + 0.2, b, f"{b:,}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), groups)
    ax.set_ylabel("gas")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.set_title("Gas on the same Anvil node (first publish, first purchase)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chart", type=Path, default=Path("benchmarks/vs_ocean.png"), help="bar chart PNG to write")
    args = ap.parse_args()
    console = Console()
    t0 = time.perf_counter()
    with AnvilNode() as node, tempfile.TemporaryDirectory() as tmp:
        chain = RpcChain(node.url)
        ocean = run_ocean(chain)
        datagora = run_datagora(chain, Path(tmp))
    table = Table(title=f"Gas on one Anvil node (Ocean Protocol 2.6.0 vs Datagora), {time.perf_counter() - t0:.0f} s")
    table.add_column("step")
    table.add_column("Ocean", justify="right")
    table.add_column("Datagora", justify="right")
    table.add_column("Datagora / Ocean", justify="right")
    table.add_column("target", justify="right")
    rows = [
        ("publish", "publish", "publish", 0.10),
        ("publish (second)", "publish (second)", "publish (second)", 0.10),
        ("publish incl. listing", "publish", "publish + listing", None),
        ("purchase vs whole trade", "purchase", "whole trade", 0.50),
        ("second purchase vs whole trade", "purchase (second)", "whole trade (second)", 0.50),
        ("purchase vs buyer's part", "purchase", "buyer's part", None),
    ]
    misses = 0
    for label, o_key, d_key, target in rows:
        ratio = datagora[d_key] / ocean[o_key]
        verdict = ""
        if target is not None:
            ok = ratio <= target
            misses += not ok
            verdict = f"≤ {target:.0%} {'met' if ok else 'missed'}"
        table.add_row(label, f"{ocean[o_key]:,}", f"{datagora[d_key]:,}", f"{ratio:.1%}", verdict)
    console.print(table)
    _chart(args.chart, ocean, datagora)
    console.print(f"chart: {args.chart}")
    console.print(f"targets missed: {misses}" if misses else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
