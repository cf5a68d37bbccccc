"""A network of Datagora nodes in one process on the embedded chain: seller, buyer, platform and supervisor
nodes (plus the outsider, whose organisation is still to audit), each its own FastAPI app behind Starlette's
``TestClient`` at ``http://<label>.test``; node-to-node calls (attestations, deliveries) go through those
clients too. Test modules restrict ``world`` to the embedded backend with ``pytestmark = EMBEDDED``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from datagora.api import create_app
from datagora.api.client import NodeClient
from datagora.api.remote_attestor import RemoteAttestor
from datagora.api.settings import Settings
from datagora.services.node import Node, open_node
from datagora.services.participant import Participant
from tests.world import World

LABELS = ("seller", "buyer", "platform", "supervisor", "outsider")
EMBEDDED = pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")


class FakeClock:
    """Unix seconds that tests move forward (nonce and session expiry)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def base_url(label: str) -> str:
    return f"http://{label}.test"


@dataclass
class Net:
    world: World
    clock: FakeClock
    nodes: dict[str, Node] = field(default_factory=dict)
    apps: dict[str, FastAPI] = field(default_factory=dict)
    http: dict[str, TestClient] = field(default_factory=dict)

    def participant(self, label: str) -> Participant:
        person: Participant = getattr(self.world, label)
        return person

    def peer_http(self, url: str) -> httpx.Client:
        return self.http[url.removeprefix("http://").rstrip("/").removesuffix(".test")]

    def client(self, node: str, as_: str | LocalAccount | None = None) -> NodeClient:
        """A client of ``node``'s API signed in as participant ``as_`` (default: the node's operator)."""
        account = self.participant(as_ or node).account if not isinstance(as_, LocalAccount) else as_
        return NodeClient(base_url(node), account, http=self.http[node])


@pytest.fixture
def net(world: World, tmp_path: Path) -> Iterator[Net]:
    clock = FakeClock(time.time())
    network = Net(world, clock)
    assert world.attestor is not None
    for label in LABELS:
        node = open_node(world.contracts, network.participant(label), f"sqlite:///{tmp_path / f'{label}.db'}")
        if label == "platform":
            node.platform = node.attestor = world.attestor
        network.nodes[label] = node
    for label, node in network.nodes.items():
        settings = Settings(siwe_domain=f"{label}.test", index_interval=0)
        network.apps[label] = create_app(node, settings=settings, peer_http=network.peer_http, clock=clock)
        network.http[label] = TestClient(network.apps[label], base_url=base_url(label))
    for client in network.http.values():
        client.__enter__()
    for label in ("seller", "buyer", "outsider"):  # they obtain attestations from the platform's node
        network.nodes[label].attestor = RemoteAttestor(network.client("platform", as_=label))
    try:
        yield network
    finally:
        for client in network.http.values():
            client.__exit__(None, None, None)
        for node in network.nodes.values():
            node.close()
