"""A consortium chain on one machine: signers running ``@ethereumjs/client`` (npm) with Clique proof of authority
(EIP-225), peered over 127.0.0.1, for trying Datagora on a network that no single node controls.

Each signer is one ``node`` process of :file:`consortium_node.mjs`, which runs the client with the four changes
described there (block relay, fork choice, sync target, sealing delays). Everything lives under one data
directory (``<home>/consortium`` for the CLI)::

    network.json              chain id, block period, the signers (address, ports) and the funded accounts
    genesis.json              the Geth-format genesis (Clique signers in ``extraData``, funded ``alloc``)
    signer-<i>/               the client's data directory of signer ``i``, its ``node.log`` and ``pid``
    signer-<i>/key            the signer's sealing key (hex, mode 0600) and ``nodekey`` its P2P identity

Clique ends at the Merge, so the chain runs London: Datagora deploys its London build there
(:meth:`datagora.chain.client.Chain.evm_version` finds that by itself). With three signers a block needs no
quorum, and each signer may seal at most one block in two: the chain goes on with one signer down.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagora.chain.devnode import free_port
from datagora.domain.errors import ChainError, ValidationError
from datagora.fsutil import atomic_write_json

CLIENT_PACKAGE = "node_modules/@ethereumjs/client"
LAUNCHER = Path(__file__).with_name("consortium_node.mjs")
DEFAULT_CHAIN_ID = 46612
DEFAULT_PERIOD = 2
"""Seconds between blocks (Clique ``period``)."""
DEFAULT_BALANCE = 10**24
"""Wei each funded account holds at genesis (one million ether)."""
GAS_LIMIT = 30_000_000


def find_client() -> Path | None:
    """The ``@ethereumjs/client`` package directory: ``$DATAGORA_ETHEREUMJS``, or ``node_modules`` of the current
    directory or of this checkout (``npm install`` at the repository root puts it there)."""
    env = os.environ.get("DATAGORA_ETHEREUMJS")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd() / CLIENT_PACKAGE, Path(__file__).resolve().parents[3] / CLIENT_PACKAGE]
    for path in candidates:
        if (path / "dist/esm/bin/cli.js").is_file():
            return path.resolve()
    return None


def _address_of(key: bytes) -> str:
    from eth_account import Account

    return str(Account.from_key(key).address)


def _node_id(node_key: bytes) -> str:
    from eth_keys.datatypes import PrivateKey

    return bytes(PrivateKey(node_key).public_key.to_bytes()).hex()


@dataclass(frozen=True)
class Signer:
    """One signer of the network: its index, sealing ``address``, P2P ``port`` and JSON-RPC ``rpc_port``."""

    index: int
    address: str
    port: int
    rpc_port: int
    node_id: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.node_id}@127.0.0.1:{self.port}"


@dataclass(frozen=True)
class SignerStatus:
    """What one signer reports: whether its process runs, its head ``block`` number and hash, its ``peers``."""

    signer: Signer
    running: bool
    block: int | None
    block_hash: str | None
    peers: int | None


def clique_genesis(
    signers: list[str], funded: dict[str, int], *, chain_id: int, period: int, timestamp: int | None = None
) -> dict[str, Any]:
    """A Geth-format genesis for a Clique network (EIP-225) with every fork up to London at block 0: the
    ``signers`` (0x addresses) are listed in ``extraData`` (32 vanity bytes, the addresses, a 65-byte empty seal)
    and ``funded`` maps 0x addresses to their balance in wei. ``period`` is in seconds.
    :class:`ValidationError` when there is no signer or an address is malformed."""
    if not signers:
        raise ValidationError("a Clique network needs at least one signer")
    for address in [*signers, *funded]:
        if not (address.startswith("0x") and len(address) == 42):
            raise ValidationError(f"not an Ethereum address: {address!r}")
    forks = ("homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople", "petersburg", "istanbul")
    config: dict[str, Any] = {"chainId": chain_id, **{f"{f}Block": 0 for f in forks}}
    config.update({"berlinBlock": 0, "londonBlock": 0, "clique": {"period": period, "epoch": 30000}})
    extra = "0x" + "00" * 32 + "".join(a.lower().removeprefix("0x") for a in sorted(signers, key=str.lower))
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "extraData": extra + "00" * 65,
        "gasLimit": hex(GAS_LIMIT),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "alloc": {a.lower().removeprefix("0x"): {"balance": hex(wei)} for a, wei in funded.items()},
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
        "baseFeePerGas": hex(10**9),
    }


def _rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        answer = json.loads(resp.read())
    if "error" in answer:
        raise ChainError(f"{method}: {answer['error']}")
    return answer.get("result")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited child not yet reaped) is not running
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


class Consortium:
    """The consortium network kept in ``data_dir``: :meth:`create` it once, then :meth:`start` / :meth:`stop`
    its signers (all or one), :meth:`status`, :meth:`destroy`. Processes are detached: they outlive the Python
    process that started them, and their ids are kept in ``signer-<i>/pid``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    # -- the network's files -------------------------------------------------------------------------------

    @property
    def network_file(self) -> Path:
        return self.data_dir / "network.json"

    @property
    def genesis_file(self) -> Path:
        return self.data_dir / "genesis.json"

    def signer_dir(self, index: int) -> Path:
        return self.data_dir / f"signer-{index}"

    def exists(self) -> bool:
        return self.network_file.is_file()

    def network(self) -> dict[str, Any]:
        """The contents of ``network.json``; :class:`ChainError` when the network was never created."""
        try:
            return dict(json.loads(self.network_file.read_text()))
        except FileNotFoundError as exc:
            raise ChainError(f"no consortium in {self.data_dir}: run `datagora chain consortium up`") from exc
        except (OSError, ValueError) as exc:
            raise ChainError(f"{self.network_file} is unreadable: {exc}") from exc

    @property
    def chain_id(self) -> int:
        return int(self.network()["chain_id"])

    def signers(self) -> list[Signer]:
        return [Signer(**s) for s in self.network()["signers"]]

    def create(
        self,
        signers: int = 3,
        funded: dict[str, int] | None = None,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        period: int = DEFAULT_PERIOD,
    ) -> list[Signer]:
        """Make a new network of ``signers`` signers (fresh keys, free ports, a genesis funding each signer and
        each address of ``funded`` with its balance in wei). :class:`ChainError` when one already exists here,
        :class:`ValidationError` for fewer than one signer or a bad address."""
        if self.exists():
            raise ChainError(f"a consortium already exists in {self.data_dir}: `down --wipe` it first")
        if signers < 1:
            raise ValidationError("a consortium needs at least one signer")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        made = []
        for i in range(signers):
            key, node_key = secrets.token_bytes(32), secrets.token_bytes(32)
            folder = self.signer_dir(i)
            folder.mkdir(parents=True, exist_ok=True)
            for name, value in (("key", key), ("nodekey", node_key)):
                path = folder / name
                path.write_text(value.hex())
                path.chmod(0o600)
            made.append(Signer(i, _address_of(key), free_port(), free_port(), _node_id(node_key)))
        balances = {s.address: DEFAULT_BALANCE for s in made} | dict(funded or {})
        genesis = clique_genesis([s.address for s in made], balances, chain_id=chain_id, period=period)
        atomic_write_json(self.genesis_file, genesis)
        atomic_write_json(
            self.network_file,
            {
                "chain_id": chain_id,
                "period": period,
                "signers": [s.__dict__ for s in made],
                "funded": {a: str(w) for a, w in balances.items()},
            },
        )
        return made

    # -- processes -----------------------------------------------------------------------------------------

    def pid(self, index: int) -> int | None:
        """The process id of signer ``index`` when it runs, else None."""
        try:
            pid = int((self.signer_dir(index) / "pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start(self, index: int | None = None, *, timeout: float = 60.0) -> None:
        """Start signer ``index`` (or every signer not running) and wait until each answers JSON-RPC.
        :class:`ChainError` when Node.js or the client is missing or a signer does not answer in ``timeout``
        seconds."""
        node = shutil.which("node")
        client = find_client()
        if node is None or client is None:
            raise ChainError("the consortium needs Node.js and the npm packages: run `npm install` in the repository")
        signers = self.signers()
        chosen = signers if index is None else [self._signer(index, signers)]
        started = []
        for signer in chosen:
            if self.pid(signer.index) is not None:
                continue
            self._spawn(node, client, signer, signers)
            started.append(signer)
        deadline = time.monotonic() + timeout
        for signer in started:
            while True:
                if self.pid(signer.index) is None:
                    raise ChainError(f"signer {signer.index} exited at start: see {self.log_file(signer.index)}")
                try:
                    _rpc(signer.url, "eth_blockNumber")
                    break
                except (OSError, ChainError, ValueError):
                    if time.monotonic() > deadline:
                        raise ChainError(
                            f"signer {signer.index} did not answer on {signer.url} within {timeout:.0f} s: see "
                            f"{self.log_file(signer.index)}"
                        ) from None
                    time.sleep(0.2)

    def log_file(self, index: int) -> Path:
        return self.signer_dir(index) / "node.log"

    def _signer(self, index: int, signers: list[Signer]) -> Signer:
        if not 0 <= index < len(signers):
            raise ValidationError(f"no signer {index}: the network has signers 0 to {len(signers) - 1}")
        return signers[index]

    def _spawn(self, node: str, client: Path, signer: Signer, signers: list[Signer]) -> None:
        folder = self.signer_dir(signer.index)
        others = [s.enode for s in signers if s.index != signer.index]
        args = [
            node,
            str(LAUNCHER),
            str(client),
            f"--gethGenesis={self.genesis_file}",
            f"--dataDir={folder / 'data'}",
            f"--port={signer.port}",
            "--extIP=127.0.0.1",
            "--rpc",
            "--rpcAddr=127.0.0.1",
            f"--rpcPort={signer.rpc_port}",
            "--mine",
            f"--unlock={folder / 'key'}",
            "--discDns=false",
            "--discV4=false",
            "--txLookupLimit=0",
            f"--logLevel={os.environ.get('DATAGORA_CONSORTIUM_LOG', 'info')}",
        ]
        if others:
            args.append(f"--bootnodes={','.join(others)}")
        else:
            args.append("--isSingleNode")
        env = dict(
            os.environ,
            DATAGORA_NODE_KEY=(folder / "nodekey").read_text().strip(),
            DATAGORA_STATIC_PEERS=",".join(e.removeprefix("enode://") for e in others),
        )
        with open(self.log_file(signer.index), "ab") as log:
            process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        (folder / "pid").write_text(str(process.pid))

    def stop(self, index: int | None = None, *, timeout: float = 10.0) -> list[int]:
        """Stop signer ``index`` (or all): SIGTERM, then SIGKILL after ``timeout`` seconds. Returns the indexes
        stopped."""
        signers = self.signers()
        chosen = signers if index is None else [self._signer(index, signers)]
        stopped = []
        for signer in chosen:
            pid = self.pid(signer.index)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid(signer.index) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid(signer.index) is not None:
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # our own child: reap it
                os.waitpid(pid, os.WNOHANG)
            (self.signer_dir(signer.index) / "pid").unlink(missing_ok=True)
            stopped.append(signer.index)
        return stopped

    def kill(self, index: int) -> None:
        """Kill signer ``index`` at once (SIGKILL), as a crash would."""
        pid = self.pid(index)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            (self.signer_dir(index) / "pid").unlink(missing_ok=True)

    def destroy(self) -> None:
        """Stop every signer and delete the network's directory."""
        if self.exists():
            self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- what the network says -----------------------------------------------------------------------------

    def status(self) -> list[SignerStatus]:
        """Each signer's process state, head block and peer count (None for what a stopped node cannot say)."""
        out = []
        for signer in self.signers():
            running = self.pid(signer.index) is not None
            block = block_hash = peers = None
            if running:
                try:
                    head = _rpc(signer.url, "eth_getBlockByNumber", ["latest", False])
                    block, block_hash = int(head["number"], 16), str(head["hash"])
                    peers = int(_rpc(signer.url, "net_peerCount"), 16)
                except (OSError, ChainError, ValueError, KeyError, TypeError):
                    pass
            out.append(SignerStatus(signer, running, block, block_hash, peers))
        return out

    def wait_for_block(self, number: int, *, indexes: list[int] | None = None, timeout: float = 60.0) -> None:
        """Wait until every signer of ``indexes`` (default: every running one) has block ``number`` and they
        agree on its hash. :class:`ChainError` after ``timeout`` seconds, naming what each signer holds."""
        deadline = time.monotonic() + timeout
        signers = self.signers()
        if indexes is None:
            indexes = [s.index for s in signers if self.pid(s.index) is not None]
        chosen = [s for s in signers if s.index in indexes]
        last: dict[int, str | None] = {}
        while True:
            for s in chosen:
                try:
                    block = _rpc(s.url, "eth_getBlockByNumber", [hex(number), False])
                    last[s.index] = None if block is None else str(block["hash"])
                except (OSError, ChainError, ValueError, KeyError, TypeError):
                    last[s.index] = None
            hashes = set(last.values())
            if None not in hashes and len(hashes) == 1:
                return
            if time.monotonic() > deadline:
                raise ChainError(f"the signers do not agree on block {number} after {timeout:.0f} s: {last}")
            time.sleep(0.2)
