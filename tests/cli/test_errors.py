"""Bad input: every refusal is exit code != 0, exactly one ``error:`` line on stderr, no traceback, and the
chain left as it was (same block number, same audit trail, same balances)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datagora.chain.devnode import free_port
from tests.kits.cli_fixtures import CliWorld, failed, invoke, make_keystores, ok, refused, write_csv

# -- receiving -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tamper", ["flip a byte", "truncate", "append"])
def test_receive_refuses_a_tampered_ciphertext(w: CliWorld, tmp_path: Path, tamper: str) -> None:
    data = bytearray(w.files["delivery"].read_bytes())
    if tamper == "flip a byte":
        data[len(data) // 2] ^= 0x01
    elif tamper == "truncate":
        del data[-16:]
    else:
        data += b"\x00"
    bad = tmp_path / "order-1.dge"
    bad.write_bytes(data)
    out = tmp_path / "got.csv"
    refused(w, ("receive", 1, bad, "-a", "buyer", "--out", out), "does not match the delivery hash", check_trail=True)
    assert list(tmp_path.iterdir()) == [bad]  # no plaintext, no temporary file left behind
    # the genuine ciphertext still decrypts: the order was left as it was
    ok(w.run("receive", 1, w.files["delivery"], "-a", "buyer", "--out", out))


@pytest.mark.parametrize("who", ["seller", "outsider"])
def test_receive_by_someone_else_than_the_buyer(w: CliWorld, tmp_path: Path, who: str) -> None:
    out = tmp_path / "got.csv"
    refused(w, ("receive", 1, w.files["delivery"], "-a", who, "--out", out), "was not paid by", w.addresses[who])
    assert not out.exists()


# -- keystores -----------------------------------------------------------------------------------------------


def test_wrong_keystore_password(w: CliWorld) -> None:
    refused(w, ("buy", 1, "-a", "buyer"), "wrong password", "buyer.json", env={"DATAGORA_PASSWORD": "not it"})


def test_the_unlock_agent_signs_a_buy_without_the_password_until_locked(w: CliWorld) -> None:
    no_password: dict[str, str | None] = {"DATAGORA_PASSWORD": None}
    refused(w, ("buy", 1, "-a", "buyer"), "DATAGORA_PASSWORD", "account unlock buyer", env=no_password)
    ok(w.run("account", "unlock", "buyer", "--for", "1m"))
    try:
        assert "order #2 paid into escrow" in ok(w.run("buy", 1, "-a", "buyer", env=no_password))
        ok(w.run("account", "lock", "buyer"))
        refused(w, ("buy", 1, "-a", "buyer"), "DATAGORA_PASSWORD", env=no_password)
    finally:
        invoke(["account", "lock", "--home", w.home])


MALFORMED = {
    "not-json": "{not json",
    "list": "[]",
    "empty-object": "{}",
    "no-crypto": '{"version": 3}',
    "binary": "\x00\xff binary",
    "no-mac": "drop-mac",
}


# ``withdraw`` decrypts the key; ``search`` only reads the keystore's address field, so a keystore with an address
# but a broken crypto section is good enough for it.
@pytest.mark.parametrize(
    ("command", "kind"),
    [("withdraw", kind) for kind in MALFORMED] + [("search", kind) for kind in MALFORMED if kind != "no-mac"],
)
def test_malformed_keystore(w: CliWorld, command: str, kind: str) -> None:
    content = MALFORMED[kind]
    if content == "drop-mac":
        keystore = json.loads((w.home / "keystores" / "buyer.json").read_text())
        del keystore["crypto"]["mac"]
        content = json.dumps(keystore)
    (w.home / "keystores" / "broken.json").write_text(content)
    refused(w, (command, "-a", "broken"), "keystore", "broken.json")


def test_unknown_account(w: CliWorld) -> None:
    refused(w, ("withdraw", "-a", "nobody"), "nobody.json", "does not exist")
    refused(w, ("search", "-a", "nobody"), "nobody.json", "does not exist")


# -- market --------------------------------------------------------------------------------------------------


def test_list_an_unknown_dataset(w: CliWorld) -> None:
    refused(w, ("list", 99, "-a", "seller", "--price", "1"), "unknown dataset id 99")


def test_buy_an_unknown_listing(w: CliWorld) -> None:
    refused(w, ("buy", 99, "-a", "buyer"), "unknown listing id 99")


def test_buy_ones_own_listing(w: CliWorld) -> None:
    refused(w, ("buy", 1, "-a", "seller"), "own listing")


@pytest.mark.parametrize("value", ["0.4", "0.5", "1.1", "0", "0.999999999999999999", "1000000000000000001wei"])
def test_buy_at_the_wrong_price(w: CliWorld, value: str) -> None:
    refused(w, ("buy", 1, "-a", "buyer", "--value", value), "wrong value", check_trail=value == "0.4")


@pytest.mark.parametrize("value", ["abc", "inf", "NaN", "1e-30", "-1"])
def test_amounts_that_are_not_ether(w: CliWorld, value: str) -> None:
    refused(w, ("buy", 1, "-a", "buyer", f"--value={value}"), value)
    refused(w, ("list", 3, "-a", "seller", f"--price={value}"), value)
    refused(w, ("list", 3, "-a", "seller", "--price=1", f"--collateral={value}"), value)


@pytest.mark.parametrize("value", ["1.5wei", "0x10wei", "wei", "-5wei", "١wei"])
def test_amounts_that_are_not_wei(w: CliWorld, value: str) -> None:
    refused(w, ("buy", 1, "-a", "buyer", f"--value={value}"), "not an amount of wei")


def test_confirm_twice(w: CliWorld) -> None:
    assert "confirm order #1" in ok(w.run("confirm", 1, "-a", "buyer"))
    trail = w.trail()
    assert [r["action"] for r in trail].count("Settled") == 1
    refused(w, ("confirm", 1, "-a", "buyer"), "confirm", "reverted", check_trail=True)


def test_withdraw_with_nothing_owed(w: CliWorld) -> None:
    refused(w, ("withdraw", "-a", "buyer"), "nothing to withdraw")


# -- organisations -------------------------------------------------------------------------------------------


def test_publish_from_an_organisation_not_audited(w: CliWorld, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "outsider.csv")
    refused(w, ("publish", path, "-a", "outsider", "--platform", "platform"), "publisher not audited")


def test_suspended_organisation_cannot_buy_or_search(w: CliWorld) -> None:
    assert "is now SUSPENDED" in ok(w.run("org", "status", "Buyer Org", "suspended", "-a", "supervisor"))
    refused(w, ("buy", 1, "-a", "buyer"), "buyer not audited")
    refused(w, ("search", "-a", "buyer"), "not a member of an Audited organisation")


def test_suspended_organisation_cannot_list(w: CliWorld) -> None:
    assert "is now SUSPENDED" in ok(w.run("org", "status", "Seller Org", "suspended", "-a", "supervisor"))
    refused(w, ("list", 3, "-a", "seller", "--price", "1"), "seller not audited")


def test_suspended_seller_first_listing_attempt_changes_nothing(w: CliWorld, tmp_path: Path) -> None:
    w.addresses.update(make_keystores(w.home, "newcomer"))
    ok(w.run("account", "fund", "newcomer", "--ether", "2"))  # the listing posts 1 ETH collateral
    assert "asked to join" in ok(w.run("org", "register", "Seller Org", "-a", "newcomer"))
    failed(
        w.run("publish", write_csv(tmp_path / "early.csv"), "-a", "newcomer", "--platform", "platform"),
        "publisher not audited",
    )  # a pending member inherits nothing
    assert "is now a member" in ok(w.run("org", "approve", w.addresses["newcomer"], "-a", "seller"))
    ok(w.run("publish", write_csv(tmp_path / "new.csv"), "-a", "newcomer", "--platform", "platform"))
    ok(w.run("org", "status", "Seller Org", "suspended", "-a", "supervisor"))
    before = w.state()
    failed(w.run("list", 4, "-a", "newcomer", "--price", "1"), "seller not audited")
    assert w.state() == before  # no approval is sent for a listing the contract would refuse


def test_only_the_supervisor_sets_a_status(w: CliWorld) -> None:
    refused(w, ("org", "status", "Outsider Org", "audited", "-a", "outsider"), "not the owner")
    refused(w, ("org", "status", "Outsider Org", "approved", "-a", "supervisor"), "unknown status 'approved'")
    refused(w, ("org", "show", "No Such Org"), "unknown organisation")


# -- files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["missing.csv", "[/bold]odd[red].csv"])
def test_publish_a_file_that_does_not_exist(w: CliWorld, tmp_path: Path, name: str) -> None:
    message = refused(w, ("publish", tmp_path / name, "-a", "seller", "--platform", "platform"), "no such file")
    assert name in message  # printed literally, not taken as Rich markup


def test_publish_an_empty_file(w: CliWorld, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.touch()
    refused(w, ("publish", empty, "-a", "seller", "--platform", "platform"), "file is empty")


# -- the chain -----------------------------------------------------------------------------------------------

PER_STEP = [
    ("audit",),
    ("audit", "--json"),
    ("deploy", "--supervisor", "supervisor", "--platform", "platform"),
    ("account", "fund", "buyer"),
    ("org", "register", "X", "-a", "buyer"),
    ("org", "status", "Buyer Org", "audited", "-a", "supervisor"),
    ("org", "show", "Buyer Org"),
    ("customer", "register", "-a", "buyer"),
    ("publish", "x.csv", "-a", "seller", "--platform", "platform"),
    ("search", "-a", "buyer"),
    ("list", "3", "-a", "seller", "--price", "1"),
    ("buy", "1", "-a", "buyer"),
    ("deliver", "1", "-a", "seller"),
    ("receive", "1", "x.dge", "-a", "buyer", "--out", "x.csv"),
    ("confirm", "1", "-a", "buyer"),
    ("refund", "1", "-a", "buyer"),
    ("release", "1", "-a", "seller"),
    ("withdraw", "-a", "seller"),
    ("offer", "1", "0.4", "-a", "buyer"),
    ("counter", "1", "0.45", "-a", "seller"),
    ("accept", "1", "-a", "seller"),
    ("accept-counter", "1", "--counter", "0.45", "-a", "buyer"),
    ("reject", "1", "-a", "seller"),
    ("withdraw-offer", "1", "-a", "buyer"),
    ("bid", "1", "0.5", "-a", "buyer"),
    ("settle", "1", "-a", "buyer"),
    ("dispute", "1", "-a", "buyer", "--reason", "x"),
    ("expire", "1", "-a", "buyer"),
    ("market", "params"),
]


@pytest.mark.parametrize("args", PER_STEP, ids=lambda a: " ".join(a[:2]))
def test_per_step_commands_need_an_rpc_url(w: CliWorld, args: tuple[str, ...]) -> None:
    before = w.state()
    failed(invoke([*args, "--home", str(w.home)]), "--rpc-url")
    assert w.state() == before


@pytest.mark.parametrize(
    "args",
    [("audit",), ("buy", "1", "-a", "buyer"), ("deploy", "--supervisor", "supervisor", "--platform", "platform")],
)
def test_closed_port(w: CliWorld, args: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    failed(invoke([*args, "--home", str(w.home), "--rpc-url", url]), "cannot reach", url)


def test_demo_on_a_closed_port() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    failed(invoke(["demo", "--rpc-url", url]), "cannot reach", url)


def test_errors_are_one_line_in_a_narrow_terminal(w: CliWorld) -> None:
    message = failed(invoke(["audit", "--home", str(w.home)], env={"COLUMNS": "30"}), "--rpc-url")
    assert len(message) > 30


def test_a_real_process_reports_an_unreachable_node_in_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env["COLUMNS"] = "40"
    proc = subprocess.run(
        [sys.executable, "-m", "datagora", "audit", "--home", str(tmp_path), "--rpc-url", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach"), proc.stderr


def test_audit_verify_confirms_the_index_and_catches_tampering(w: CliWorld, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "index.sqlite"
    out = ok(w.run("audit", "verify", "--index-url", f"sqlite:///{db}"))
    assert "the index matches the chain" in out and "verified" in out
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE events SET args = replace(args, '\"size\": ', '\"size\": 1') WHERE name = 'DatasetPublished'"
        )
    res = w.run("audit", "verify", "--index-url", f"sqlite:///{db}")
    assert res.exit_code == 1
    assert "args" in res.stderr and "rows differ from the chain" in res.stderr
    assert "Traceback" not in res.stdout + res.stderr


def test_audit_verify_reads_the_index_the_node_builds(w: CliWorld) -> None:
    """``serve -a seller`` and ``audit verify -a seller`` use one index file under --home: once the node has
    indexed the chain, the command finds nothing left to add and checks the node's rows."""
    from datagora.api.runtime import node_from_settings
    from datagora.api.settings import Settings
    from datagora.home import Home
    from tests.kits.cli_fixtures import PASSWORD

    node = node_from_settings(Settings(home=w.home, rpc_url=w.url, account="seller", index_url=None), lambda: PASSWORD)
    try:
        node.sync_index(force=True)
        built = node.engine.url.database
        indexed = node.indexer.count()
    finally:
        node.close()
    expected = Home(w.home).index_file(w.chain.chain_id, w.addresses["seller"])
    assert built == str(expected) and indexed > 0
    out = ok(w.run("audit", "verify", "-a", "seller"))
    assert f"event index: sqlite:///{expected}" in out
    assert "(+0 events)" in out and f"verified {indexed} rows" in out
    # the trail read from the node's index is the one read from an index of the command's own
    assert ok(w.run("audit", "--json", "-a", "seller")) == ok(w.run("audit", "--json"))
    assert sorted(p.name for p in Home(w.home).index_dir.iterdir() if p.suffix == ".db") == sorted(
        [expected.name, f"{w.chain.chain_id}.db"]
    )


def test_audit_filters_by_dataset(w: CliWorld) -> None:
    rows = [json.loads(line) for line in ok(w.run("audit", "--json", "--dataset", 1)).splitlines()]
    assert rows and all("#1" in r["detail"] or "dataset" not in r["detail"] for r in rows)
    assert len(rows) < len(w.trail())


def test_audit_exports_csv(w: CliWorld) -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(ok(w.run("audit", "--csv")))))
    assert [r["action"] for r in rows] == [r["action"] for r in w.trail()]
    assert all(r["tx_hash"].startswith("0x") and r["block_number"].isdigit() for r in rows)
