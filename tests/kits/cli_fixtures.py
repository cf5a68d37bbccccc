"""Helpers for driving the ``datagora`` command line in process (Typer's ``CliRunner``) against the session
Anvil node, with fast keystores in a temporary ``--home``."""

from __future__ import annotations

import csv
import functools
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from datagora.chain.client import RpcChain
from datagora.cli.main import app
from datagora.crypto import keys

PASSWORD = "correct horse battery staple"
FAST_SCRYPT = 2**10
# Wide terminal so Rich never wraps; no password prompt; no node or home leaking in from the environment.
BASE_ENV: dict[str, str | None] = {
    "COLUMNS": "200",
    "DATAGORA_PASSWORD": PASSWORD,
    "DATAGORA_RPC_URL": None,
    "DATAGORA_HOME": None,
    "DATAGORA_ACCOUNT": None,
}


def invoke(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    """Run ``datagora ARGS`` in process; exceptions are caught so a test can tell a crash from an exit."""
    return CliRunner().invoke(app, [str(a) for a in args], env={**BASE_ENV, **(env or {})})


def ok(result: Result) -> str:
    """Assert a command succeeded cleanly; return its stdout."""
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.exception is None, repr(result.exception)
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    return result.stdout


def failed(result: Result, *fragments: str) -> str:
    """Assert a command failed the way the CLI promises: exit code != 0, exactly one ``error:`` line on stderr,
    nothing on stdout, no traceback, no escaped exception. Each of ``fragments`` must occur in the message
    (case-insensitive). Returns the message."""
    report = f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexc: {result.exception!r}"
    assert result.exit_code != 0, report
    assert isinstance(result.exception, SystemExit), report  # anything else escaped handle_errors
    assert "Traceback" not in result.stdout + result.stderr, report
    assert result.stdout == "", report
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), report
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), report
    return lines[0]


def make_keystores(home: Path, *names: str) -> dict[str, str]:
    """Keystores under ``home/keystores`` with a cheap scrypt work factor; returns name → address."""
    out = {}
    for name in names:
        account = keys.new_account()
        keys.save_keystore(account, home / "keystores" / f"{name}.json", PASSWORD, iterations=FAST_SCRYPT)
        out[name] = str(account.address)
    return out


def write_csv(path: Path, rows: int = 20) -> Path:
    """A small CSV with random content (the platform refuses to attest the same content twice)."""
    rng = random.Random()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "age", "income", "region"])
        for i in range(rows):
            w.writerow([i, rng.randint(18, 90), round(rng.uniform(1e4, 2e5), 2), rng.choice("NESW")])
    return path


@dataclass
class CliWorld:
    """A ``--home`` on the session Anvil node; ``run`` adds ``--home`` and ``--rpc-url`` to a command."""

    home: Path
    url: str
    chain: RpcChain
    addresses: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def run(self, *args: object, env: dict[str, str | None] | None = None) -> Result:
        return invoke([*map(str, args), "--home", str(self.home), "--rpc-url", self.url], env)

    def trail(self) -> list[dict[str, object]]:
        """``datagora audit --json``, parsed: one JSON object per line."""
        return [json.loads(line) for line in ok(self.run("audit", "--json")).splitlines()]

    def state(self) -> tuple[int, str, dict[str, int]]:
        """Cheap fingerprint of the chain state a failed command must leave alone: latest block number and hash
        (Anvil mines one block per transaction, so no new block means nothing was sent), every participant's
        balance."""
        latest = self.chain.w3.eth.get_block("latest")
        balances = {name: self.chain.balance(addr) for name, addr in self.addresses.items()}
        return int(latest["number"]), bytes(latest["hash"]).hex(), balances


@pytest.fixture
def patched_fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``datagora account new`` use a cheap scrypt work factor (it imports ``save_keystore`` at call time)."""
    monkeypatch.setattr(keys, "save_keystore", functools.partial(keys.save_keystore, iterations=FAST_SCRYPT))


@pytest.fixture
def chain_snapshot(anvil_url: str) -> Iterator[RpcChain]:
    """The session Anvil node, reverted after the test."""
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    try:
        yield chain
    finally:
        chain.revert(snap)


@contextmanager
def audited_world(anvil_url: str, home: Path, names: tuple[str, ...], orgs: dict[str, str]) -> Iterator[CliWorld]:
    """A CLI world on the session Anvil node, reverted afterwards: a keystore for each of ``names`` funded with
    10 ETH, the contracts deployed by ``supervisor`` and ``platform`` (both in ``names``), and each organisation
    of ``orgs`` (keystore name -> organisation name) registered by that account and audited."""
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    world = CliWorld(home, anvil_url, chain, make_keystores(home, *names))
    try:
        for name in names:
            ok(world.run("account", "fund", name, "--ether", "10"))
        ok(world.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        for label, org in orgs.items():
            ok(world.run("org", "register", org, "-a", label))
            ok(world.run("org", "status", org, "audited", "-a", "supervisor"))
        yield world
    finally:
        chain.revert(snap)


# -- a world with a trade under way, shared by the error and everyday-use tests ------------------------

NAMES = ("supervisor", "platform", "seller", "buyer", "outsider")
ORGS = {"platform": "Platform", "seller": "Seller Org", "buyer": "Buyer Org", "outsider": "Outsider Org"}


@pytest.fixture(scope="module")
def world_base(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    """Deployed through the CLI: Platform, Seller Org, Buyer Org audited, Outsider Org still to audit. The
    seller published datasets 1-3: #1 listed as listing 1 (open), #2 listed as listing 2, bought (order 1)
    and delivered to ``files["delivery"]``, #3 not listed."""
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("cli-errors")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    try:
        for name in NAMES:
            ok(w.run("account", "fund", name, "--ether", "10"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        for label, org in ORGS.items():
            ok(w.run("org", "register", org, "-a", label))
        for label in ("platform", "seller", "buyer"):
            ok(w.run("org", "status", ORGS[label], "audited", "-a", "supervisor"))
        for i in (1, 2, 3):
            path = write_csv(home / "data" / f"dataset-{i}.csv")
            assert f"as dataset #{i}" in ok(w.run("publish", path, "-a", "seller", "--platform", "platform"))
        assert "listing #1" in ok(w.run("list", 1, "-a", "seller", "--price", "0.5"))
        assert "listing #2" in ok(w.run("list", 2, "-a", "seller", "--price", "0.25"))
        assert "order #1" in ok(w.run("buy", 2, "-a", "buyer"))
        ok(w.run("deliver", 1, "-a", "seller", "--out", home / "outbox"))
        w.files["delivery"] = home / "outbox" / "order-1.dge"
        yield w
    finally:
        chain.revert(snap)


@pytest.fixture
def w(world_base: CliWorld) -> Iterator[CliWorld]:
    snap = world_base.chain.snapshot()
    try:
        yield world_base
    finally:
        world_base.chain.revert(snap)


def refused(
    w: CliWorld,
    args: tuple[object, ...],
    *fragments: str,
    env: dict[str, str | None] | None = None,
    check_trail: bool = False,
) -> str:
    """Run a command that must fail cleanly and change nothing on chain (``check_trail``: also compare the
    ``audit --json`` trail before and after)."""
    trail = w.trail() if check_trail else None
    before = w.state()
    message = failed(w.run(*args, env=env), *fragments)
    assert w.state() == before, f"{args} changed the chain state"
    if check_trail:
        assert w.trail() == trail, f"{args} changed the audit trail"
    return message
