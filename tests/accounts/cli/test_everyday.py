"""Everyday use of the command line: ``balance``, ``orders``, ``status``, the remembered profile, the options
before the command name, ``--version``, help for people, readable units, money errors in plain words, files
never overwritten without ``--force``, and read-only commands that never unlock a keystore."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from datagora import __version__
from datagora.chain.devnode import free_port
from datagora.cli import units
from datagora.cli.main import app
from datagora.crypto import keys
from tests.kits.cli_fixtures import CliWorld, failed, invoke, make_keystores, ok, refused, write_csv

ETHER = 10**18
READ_ONLY = [
    ("search", "-a", "buyer"),
    ("orders", "-a", "buyer"),
    ("balance", "-a", "seller"),
    ("status", "-a", "buyer"),
    ("audit",),
    ("org", "show", "Buyer Org"),
    ("market", "params"),
]


def balance_json(w: CliWorld, who: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok(w.run("balance", "-a", who, "--json")))
    return doc


def orders_json(w: CliWorld, who: str, *extra: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ok(w.run("orders", "-a", who, "--json", *extra)).splitlines()]


# -- balance, orders, status -------------------------------------------------------------------------------------


def test_balance_shows_what_is_held_withdrawable_and_locked(w: CliWorld) -> None:
    seller = balance_json(w, "seller")
    assert seller["address"] == w.addresses["seller"]
    assert int(seller["ether"]) == w.chain.balance(w.addresses["seller"])
    ether = next(h for h in seller["holdings"] if int(h["payment_token"], 16) == 0)
    assert int(ether["withdrawable"]) == 0
    # listing 1 is open, listing 2 sold (order 1 delivered, not confirmed): each holds the seller's collateral
    locked = {x["what"]: int(x["amount"]) for x in seller["locked"]}
    assert locked == {"listing #1: seller's collateral": ETHER // 2, "listing #2: seller's collateral": ETHER // 4}
    buyer = balance_json(w, "buyer")
    assert {x["what"]: int(x["amount"]) for x in buyer["locked"]} == {
        "order #1: price and collateral in escrow": ETHER // 2
    }
    text = ok(w.run("balance", "-a", "buyer"))
    assert "locked (ETH)" in text and "0.5 ETH" in text and "order #1: price and collateral in escrow" in text
    assert re.search(r"until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (1 day|23 h \d+ min)\)", text), text

    # once confirmed, the seller's price (less the fee) and both collaterals become withdrawable
    ok(w.run("confirm", 1, "-a", "buyer"))
    seller = balance_json(w, "seller")
    ether = next(h for h in seller["holdings"] if int(h["payment_token"], 16) == 0)
    fee = ETHER // 4 * 250 // 10_000
    assert int(ether["withdrawable"]) == ETHER // 4 * 2 - fee
    assert [x["what"] for x in seller["locked"]] == ["listing #1: seller's collateral"]
    text = ok(w.run("balance", "-a", "seller"))
    assert f"{units.ether(ETHER // 2 - fee, exact=True)}" in text and "datagora withdraw" in text
    assert balance_json(w, "buyer")["locked"] == []


def test_balance_counts_open_offers_and_leading_bids(w: CliWorld, tmp_path: Path) -> None:
    ok(w.run("list", 3, "-a", "seller", "--negotiable", "--price", "1", "--collateral", "0.1"))  # listing 3
    ok(w.run("offer", 3, "0.8", "-a", "buyer"))
    ok(w.run("publish", write_csv(tmp_path / "auction.csv"), "-a", "seller", "--platform", "platform"))
    ok(w.run("list", 4, "-a", "seller", "--auction", "--reserve", "0.2", "--min-increment", "0.01"))  # listing 4
    ok(w.run("bid", 4, "0.3", "-a", "buyer"))
    locked = {x["what"]: int(x["amount"]) for x in balance_json(w, "buyer")["locked"]}
    assert locked["offer #1 on listing #3: amount and collateral in escrow"] == ETHER * 9 // 10
    assert locked["leading bid on listing #4: bid and collateral in escrow"] == ETHER * 3 // 10 + ETHER * 2 // 10
    ok(w.run("withdraw-offer", 1, "-a", "buyer"))
    locked = {x["what"]: int(x["amount"]) for x in balance_json(w, "buyer")["locked"]}
    assert not any(what.startswith("offer #1") for what in locked)
    holdings = balance_json(w, "buyer")["holdings"]
    assert int(holdings[0]["withdrawable"]) == ETHER * 9 // 10  # the withdrawn offer's escrow is owed back


def test_orders_as_buyer_and_as_seller_with_the_next_step(w: CliWorld) -> None:
    [mine] = orders_json(w, "buyer")
    assert (mine["order_id"], mine["role"], mine["state"], mine["dataset"]) == (1, "buyer", "DELIVERED", 2)
    assert mine["command"] == "datagora confirm 1" and int(mine["amount"]) == ETHER // 4
    [sold] = orders_json(w, "seller")
    assert (sold["order_id"], sold["role"], sold["command"]) == (1, "seller", "")
    assert "wait for the buyer's confirmation" in sold["next_step"]
    assert orders_json(w, "outsider") == []
    table = ok(w.run("orders", "-a", "buyer"))
    assert "#1" in table and "delivered" in table and "datagora confirm 1" in table

    ok(w.run("confirm", 1, "-a", "buyer"))
    assert orders_json(w, "buyer") == []
    assert "no open orders" in ok(w.run("orders", "-a", "buyer")) and "--all" in ok(w.run("orders", "-a", "buyer"))
    [done] = orders_json(w, "buyer", "--all")
    assert done["state"] == "COMPLETED" and done["command"] == ""

    # a paid order not delivered in time: the buyer's next step is the refund
    ok(w.run("buy", 1, "-a", "buyer"))
    [fresh] = orders_json(w, "seller")
    assert fresh["order_id"] == 2 and fresh["command"] == "datagora deliver 2"
    w.chain.advance_time(2 * 86_400)
    [late] = orders_json(w, "buyer")
    assert late["command"] == "datagora refund 2"


def test_status_names_the_chain_the_deployment_and_the_organisation(w: CliWorld) -> None:
    out = ok(w.run("status", "-a", "buyer"))
    assert "chain id 31337" in out and w.url in out
    assert str(w.home / "deployments" / "31337.json") in out
    assert w.addresses["buyer"] in out and "'Buyer Org', AUDITED" in out
    assert "(supervisor)" in ok(w.run("status", "-a", "supervisor"))
    assert "'Outsider Org', TO_AUDIT" in ok(w.run("status", "-a", "outsider"))
    # without a chain: what is configured, and how to choose one
    out = ok(invoke(["status", "--home", str(w.home)]))
    assert "none chosen" in out and "--rpc-url" in out and "buyer" in out


# -- read-only commands, passwords, input and output files ----------------------------------------------------


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a[:2]))
def test_read_only_commands_never_unlock_a_keystore(
    w: CliWorld, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a read-only command decrypted a keystore")

    monkeypatch.setattr(keys, "load_keystore", refuse)
    ok(w.run(*args, env={"DATAGORA_PASSWORD": None}))


def test_a_missing_password_without_a_terminal_names_the_variable(w: CliWorld) -> None:
    refused(w, ("buy", 1, "-a", "buyer"), "DATAGORA_PASSWORD", "buyer", env={"DATAGORA_PASSWORD": None})


def test_input_files_are_checked_before_the_keystore_is_unlocked(w: CliWorld, tmp_path: Path) -> None:
    env = {"DATAGORA_PASSWORD": None}  # unlocking would fail with a different message
    refused(w, ("publish", tmp_path / "nope.csv", "-a", "seller", "--platform", "platform"), "no such file", env=env)
    refused(w, ("receive", 1, tmp_path / "nope.dge", "-a", "buyer", "--out", tmp_path / "x.csv"), "no such", env=env)
    (tmp_path / "q.json").write_text("")
    refused(w, ("query", 1, "--spec", tmp_path / "q.json", "--from", "http://x", "-a", "buyer"), "empty", env=env)


def test_out_never_overwrites_without_force(w: CliWorld, tmp_path: Path) -> None:
    out = tmp_path / "data.csv"
    out.write_text("mine")
    args = ("receive", 1, w.files["delivery"], "-a", "buyer", "--out", out)
    refused(w, args, "already exists", "--force")
    assert out.read_text() == "mine"
    text = ok(w.run(*args, "--force"))
    assert "matches Catalog" in text and re.search(r"\(\d+(\.\d)? (bytes|KB)\)", text), text
    assert out.read_text() != "mine"
    outbox = w.files["delivery"].parent
    refused(w, ("deliver", 1, "-a", "seller", "--out", outbox), "order-1.dge already exists")


# -- money in plain words ----------------------------------------------------------------------------------------


def test_buying_without_the_money_says_what_is_needed(w: CliWorld, tmp_path: Path) -> None:
    ok(w.run("publish", write_csv(tmp_path / "big.csv"), "-a", "seller", "--platform", "platform"))
    out = ok(w.run("list", 4, "-a", "seller", "--price", "6", "--collateral", "6"))
    listing = int(re.search(r"listing #(\d+)", out).group(1))  # type: ignore[union-attr]
    w.addresses.update(make_keystores(w.home, "poor"))
    ok(w.run("account", "fund", "poor", "--ether", "1.5"))
    message = refused(w, ("buy", listing, "-a", "poor"), env={"DATAGORA_PASSWORD": None})
    assert f"buying listing {listing} needs 12 ETH (6 ETH price + 6 ETH collateral) plus gas" in message
    assert "the account holds 1.5 ETH" in message


# -- the profile and the options before the command ----------------------------------------------------------------


def test_the_profile_remembers_the_node_and_the_account(w: CliWorld, tmp_path: Path) -> None:
    home = ["--home", str(w.home)]
    try:
        failed(invoke(["balance", *home]), "--rpc-url")
        out = ok(invoke(["profile", "set", "--rpc-url", w.url, "--account", "buyer", *home]))
        assert str(w.home / "profile.json") in out
        assert json.loads((w.home / "profile.json").read_text()) == {"rpc_url": w.url, "account": "buyer"}
        doc = json.loads(ok(invoke(["balance", "--json", *home])))
        assert doc["address"] == w.addresses["buyer"]
        # an option on the command line wins over the profile, before or after the command name
        assert json.loads(ok(invoke(["balance", "--json", "-a", "seller", *home])))["account"] == "seller"
        assert json.loads(ok(invoke([*home, "-a", "seller", "balance", "--json"])))["account"] == "seller"
        shown = ok(invoke(["profile", "show", *home]))
        assert w.url in shown and "buyer" in shown
        failed(invoke(["profile", "set", "--account", "nobody", *home]), "nobody.json", "does not exist")
        ok(invoke(["profile", "clear", *home]))
        assert not (w.home / "profile.json").exists()
        failed(invoke(["balance", *home]), "--rpc-url")
    finally:
        (w.home / "profile.json").unlink(missing_ok=True)


def test_options_before_the_command_name(w: CliWorld) -> None:
    out = ok(invoke(["--home", str(w.home), "--rpc-url", w.url, "--account", "buyer", "orders", "--json"]))
    assert json.loads(out.splitlines()[0])["order_id"] == 1
    failed(invoke(["--home", str(w.home), "--rpc-url", w.url, "balance"]), "which account", "--account")


def test_a_malformed_profile_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "profile.json").write_text("{oops")
    failed(invoke(["status", "--home", str(tmp_path)]), "profile", "not JSON")


# -- version, help, unreachable nodes ---------------------------------------------------------------------------


def test_version() -> None:
    assert ok(invoke(["--version"])).strip() == f"datagora {__version__}"


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` (a Typer group) with its path; a group with a callback of its own
    (``audit``) counts as a command too."""
    found = []
    for name, cmd in group.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            found.extend(_commands(cmd, (*prefix, name)))
        if not sub or name == "audit":
            found.append(((*prefix, name), cmd))
    return found


