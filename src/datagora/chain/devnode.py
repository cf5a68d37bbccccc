"""Start and stop a local Anvil node (npm package ``@foundry-rs/anvil``) for tests, benchmarks and trying
Datagora on a real JSON-RPC chain. Production uses any EVM JSON-RPC endpoint; nothing else depends on Anvil."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from datagora.domain.errors import ChainError

_NPM_GLOB = "node_modules/@foundry-rs/anvil-*/bin/anvil"  # the platform package npm picked


def find_anvil() -> str | None:
    """The Anvil binary: ``$DATAGORA_ANVIL``, ``anvil`` on PATH, or ``node_modules`` of this checkout or the
    current directory (``npm install`` from the repository root puts it there)."""
    env = os.environ.get("DATAGORA_ANVIL")
    if env and Path(env).is_file():
        return env
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    repo_root = Path(__file__).resolve().parents[3]
    for base in (Path.cwd(), repo_root):
        for candidate in sorted(base.glob(_NPM_GLOB)):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """``with AnvilNode() as node: node.url`` — Anvil on a free 127.0.0.1 port, stopped on exit.

    ``extra_args`` go to Anvil as is (e.g. ``["--no-mining"]``). Raises :class:`ChainError` when Anvil is not
    installed or does not answer within ``startup_timeout`` seconds."""

    def __init__(self, *extra_args: str, startup_timeout: float = 20.0, chain_id: int = 31337) -> None:
        binary = find_anvil()
        if binary is None:
            raise ChainError("Anvil not found: run `npm install` in the repository (or set DATAGORA_ANVIL)")
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [binary, "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id), *extra_args]
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AnvilNode:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise ChainError(f"Anvil exited with code {self.process.returncode}: {stderr.strip()[:500]}")
            try:
                req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise ChainError(f"Anvil did not answer on {self.url} within {self.startup_timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
