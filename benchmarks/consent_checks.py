"""Consent checks per second through ``Consent.record_access`` on Anvil (the shopping-cart paper's access path:
every use of a customer's data is checked against her consent on chain and pays her reward).

    python benchmarks/consent_checks.py [--accesses 2000] [--batch 100] [--sequential 100] [--json out.json]

Setup on a fresh Anvil: the Datagora contract set, a shop and a partner organisation (both audited), a customer's
consent to the partner for one category and one W3C DPV purpose with a reward per access, one stream item, and
the partner's RewardToken deposit. Then three measurements:

* ``sequential``: the partner's node signs, sends and waits for each ``record_access`` in turn through the
  Contracts facade (what one request of the shop node costs end to end);
* ``batched``: ``--accesses`` pre-signed ``record_access`` transactions (explicit gas, consecutive nonces) sent as
  raw JSON-RPC batches of ``--batch`` with automine off, then ``evm_mine`` until all are in (a block holds
  about 400) (web3.py refuses raw transactions
  in its batches, so the batches are posted directly); the count is checked on chain (``access_count``) and the
  reward paid per access against the customer's pending balance;
* ``check view``: ``Consent.check`` as ``eth_call`` (a check without recording), for comparison;
* ``end to end``: ``--e2e`` consented accesses as the services run them (``datagora.services.consent``): the shop
  node has published a customer's purchase history (JSON-LD, encrypted under the customer's data key, its hash in
  the stream) and the partner's node has indexed it; each access is the partner's ``request_access`` transaction,
  the shop node's delivery fetched through its HTTP API (the node's FastAPI app in process, no socket), and the
  partner's check of the envelope's hash against the chain and its decryption. Latency is reported as median and
  95th percentile, memory as the peak of Python allocations during one access (tracemalloc) and the process's
  peak resident set size (the seed measured latency and memory).

Each figure prints as accesses (or checks) per second with the wall time; ``--json`` writes them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from datagora.chain.bindings.consent import term_hash  # noqa: E402
from datagora.chain.client import RpcChain  # noqa: E402
from datagora.chain.contracts import Contracts  # noqa: E402
from datagora.chain.devnode import AnvilNode  # noqa: E402
from datagora.domain.models import OrgStatus  # noqa: E402
from datagora.services import registry  # noqa: E402
from datagora.services.participant import Participant  # noqa: E402

ETHER = 10**18
CATEGORY = "purchase-history"
PURPOSE = "https://w3id.org/dpv#Marketing"
REWARD = 10**15  # RewardToken units per access
GAS = 200_000


def rpc(url: str, payload: Any) -> Any:
    """POST one JSON-RPC request or batch; returns the decoded answer."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def setup(url: str, home: Path, accesses: int) -> dict[str, Any]:
    chain = RpcChain(url)
    people = {n: Participant(n, Account.create(), home / n) for n in ("supervisor", "platform", "shop", "partner")}
    for p in people.values():
        chain.fund(p.address, 1_000 * ETHER)
    contracts = Contracts.deploy(chain, people["supervisor"].account, people["platform"].account)
    orgs = {}
    for label in ("shop", "partner"):
        org, _ = registry.register_organisation(contracts, people[label], f"{label} organisation")
        registry.set_status(contracts, people["supervisor"].account, org.id, OrgStatus.AUDITED)
        orgs[label] = org.id
    customer = Account.create()
    chain.fund(customer.address, ETHER)
    shop, partner = people["shop"].account, people["partner"].account
    stream_id, _ = contracts.streams.create_stream(shop, "shop/customers")
    item_id, _ = contracts.streams.publish(shop, stream_id, "customer-1/purchase-history", b"\x01" * 32, "blob://1")
    consent_id, _ = contracts.consent.grant(customer, CATEGORY, orgs["partner"], PURPOSE, chain.now() + 86_400, REWARD)
    funds = REWARD * (accesses + 1_000)
    contracts.reward_token.mint(people["platform"].account, partner.address, funds)
    contracts.reward_token.approve(partner, contracts.consent.address, funds)
    contracts.consent.deposit(partner, funds)
    return {
        "chain": chain,
        "contracts": contracts,
        "people": people,
        "orgs": orgs,
        "partner": partner,
        "customer": customer,
        "consent_id": consent_id,
        "item_id": item_id,
    }


