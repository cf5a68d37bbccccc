"""Three real ``datagora serve`` processes on Anvil, one per computing party of a brand: the brand's node
(input A), the e-commerce platform's node (input B) and the MPC platform's node (no input), each with its own home,
keystore and port; the Points contract's owner registers the brand with their three accounts and the brand's
admin issues points to the member. The e-commerce platform's node holds each computation for a moment once the
inputs are shared (``DATAGORA_MPC_TEST_PAUSE``), a window in which a test can stop it mid-protocol. Every process
is stopped when the module ends."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.api.client import NodeClient
from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.chain.devnode import AnvilNode
from datagora.crypto.keys import save_keystore
from tests.multinode.conftest import CLIENT_TIMEOUT, PASSWORD, ServeProcess, _distinct_ports

ETHER = 10**18
PARTY_NODES = ("brand", "commerce", "mpc")
PAUSE_S = 3.0
"""Seconds the e-commerce platform's party waits after the inputs are shared."""
MPC_TIMEOUT_S = 25.0


@dataclass
class PartyServe(ServeProcess):
    """A ``datagora serve`` process with extra environment (``env``)."""

    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
        env.update(DATAGORA_PASSWORD=PASSWORD, DATAGORA_LOG_LEVEL="info", **self.env)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env)


@dataclass
class PointsNetwork:
    chain: RpcChain
    contracts: Contracts
    accounts: dict[str, LocalAccount]
    nodes: dict[str, PartyServe]
    brand: int
    clients: dict[str, NodeClient] = field(default_factory=dict)

    def operator(self, node: str) -> NodeClient:
        if node not in self.clients:
            self.clients[node] = NodeClient(self.nodes[node].url, self.accounts[node], timeout=CLIENT_TIMEOUT)
        return self.clients[node]

    @property
    def urls(self) -> list[str]:
        return [self.nodes[n].url for n in PARTY_NODES]


@pytest.fixture(scope="module")
def points_network(anvil_node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PointsNetwork]:
    chain = RpcChain(anvil_node.url)
    root = tmp_path_factory.mktemp("points-multinode")
    accounts = {name: Account.create() for name in (*PARTY_NODES, "supervisor", "owner")}
    for account in accounts.values():
        chain.fund(account.address, 100 * ETHER)
    for name in PARTY_NODES:
        save_keystore(accounts[name], root / name / "keystores" / f"{name}.json", PASSWORD, iterations=2)
    contracts = Contracts.deploy(chain, accounts["supervisor"], accounts["owner"])
    brand, _ = contracts.points.register_brand(
        accounts["owner"],
        "Cufflinks & Co",
        "CUFF",
        accounts["brand"].address,
        [accounts[n].address for n in PARTY_NODES],
    )
    ports = dict(zip(PARTY_NODES, _distinct_ports(len(PARTY_NODES)), strict=True))
    nodes: dict[str, PartyServe] = {}
    for name in PARTY_NODES:
        contracts.deployment.save(root / name / "deployments")
        env = {"DATAGORA_MPC_TIMEOUT": str(MPC_TIMEOUT_S)}
        if name == "commerce":
            env["DATAGORA_MPC_TEST_PAUSE"] = str(PAUSE_S)
        nodes[name] = PartyServe(name, root / name, ports[name], anvil_node.url, env=env)
    net = PointsNetwork(chain, contracts, accounts, nodes, brand)
    try:
        for node in nodes.values():
            node.start()
        for node in nodes.values():
            node.wait_ready()
        yield net
    finally:
        for client in net.clients.values():
            client.close()
        for node in nodes.values():
            node.stop()
