"""A whole trade driven one command at a time, as an operator would: keystores in a fresh ``--home``, the
session Anvil node as the chain."""

from __future__ import annotations

import hashlib
import re
import stat
from pathlib import Path

import pytest

from datagora.chain.client import RpcChain
from datagora.chain.contracts import Contracts
from datagora.crypto.keys import load_keystore
from tests.kits.cli_fixtures import PASSWORD, CliWorld, failed, invoke, ok, write_csv

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
TX = re.compile(r"tx 0x[0-9a-f]{64}")
ETHER = 10**18
ORGS = {"platform": "Datagora Platform", "seller": "Acme Data Ltd", "buyer": "Blue Research Lab"}


def flat(text: str) -> str:
    """Output with every run of whitespace as one space: Rich may wrap a long line at a space."""
    return " ".join(text.split())


def test_account_new_with_the_default_scrypt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = flat(ok(invoke(["account", "new", "alice", "--home", home])))
    path = home / "keystores" / "alice.json"
    match = ADDRESS.search(out)
    assert match and str(path) in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keystore(path, PASSWORD).address == match.group()
    listed = ok(invoke(["account", "list", "--home", home]))
    assert "alice" in listed and match.group().lower() in listed.lower()
    original = path.read_bytes()
    failed(invoke(["account", "new", "alice", "--home", home]), "already exists")
    assert path.read_bytes() == original  # not overwritten