def sequential(world: dict[str, Any], count: int) -> float:
    c = world["contracts"]
    started = time.perf_counter()
    for _ in range(count):
        c.consent.record_access(world["partner"], world["consent_id"], CATEGORY, PURPOSE, world["item_id"])
    return time.perf_counter() - started


def batched(url: str, world: dict[str, Any], count: int, batch: int) -> tuple[float, float]:
    """Returns (seconds to sign, seconds from the first send until mined)."""
    chain, c, partner = world["chain"], world["contracts"], world["partner"]
    w3: Web3 = chain.w3
    data = c.contract("Consent").encode_abi(
        "record_access", args=[world["consent_id"], term_hash(CATEGORY), term_hash(PURPOSE), world["item_id"]]
    )
    nonce = w3.eth.get_transaction_count(partner.address)
    gas_price = int(w3.eth.gas_price) * 2
    started = time.perf_counter()
    raw = [
        "0x"
        + bytes(
            partner.sign_transaction(
                {
                    "to": c.consent.address,
                    "data": data,
                    "gas": GAS,
                    "gasPrice": gas_price,
                    "nonce": nonce + i,
                    "chainId": chain.chain_id,
                    "value": 0,
                }
            ).raw_transaction
        ).hex()
        for i in range(count)
    ]
    signed = time.perf_counter() - started
    rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "evm_setAutomine", "params": [False]})
    started = time.perf_counter()
    for lo in range(0, count, batch):
        answers = rpc(
            url,
            [
                {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [tx]}
                for i, tx in enumerate(raw[lo : lo + batch], start=lo)
            ],
        )
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise SystemExit(f"Anvil refused a transaction: {errors[0]}")
    # One block holds about 400 accesses (30 M gas): mine until every transaction is in.
    target = hex(nonce + count)
    while (
        rpc(
            url, {"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionCount", "params": [partner.address, "latest"]}
        )["result"]
        != target
    ):
        rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "evm_mine", "params": []})
    mined = time.perf_counter() - started
    rpc(url, {"jsonrpc": "2.0", "id": 1, "method": "evm_setAutomine", "params": [True]})
    return signed, mined


def check_view(world: dict[str, Any], count: int) -> float:
    c = world["contracts"]
    partner = world["partner"].address
    started = time.perf_counter()
    for _ in range(count):
        assert c.consent.check(world["consent_id"], partner, CATEGORY, PURPOSE, world["item_id"]) is None
    return time.perf_counter() - started