def test_help_is_grouped_by_role_with_an_example_per_command() -> None:
    text = ok(invoke(["--help"]))
    for panel in ("Start here", "Accounts and organisations", "Selling data", "Buying data", "Platform"):
        assert panel in text
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 40
    for path, cmd in commands:
        doc = cmd.help or ""
        if path[0] == "demo":
            continue  # rewritten in its own module
        assert "Example: datagora " + " ".join(path) in doc, f"{' '.join(path)}: no example in its help"
        assert not re.search(r"section [IVX0-9]|Algorithm|Wu et al|\bIV\.", doc), f"{' '.join(path)}: {doc}"


def test_an_unreachable_datagora_node_is_one_line_with_a_hint(w: CliWorld, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    message = refused(w, ("fetch", 1, "--from", url, "-a", "buyer", "--out", tmp_path / "x.csv"), "cannot reach")
    assert f"the node at {url}" in message and "(connection refused)" in message and "is it running?" in message
    assert "httpx" not in message and "Errno" not in message and "ConnectError" not in message
    assert not (tmp_path / "x.csv").exists()


def test_an_unreachable_node_is_one_line_with_a_hint(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    proc = subprocess.run(
        [sys.executable, "-m", "datagora", "orders", "-a", "x", "--home", str(tmp_path), "--rpc-url", url],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "300"},
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"error: cannot reach the chain node at {url} (connection refused)"), line
    assert "is it running?" in line and "--rpc-url" in line
    for noise in ("urllib3", "HTTPConnectionPool", "Max retries", "NewConnectionError", "Errno"):
        assert noise not in line
