"""Use-rights and disputes from the command line on the session Anvil node, against real HTTP nodes: the seller's
and the platform's ``create_app`` served by uvicorn on free 127.0.0.1 ports, keeping their files in the CLI's
``--home`` (as ``datagora serve`` would). ``datagora list --use-right``, ``policy show``, ``buy-queries`` and
``query`` (signed locally, answered by the seller's node, checked against the chain); ``reupload``, ``disclose``,
``check-delivery``, ``arbitrate`` and ``enforce-deadlines`` (in process with the platform's home, or over HTTP
with ``--node``). Refusals print one ``error:`` line and send nothing."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from datagora.api import create_app
from datagora.api.client import NodeClient
from datagora.api.settings import Settings
from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from datagora.domain.models import OrderState
from datagora.query import UsagePolicy
from datagora.services import market, publishing, relay
from datagora.services.node import Node, open_node
from datagora.services.participant import Participant
from tests.kits.cli_fixtures import PASSWORD, CliWorld, failed, make_keystores, ok, write_csv

NAMES = ("supervisor", "platform", "seller", "buyer")
ORGS = {"platform": "Platform", "seller": "Seller Org", "buyer": "Buyer Org"}
DAY = 86_400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    node: Node
    server: uvicorn.Server
    thread: threading.Thread
    url: str


def serve(w: CliWorld, name: str) -> Served:
    """``name``'s node on its CLI home (``<home>/participants/<name>``), as ``datagora serve`` would run it."""
    contracts = Contracts.attach(RpcChain(w.url), w.home / "deployments")
    account = load_keystore(w.home / "keystores" / f"{name}.json", PASSWORD)
    participant = Participant(name, account, w.home / "participants" / name)
    node = open_node(contracts, participant, f"sqlite:///{w.home / f'index-{name}.db'}", platform=name == "platform")
    port = _free_port()
    app = create_app(node, settings=Settings(home=w.home, siwe_domain=f"127.0.0.1:{port}", index_interval=0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return Served(node, server, thread, f"http://127.0.0.1:{port}")


@dataclass
class Network:
    w: CliWorld
    seller: Served
    platform: Served

    def participant(self, name: str) -> Participant:
        account = load_keystore(self.w.home / "keystores" / f"{name}.json", PASSWORD)
        return Participant(name, account, self.w.home / "participants" / name)

    @property
    def contracts(self) -> Contracts:
        return Contracts.attach(self.w.chain, self.w.home / "deployments")


@pytest.fixture(scope="module")
def network(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Deployed and registered through the CLI; the seller published datasets 1-4; the seller's and the
    platform's nodes serve HTTP. The chain is reverted when the module ends."""
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("cli-queries")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    served: list[Served] = []
    try:
        for name in NAMES:
            ok(w.run("account", "fund", name, "--ether", "20"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        for label, org in ORGS.items():
            ok(w.run("org", "register", org, "-a", label))
            ok(w.run("org", "status", org, "audited", "-a", "supervisor"))
        for i in range(1, 5):
            path = write_csv(home / "data" / f"dataset-{i}.csv", rows=120)
            w.files[str(i)] = path
            assert f"as dataset #{i}" in ok(w.run("publish", path, "-a", "seller", "--platform", "platform"))
        served = [serve(w, "seller"), serve(w, "platform")]
        yield Network(w, served[0], served[1])
    finally:
        for s in served:
            s.server.should_exit = True
            s.thread.join(timeout=10)
            s.node.close()
        chain.revert(snap)


def refused(w: CliWorld, args: tuple[object, ...], *fragments: str) -> str:
    """A command that must fail with one ``error:`` line and send nothing."""
    before = w.state()
    message = failed(w.run(*args), *fragments)
    assert w.state() == before, f"{args} changed the chain state"
    return message


def flat(text: str) -> str:
    return " ".join(text.split())


def test_use_right_listed_bought_and_queried_over_http(network: Network, tmp_path: Path) -> None:
    w, seller_url = network.w, network.seller.url
    listed = flat(
        ok(
            w.run(
                "list",
                1,
                "--use-right",
                "--price-per-query",
                "0.01",
                "--max-queries",
                3,
                "--usage-window",
                3600,
                "-a",
                "seller",
            )
        )
    )
    match = re.search(r"listing #(\d+): use-rights on dataset #1 at 0\.01 ETH per query \(at most 3 per order", listed)
    assert match, listed
    listing_id = int(match.group(1))
    assert "under ODRL policy urn:datagora:policy:dataset-1" in listed
    assert "differentially private answers: epsilon 1 each, a budget of 10 per buyer organisation" in listed

    own = ok(w.run("policy", "show", listing_id, "-a", "seller"))
    remote = ok(w.run("policy", "show", listing_id, "--from", seller_url, "-a", "buyer"))
    assert own == remote and f"is the hash listing #{listing_id} committed on chain" in flat(remote)
    jsonld = json.loads(remote[: remote.rindex("}") + 1])
    assert jsonld["@type"] == "Offer" and jsonld["target"] == "urn:datagora:dataset:1"

    bought = flat(ok(w.run("buy-queries", listing_id, 2, "-a", "buyer")))
    match = re.search(r"order #(\d+): 2 queries of dataset #1 prepaid \(0\.02 ETH\)", bought)
    assert match, bought
    order_id = int(match.group(1))

    per_region = tmp_path / "per-region.json"
    per_region.write_text(
        json.dumps(
            {
                "select": ["region", {"aggregate": "count", "as": "people"}, {"aggregate": "avg", "column": "age"}],
                "group_by": ["region"],
                "order_by": ["region"],
            }
        )
    )
    answered = ok(w.run("query", order_id, "--spec", per_region, "--from", seller_url, "-a", "buyer"))
    assert f"Order #{order_id}, query #0" in answered
    for column in ("region", "people", "avg(age)"):
        assert column in answered
    assert "query #0 answered and paid; the result matches the hash recorded on chain; 1 query left" in flat(answered)
    assert "differentially private: epsilon 1, noise scale people ±3" in flat(answered)
    for asked in (("--from", seller_url, "-a", "buyer"), ("-a", "seller")):  # both sides see the same budget
        budget = flat(ok(w.run("policy", "budget", order_id, *asked)))
        pattern = r"per answer\W+1\b.*budget \(all orders\)\W+10\b.*spent\W+1 \(1 answer\).*left\W+9 \(9 answers\)"
        assert re.search(pattern, budget), budget
    refused(w, ("policy", "budget", order_id, "--from", seller_url, "-a", "platform"), "only the buyer or the seller")

    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps({"select": ["id", "income"], "where": [["age", ">", 60]]}))
    refused(w, ("query", order_id, "--spec", raw, "--from", seller_url, "-a", "buyer"), "raw rows not permitted")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("select * from data")
    refused(w, ("query", order_id, "--spec", garbage, "--from", seller_url, "-a", "buyer"), "not JSON")
    refused(w, ("query", order_id, "--spec", per_region, "--from", seller_url, "-a", "seller"), "not paid by")
    assert network.contracts.market.order(order_id).queries_left == 1

    policy = tmp_path / "rows.jsonld"
    terms = UsagePolicy(
        uid="urn:example:rows",
        assigner="urn:example:seller",
        target="urn:datagora:dataset:2",
        raw_rows=True,
        exact_answers=True,
    )
    policy.write_text(json.dumps(terms.to_jsonld()))
    refused(
        w,
        ("list", 2, "--use-right", "--price", "0.001", "--policy", policy, "--exact-answers", "-a", "seller"),
        "--exact-answers is for the default policy",
    )
    custom = flat(ok(w.run("list", 2, "--use-right", "--price", "0.001", "--policy", policy, "-a", "seller")))
    assert "under ODRL policy urn:example:rows" in custom, custom
    assert (
        "warning: exact answers: a buyer can work out single people's values" in custom and "; exact answers)" in custom
    )

    refused(w, ("list", 4, "--use-right", "--price", "0.01", "--negotiable", "-a", "seller"), "--use-right")
    refused(w, ("list", 4, "--use-right", "-a", "seller"), "--price-per-query")
    refused(w, ("list", 4, "--price-per-query", "0.01", "-a", "seller"), "are for --use-right")
    refused(w, ("list", 4, "--price", "0.01", "--exact-answers", "-a", "seller"), "are for --use-right")
    refused(w, ("buy-queries", listing_id, 4, "-a", "buyer"), "query count must be 1..3")


def _relayed_order(network: Network, token_id: int) -> tuple[int, int]:
    """Dataset ``token_id`` sold to the buyer and delivered through the platform's node (delivery and relay
    through the services)."""
    w, contracts = network.w, network.contracts
    seller = network.participant("seller")
    listed = flat(ok(w.run("list", token_id, "--price", "0.1", "-a", "seller")))
    listing_id = int(re.search(r"listing #(\d+)", listed).group(1))  # type: ignore[union-attr]
    bought = flat(ok(w.run("buy", listing_id, "-a", "buyer")))
    order_id = int(re.search(r"order #(\d+)", bought).group(1))  # type: ignore[union-attr]
    market.deliver(contracts, seller, order_id)
    with NodeClient(network.platform.url, seller.account) as at_platform:
        relay.send_through_relay(contracts, seller, order_id, at_platform)
    return listing_id, order_id


def test_dispute_raised_and_arbitrated_from_the_command_line(network: Network, tmp_path: Path) -> None:
    w, platform_url, contracts = network.w, network.platform.url, network.contracts
    _, order_id = _relayed_order(network, 3)
    got = tmp_path / "got.csv"
    ok(w.run("fetch", order_id, "--from", platform_url, "--relay", "-a", "buyer", "--out", got))
    assert got.read_bytes() == w.files["3"].read_bytes()
    waiting = flat(ok(w.run("check-delivery", order_id, "-a", "platform")))
    assert "a notice or fingerprint is still missing" in waiting

    # a lying buyer: its "received" notice carries the fingerprint of another table
    buyer = network.participant("buyer")
    decoy = write_csv(tmp_path / "decoy.csv", rows=120)
    cipher = buyer.home / "inbox" / f"order-{order_id}.dge"
    with NodeClient(platform_url, buyer.account) as at_platform:
        relay.report_received(
            contracts,
            buyer,
            order_id,
            contracts.market.order(order_id).delivery_hash,
            at_platform,
            fingerprint=publishing.fingerprint_of(decoy),
        )
    refused(w, ("arbitrate", order_id, "-a", "platform"), "not disputed")
    disputed = flat(ok(w.run("check-delivery", order_id, "-a", "platform")))
    assert "the notices disagree: the platform disputed the order on chain" in disputed and "tx 0x" in disputed
    assert contracts.market.order(order_id).state == OrderState.DISPUTED

    refused(w, ("arbitrate", order_id, "-a", "platform"), "has not re-uploaded")
    refused(w, ("reupload", order_id, "--to", platform_url, "-a", "buyer"), "not a sale by")
    uploaded = flat(ok(w.run("reupload", order_id, "--to", platform_url, "-a", "seller")))
    assert f"re-uploaded the data of order #{order_id}, encrypted to the platform" in uploaded
    assert cipher.is_file()  # `fetch` kept the delivered ciphertext: the default for `disclose`
    disclosed = flat(ok(w.run("disclose", order_id, "--to", platform_url, "-a", "buyer")))
    assert "disclosed the data key" in disclosed
    refused(w, ("disclose", order_id, "--to", platform_url, "-a", "buyer", "--ciphertext", decoy), "not the ciphertext")

    ruled = flat(ok(w.run("arbitrate", order_id, "-a", "platform")))
    assert f"order #{order_id} ruled FOR_SELLER: the seller was honest" in ruled
    assert "content match True" in ruled and "transmission ok" in ruled
    assert contracts.market.order(order_id).state == OrderState.COMPLETED
    refused(w, ("arbitrate", order_id, "--node", platform_url, "-a", "platform"), "not disputed")


def test_deadlines_enforced_in_process_and_over_http(network: Network) -> None:
    w, platform_url, contracts = network.w, network.platform.url, network.contracts
    _, order_id = _relayed_order(network, 4)
    assert "no order is past its deadline" in ok(
        w.run("enforce-deadlines", "-a", "platform", "--first-order", order_id)
    )
    refused(w, ("enforce-deadlines", "--node", platform_url, "-a", "seller"), "operator")
    w.chain.advance_time(DAY + 1)  # the confirmation deadline passes: mandatory transfer (IV.A.5)
    released = flat(ok(w.run("enforce-deadlines", "--node", platform_url, "-a", "platform", "--first-order", order_id)))
    assert f"release order #{order_id}" in released and "tx 0x" in released
    assert contracts.market.order(order_id).state == OrderState.COMPLETED
    assert "no order is past its deadline" in ok(
        w.run("enforce-deadlines", "-a", "platform", "--first-order", order_id)
    )