def end_to_end(world: dict[str, Any], home: Path, count: int) -> dict[str, float]:
    """``count`` consented accesses end to end; returns latency (ms) and memory (bytes) figures."""
    import resource
    import statistics
    import tracemalloc

    from fastapi.testclient import TestClient

    from datagora.api import create_app
    from datagora.api.client import NodeClient
    from datagora.api.settings import Settings
    from datagora.index import EventIndexer, open_engine
    from datagora.services import consent, streams
    from datagora.services.node import open_node

    c, people = world["contracts"], world["people"]
    shop, partner = people["shop"], people["partner"]
    customer = Account.create()
    c.chain.fund(customer.address, ETHER)
    stream_id, _ = streams.open_stream(c, shop.account, "shop/profiles")
    purchases = [
        {"orderNumber": f"A-{i}", "orderDate": "2026-11-02", "product": "Tea sampler", "price": "0.02"}
        for i in range(20)
    ]
    item = streams.publish_customer(c, shop, stream_id, customer.address, purchases)[0]
    consent.grant(
        c, customer, streams.PURCHASE_HISTORY, world["orgs"]["partner"], PURPOSE, c.chain.now() + 86_400, REWARD
    )
    engine = open_engine(f"sqlite:///{home / 'partner-index.sqlite'}")
    EventIndexer(c, engine).sync()
    node = open_node(c, shop, f"sqlite:///{home / 'shop-index.sqlite'}")
    app = create_app(node, settings=Settings(siwe_domain="shop.test", index_interval=0))
    latencies, peaks = [], []
    parts: list[tuple[float, float, float]] = []
    with TestClient(app, base_url="http://shop.test") as http:
        client = NodeClient("http://shop.test", partner.account, http=http)

        def access() -> tuple[float, float, float, bytes]:
            started = time.perf_counter()
            asked = consent.request(c, engine, partner.account, item.item_id, PURPOSE)
            requested = time.perf_counter()
            delivery = client.consent_delivery(asked.tx.tx_hash)
            delivered = time.perf_counter()
            document = consent.receive(c, partner, delivery)
            if not asked.granted or b'"numberOfItems": 20' not in document:
                raise SystemExit("an end-to-end access did not deliver the purchase history")
            return requested - started, delivered - requested, time.perf_counter() - delivered, document

        access()  # warms caches; not counted
        for _ in range(count):
            *part, document = access()
            parts.append((part[0], part[1], part[2]))
            latencies.append(sum(part))
        for _ in range(3):  # memory apart: tracing allocations slows everything down
            tracemalloc.start()
            access()
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        envelope_bytes = len(
            client.consent_delivery(
                consent.request(c, engine, partner.account, item.item_id, PURPOSE).tx.tx_hash
            ).envelope
        )
    node.close()
    engine.dispose()
    latencies.sort()
    return {
        "e2e_accesses": count,
        "e2e_document_bytes": len(document),
        "e2e_envelope_bytes": envelope_bytes,
        "e2e_latency_ms_median": 1_000 * statistics.median(latencies),
        "e2e_latency_ms_p95": 1_000 * latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "e2e_request_ms_median": 1_000 * statistics.median(p[0] for p in parts),
        "e2e_delivery_ms_median": 1_000 * statistics.median(p[1] for p in parts),
        "e2e_receive_ms_median": 1_000 * statistics.median(p[2] for p in parts),
        "e2e_python_peak_bytes_median": statistics.median(peaks),
        "process_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accesses", type=int, default=2_000, help="batched record_access transactions")
    parser.add_argument("--batch", type=int, default=100, help="transactions per JSON-RPC batch")
    parser.add_argument("--sequential", type=int, default=100, help="record_access one at a time")
    parser.add_argument("--e2e", type=int, default=20, help="consented accesses end to end (latency, memory)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    with AnvilNode() as node, tempfile.TemporaryDirectory() as tmp:
        world = setup(node.url, Path(tmp), args.accesses + args.sequential)
        c = world["contracts"]
        seq = sequential(world, args.sequential)
        before = int(c.contract("Consent").functions.access_count().call())
        signed, mined = batched(node.url, world, args.accesses, args.batch)
        recorded = int(c.contract("Consent").functions.access_count().call()) - before
        if recorded != args.accesses:
            raise SystemExit(f"only {recorded} of {args.accesses} accesses were recorded")
        paid = c.consent.pending(world["customer"].address)
        if paid != REWARD * (args.accesses + args.sequential):
            raise SystemExit(f"the customer is owed {paid}, not {REWARD * (args.accesses + args.sequential)}")
        views = check_view(world, args.sequential)
        e2e = end_to_end(world, Path(tmp), args.e2e)
    figures = {
        "sequential_accesses_per_s": args.sequential / seq,
        "sequential_ms_per_access": 1_000 * seq / args.sequential,
        "batched_accesses_per_s": args.accesses / mined,
        "batched_accesses": args.accesses,
        "batch": args.batch,
        "signing_s": signed,
        "check_views_per_s": args.sequential / views,
        **e2e,
    }
    print(
        f"record_access, one at a time through the facade: {figures['sequential_accesses_per_s']:.0f} accesses/s "
        f"({figures['sequential_ms_per_access']:.1f} ms each, {args.sequential} accesses)"
    )
    print(
        f"record_access, raw batches of {args.batch}, mined with evm_mine: "
        f"{figures['batched_accesses_per_s']:.0f} accesses/s "
        f"({args.accesses} accesses in {mined:.2f} s; signing took {signed:.2f} s more)"
    )
    print(f"check (eth_call, nothing recorded): {figures['check_views_per_s']:.0f} checks/s")
    print(
        f"one consented access end to end (request on chain, delivery over the shop node's API, hash check and "
        f"decryption; {e2e['e2e_document_bytes']:,.0f}-byte document): median {e2e['e2e_latency_ms_median']:.1f} ms, "
        f"95th percentile {e2e['e2e_latency_ms_p95']:.1f} ms over {args.e2e} accesses (request "
        f"{e2e['e2e_request_ms_median']:.1f} ms, delivery {e2e['e2e_delivery_ms_median']:.1f} ms, check and "
        f"decryption {e2e['e2e_receive_ms_median']:.1f} ms); Python memory peak "
        f"{e2e['e2e_python_peak_bytes_median'] / 1024:.0f} KiB per access, process peak RSS "
        f"{e2e['process_max_rss_bytes'] / 2**20:.0f} MiB"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
