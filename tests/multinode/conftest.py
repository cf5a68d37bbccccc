"""A Datagora network of real processes: Anvil (the session's ``anvil_node``) and four ``datagora serve``
processes (supervisor, platform, seller, buyer), each with its own home, keystore, SQLite index and port on
127.0.0.1. The contracts are deployed once per module and the deployment saved into every home (``serve`` binds
to ``<home>/deployments/<chain id>.json``); the organisations are registered and audited through the nodes' HTTP
APIs. Every process is killed when the module ends, also when a test or the setup fails.

The seller's node sits behind a :class:`ThrottlingProxy` (its public address, and its SIWE domain, are the
proxy's), so a test can slow its downloads enough to kill the process in the middle of one."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.api.client import NodeClient
from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.chain.devnode import AnvilNode, free_port
from datagora.crypto.keys import save_keystore

ETHER = 10**18
PASSWORD = "multinode-test-password"
ROLES = ("supervisor", "platform", "seller", "buyer")
ORGANISATIONS = {"platform": "Datagora Platform", "seller": "Acme Data Ltd", "buyer": "Blue Research Lab"}
STARTUP_TIMEOUT = 90.0
CLIENT_TIMEOUT = 180.0


class ThrottlingProxy:
    """A TCP proxy on a free 127.0.0.1 port to ``127.0.0.1:upstream_port``. ``rate`` (bytes per second, 0 =
    unlimited) paces what the upstream sends back; requests pass at full speed. A connection ends on both sides
    as soon as either side closes it (an upstream killed mid-response leaves the client with a cut body)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rate = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()  # the node is down: the client sees a refused / reset connection
            return
        with self._lock:
            if self._closed:
                client.close()
                upstream.close()
                return
            self._open.update((client, upstream))
        pair = (client, upstream)
        threading.Thread(target=self._pump, args=(client, upstream, False, pair), daemon=True).start()
        self._pump(upstream, client, True, pair)

    def _pump(self, src: socket.socket, dst: socket.socket, paced: bool, pair: tuple[socket.socket, ...]) -> None:
        try:
            while data := src.recv(64 * 1024):
                dst.sendall(data)
                if paced and self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
                with self._lock:
                    self._open.discard(sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._open = list(self._open), set()
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@dataclass
class ServeProcess:
    """One ``datagora serve`` process. ``start`` may be called again after ``kill`` (same home, same port);
    each start logs to its own ``serve-<n>.log`` under the home. With a ``proxy``, clients reach the node
    through it (``url``) and sign in for the proxy's address (``DATAGORA_SIWE_DOMAIN``)."""

    name: str
    home: Path
    port: int
    rpc_url: str
    platform_url: str | None = None
    proxy: ThrottlingProxy | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def direct_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Where clients and other nodes reach the node."""
        return f"http://127.0.0.1:{self.proxy.port}" if self.proxy is not None else self.direct_url

    @property
    def participant_home(self) -> Path:
        """Where the node keeps its store, inbox and received files (``<home>/participants/<account>``)."""
        return self.home / "participants" / self.name

    @property
    def log(self) -> Path:
        return self.home / f"serve-{self.starts}.log"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "datagora",
            "serve",
            "--home",
            str(self.home),
            "--rpc-url",
            self.rpc_url,
            "--account",
            self.name,
            "--index-url",
            f"sqlite:///{self.home / 'index.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.platform_url is not None:
            cmd += ["--platform-url", self.platform_url]
        return cmd

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
        env.update(DATAGORA_PASSWORD=PASSWORD, DATAGORA_LOG_LEVEL="info")
        if self.proxy is not None:
            env["DATAGORA_SIWE_DOMAIN"] = f"127.0.0.1:{self.proxy.port}"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until ``GET /health`` answers; fail with the log's tail when the process exits or is slow."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.direct_url + "/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer on {self.url} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Network:
    chain: RpcChain
    contracts: Contracts
    accounts: dict[str, LocalAccount]
    nodes: dict[str, ServeProcess]
    organisations: dict[str, int] = field(default_factory=dict)
    clients: dict[str, NodeClient] = field(default_factory=dict)

    def client(self, node: str, as_: str | LocalAccount | None = None) -> NodeClient:
        """A new client of ``node``'s API signed in (on first use) as participant ``as_`` or an account
        (default: the node's operator)."""
        account = as_ if isinstance(as_, LocalAccount) else self.accounts[as_ or node]
        return NodeClient(self.nodes[node].url, account, timeout=CLIENT_TIMEOUT)

    def operator(self, node: str) -> NodeClient:
        """The (cached) client of ``node`` signed in as its operator."""
        if node not in self.clients:
            self.clients[node] = self.client(node)
        return self.clients[node]


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def network(anvil_node: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    chain = RpcChain(anvil_node.url)
    root = tmp_path_factory.mktemp("multinode")
    accounts: dict[str, LocalAccount] = {name: Account.create() for name in ROLES}
    for name, account in accounts.items():
        # scrypt work factor 2: a throw-away key, unlocked in no time by each start of its node
        save_keystore(account, root / name / "keystores" / f"{name}.json", PASSWORD, iterations=2)
        chain.fund(account.address, 100 * ETHER)
    contracts = Contracts.deploy(chain, accounts["supervisor"], accounts["platform"])
    for name in ROLES:
        contracts.deployment.save(root / name / "deployments")
    ports = dict(zip(ROLES, _distinct_ports(len(ROLES)), strict=True))
    platform_url = f"http://127.0.0.1:{ports['platform']}"
    nodes = {
        name: ServeProcess(name, root / name, ports[name], anvil_node.url, None if name == "platform" else platform_url)
        for name in ROLES
    }
    nodes["seller"].proxy = ThrottlingProxy(ports["seller"])
    net = Network(chain, contracts, accounts, nodes)
    try:
        for node in nodes.values():
            node.start()
        for node in nodes.values():
            node.wait_ready()
        supervisor = net.operator("supervisor")
        for name, org_name in ORGANISATIONS.items():
            registered = net.operator(name).register_organisation(org_name)["organisation"]
            assert registered["status"] == "to-audit"
            audited = supervisor.set_status(registered["id"], "audited")["organisation"]
            assert audited["status"] == "audited"
            net.organisations[name] = registered["id"]
        yield net
    finally:
        for client in net.clients.values():
            client.close()
        for node in nodes.values():
            node.stop()
            if node.proxy is not None:
                node.proxy.close()