@pytest.mark.usefixtures("patched_fast_scrypt")
def test_a_whole_trade_step_by_step(chain_snapshot: RpcChain, anvil_url: str, tmp_path: Path) -> None:
    w = CliWorld(tmp_path / "home", anvil_url, chain_snapshot)

    # accounts: created through the CLI, funded from Anvil's unlocked account
    for name in ("supervisor", "platform", "seller", "buyer"):
        out = ok(invoke(["account", "new", name, "--home", w.home]))
        match = ADDRESS.search(out)
        assert match, out
        w.addresses[name] = match.group()
    listed = ok(invoke(["account", "list", "--home", w.home]))
    assert all(addr.lower() in listed.lower() for addr in w.addresses.values())
    for name, addr in w.addresses.items():
        assert "balance 5 ETH" in ok(w.run("account", "fund", name, "--ether", "5"))
        assert w.chain.balance(addr) == 5 * ETHER

    # deployment, recorded in <home>/deployments/<chain id>.json
    out = flat(ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform")))
    contracts = Contracts.attach(w.chain, w.home / "deployments")  # raises unless our contracts are at the addresses
    for name, address in contracts.addresses.items():
        assert f"{name} {address}" in out
    assert str(w.home / "deployments" / "31337.json") in out

    # registration and audit (EntDSM Algorithms 1-2)
    for label, org in ORGS.items():
        out = flat(ok(w.run("org", "register", org, "-a", label)))
        assert f"{label} joined organisation" in out and f"'{org}' (TO_AUDIT)" in out and TX.search(out)
    assert "status TO_AUDIT, 1 member(s)" in ok(w.run("org", "show", ORGS["seller"]))
    failed(w.run("search", "-a", "buyer"), "not a member of an Audited organisation")
    for org in ORGS.values():
        assert f"'{org}' is now AUDITED" in ok(w.run("org", "status", org, "audited", "-a", "supervisor"))
    assert "status AUDITED, 1 member(s)" in ok(w.run("org", "show", ORGS["seller"]))

    # publish a CSV, find it, list it
    data = write_csv(tmp_path / "income survey.csv")
    content_hash = hashlib.sha256(data.read_bytes()).hexdigest()
    publish = (
        "publish",
        data,
        "-a",
        "seller",
        "--platform",
        "platform",
        "--name",
        "Income survey",
        "--domain",
        "health",
    )
    out = flat(ok(w.run(*publish)))
    assert "published income survey.csv as dataset #1" in out and content_hash in out
    assert contracts.catalog.dataset(1).content_hash.hex() == content_hash
    out = ok(w.run("search", "income", "-a", "buyer"))
    assert "Income survey" in out and "health" in out
    assert "Income survey" not in ok(w.run("search", "no-such-keyword", "-a", "buyer"))
    out = ok(w.run("list", 1, "-a", "seller", "--price", "0.5"))
    assert "approved the market for data NFTs" in out and "listing #1" in out
    out = ok(w.run("search", "-a", "buyer"))
    row = next(line for line in out.splitlines() if "Income survey" in line)
    assert re.search(r"│ 1 +│ 0\.5 ETH +│", row), row  # listing id and price columns

    # buy, deliver, receive, confirm
    buyer_before = w.chain.balance(w.addresses["buyer"])
    assert "order #1 paid into escrow" in ok(w.run("buy", 1, "-a", "buyer"))
    assert w.chain.balance(w.addresses["buyer"]) < buyer_before - ETHER // 2
    assert contracts.market.escrowed() == 3 * ETHER // 2  # the price and both parties' collateral (100 % each)
    outbox = tmp_path / "outbox"
    out = flat(ok(w.run("deliver", 1, "-a", "seller", "--out", outbox)))
    cipher = outbox / "order-1.dge"
    assert f"delivered order #1: {cipher}" in out
    assert contracts.market.order(1).delivery_hash == hashlib.sha256(cipher.read_bytes()).digest()
    got = tmp_path / "received.csv"
    out = flat(ok(w.run("receive", 1, cipher, "-a", "buyer", "--out", got)))
    assert f"sha256 {content_hash} matches Catalog" in out
    assert got.read_bytes() == data.read_bytes()
    assert "confirm order #1" in ok(w.run("confirm", 1, "-a", "buyer"))
    assert contracts.catalog.owner_of(1) == w.addresses["buyer"]

    # everyone is paid: 2.5 % fee to the platform, the rest to the seller; both deposits return
    assert "withdrew 0.9875 ETH" in ok(w.run("withdraw", "-a", "seller"))
    assert "withdrew 0.5 ETH" in ok(w.run("withdraw", "-a", "buyer"))
    assert "withdrew 0.0125 ETH" in ok(w.run("withdraw", "-a", "platform"))
    assert contracts.market.escrowed() == 0
    failed(w.run("withdraw", "-a", "seller"), "nothing to withdraw")

    # the audit trail, as a table and as JSON lines
    table = ok(w.run("audit"))
    for event in ("OrganisationRegistered", "StatusChanged", "DatasetPublished", "OrderPaid", "Settled"):
        assert event in table
    trail = w.trail()
    expected = [
        *["OrganisationRegistered", "MemberJoined"] * 3,
        *["StatusChanged"] * 3,
        "DatasetPublished",
        "Listed",
        "OrderPaid",
        "Delivered",
        "Settled",
        "Withdrawn",
        "Withdrawn",
        "Withdrawn",
    ]
    assert [r["action"] for r in trail if r["action"] in set(expected)] == expected
    by_action = {r["action"]: r for r in trail}
    supervisor, seller, buyer = (w.addresses[n] for n in ("supervisor", "seller", "buyer"))
    assert by_action["StatusChanged"]["actor"] == supervisor
    assert (
        by_action["DatasetPublished"]["actor"] == seller
        and content_hash[:16] in by_action["DatasetPublished"]["detail"]
    )
    assert by_action["OrderPaid"]["actor"] == buyer and "0.500000 ETH" in by_action["OrderPaid"]["detail"]
    assert by_action["Settled"]["actor"] == buyer and "the buyer confirmed receipt" in by_action["Settled"]["detail"]
    blocks = [r["block_number"] for r in trail]
    assert blocks == sorted(blocks)
    for r in trail:
        assert re.fullmatch(r"0x[0-9a-f]{64}", str(r["tx_hash"])) and int(str(r["timestamp"])) > 0
