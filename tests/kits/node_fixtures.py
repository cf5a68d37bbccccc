"""A network of Datagora nodes in one process on the embedded chain: seller, buyer, platform and supervisor
nodes (plus the outsider, whose organisation is still to audit), each its own FastAPI app behind Starlette's
``TestClient`` at ``http://<label>.test``; node-to-node calls (attestations, deliveries) go through those
clients too. Test modules restrict ``world`` to the embedded backend with ``pytestmark = EMBEDDED``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

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
T = TypeVar("T")
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


class _OnFirstUse(dict[str, T]):
    """A dict whose missing entries are built on first lookup by ``build(label)`` (under a lock: a node's request
    handler may reach a peer that does not exist yet while a test thread asks for another)."""

    def __init__(self, build: Callable[[str], T]) -> None:
        super().__init__()
        self._build = build
        self._lock = threading.RLock()

    def __missing__(self, label: str) -> T:
        with self._lock:
            if label not in self:
                self[label] = self._build(label)
            return dict.__getitem__(self, label)


@dataclass
class Net:
    """The nodes of the world. A node's app and its ``TestClient`` (entered: lifespan started) are built when a
    test first reaches them through ``apps`` / ``http`` / :meth:`client` or a peer's call, not all five for every
    test: building one costs 0.1-0.3 s of CPU (FastAPI resolves every route's parameters per app) and most tests
    talk to two or three nodes."""

    world: World
    clock: FakeClock
    nodes: dict[str, Node] = field(default_factory=dict)
    apps: dict[str, FastAPI] = field(init=False)
    http: dict[str, TestClient] = field(init=False)

    def __post_init__(self) -> None:
        self.apps = _OnFirstUse(self._app)
        self.http = _OnFirstUse(self._http)

    def _app(self, label: str) -> FastAPI:
        settings = Settings(siwe_domain=f"{label}.test", index_interval=0)
        return create_app(self.nodes[label], settings=settings, peer_http=self.peer_http, clock=self.clock)

    def _http(self, label: str) -> TestClient:
        client = TestClient(self.apps[label], base_url=base_url(label))
        client.__enter__()
        return client

    def participant(self, label: str) -> Participant:
        person: Participant = getattr(self.world, label)
        return person

    def peer_http(self, url: str) -> httpx.Client:
        return self.http[url.removeprefix("http://").rstrip("/").removesuffix(".test")]

    def client(self, node: str, as_: str | LocalAccount | None = None) -> NodeClient:
        """A client of ``node``'s API signed in as participant ``as_`` (default: the node's operator)."""
        account = self.participant(as_ or node).account if not isinstance(as_, LocalAccount) else as_
        return NodeClient(base_url(node), account, http=self.http[node])


class _LazyClient:
    """``net.client(node, as_=label)`` made when first used (a ``NodeClient`` stand-in for the attestors, so the
    platform's app is built only by a test that publishes)."""

    def __init__(self, net: Net, node: str, as_: str) -> None:
        self._args = (net, node, as_)
        self._client: NodeClient | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            net, node, as_ = self._args
            self._client = net.client(node, as_=as_)
        return getattr(self._client, name)


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
    for label in ("seller", "buyer", "outsider"):  # they obtain attestations from the platform's node
        network.nodes[label].attestor = RemoteAttestor(_LazyClient(network, "platform", label))  # type: ignore[arg-type]
    try:
        yield network
    finally:
        for client in list(network.http.values()):
            client.__exit__(None, None, None)
        for node in network.nodes.values():
            node.close()
