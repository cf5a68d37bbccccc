"""Accounts: keystores (``datagora account …``), the remembered options (``datagora profile …``) and what an
account holds, is owed and has locked (``datagora balance``). Nothing here decrypts a keystore except
``account new``, which writes one, and ``account unlock``, which hands the key to the unlock agent
(:mod:`datagora.services.unlock_agent`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from datagora.cli import units
from datagora.cli.app import (
    DatagoraTyper,
    HomeOption,
    Profile,
    console,
    open_session,
    print_done,
    session,
    warn,
)
from datagora.domain.errors import ValidationError

PANEL = "Accounts and organisations"

app = DatagoraTyper()
account_app = DatagoraTyper(help="Accounts in encrypted keystores under the home folder.")
profile_app = DatagoraTyper(
    help="Options remembered in <home>/profile.json (chain node URL, account) so they need not be repeated."
)
app.add_typer(account_app, name="account", rich_help_panel=PANEL)
app.add_typer(profile_app, name="profile", rich_help_panel=PANEL)


@account_app.command("new", account=False)
def account_new(name: Annotated[str, typer.Argument(help="Name of the new keystore, e.g. buyer.")]) -> None:
    """Create an account in an encrypted keystore (password from DATAGORA_PASSWORD or a prompt).

    Example: datagora account new buyer"""
    from datagora.crypto.keys import new_account, save_keystore

    s = session()
    path = s.keystore(name)
    account = new_account()
    path = save_keystore(account, path, s.password(name, new=True))
    print_done(f"account {name} {account.address} → {path}")


@account_app.command("list", account=False)
def account_list() -> None:
    """List the keystores and their addresses (nothing is decrypted).

    Example: datagora account list"""
    from datagora.services import unlock_agent

    s = session()
    try:
        held = {u.account: u for u in unlock_agent.unlocked(s.home.agent_socket)}
    except unlock_agent.AgentError as exc:
        warn(str(exc))
        held = {}
    table = Table("name", "address", "unlocked")
    for path in sorted(s.home.keystores.glob("*.json")):
        try:
            address = "0x" + str(json.loads(path.read_text())["address"]).removeprefix("0x")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            address = "(malformed keystore)"
        until = held.get(path.stem)
        table.add_row(path.stem, address, f"until {_clock(until.expires_at)}" if until else "")
    console.print(table)


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%H:%M:%S %Z")


@account_app.command("unlock", account=False)
def account_unlock(
    name: Annotated[str, typer.Argument(help="Keystore name of the account to unlock.")],
    for_: Annotated[
        str, typer.Option("--for", help="How long the key stays unlocked, e.g. 90s, 15m, 2h (at most 24h).")
    ] = "15m",
) -> None:
    """Keep an account's key unlocked for a while, so commands need no password (like ssh-agent).

    The keystore is decrypted once and the key handed to a small agent process of this user, reachable only by
    this user through a socket in the home folder. The key is never written to disk; it is forgotten when the
    time is up or at `datagora account lock`. Commands use it when it is there and ask for the password
    otherwise.

    Example: datagora account unlock buyer --for 15m"""
    from datagora.crypto.keys import load_keystore
    from datagora.services import unlock_agent

    s = session()
    seconds = unlock_agent.parse_duration(for_)
    address = s.address(name)
    account = load_keystore(s.keystore(name), s.password(name))
    held = unlock_agent.add(s.home.agent_socket, name, address, bytes(account.key), seconds)
    print_done(f"{name} {address} unlocked until {_clock(held.expires_at)} (lock it now: datagora account lock)")


@account_app.command("lock", account=False)
def account_lock(
    name: Annotated[str | None, typer.Argument(help="Keystore name to lock (default: every account).")] = None,
) -> None:
    """Forget unlocked keys at once: one account's, or every account's (the unlock agent then stops).

    Example: datagora account lock"""
    from datagora.services import unlock_agent

    s = session()
    if name is not None:
        s.account_name(name)  # a valid name
    forgot = unlock_agent.lock(s.home.agent_socket, name)
    if not forgot:
        print_done(f"{name} was not unlocked" if name else "no account was unlocked")
        return
    print_done(f"locked {', '.join(forgot)}")


@account_app.command("fund", account=False)
def account_fund(
    name: Annotated[str, typer.Argument(help="Keystore name of the account to fund.")],
    ether: Annotated[str, typer.Option(help="Amount in ether.")] = "10",
) -> None:
    """Send ether to an account from the chain node's unlocked development account (Anvil).

    Example: datagora account fund buyer --ether 10"""
    s = session()
    address = s.address(name)
    amount = units.parse_ether(ether)
    chain = s.chain()
    chain.fund(address, amount)
    print_done(f"{name} balance {units.ether(chain.balance(address))}")


@profile_app.command("show", common=True, account=False)
def profile_show() -> None:
    """Show the remembered options and where they are kept.

    Example: datagora profile show"""
    s = session()
    console.print(f"profile {s.home.profile}", highlight=False)
    console.print(f"  rpc-url  {s.profile.rpc_url or '(not set)'}", highlight=False)
    console.print(f"  account  {s.profile.account or '(not set)'}", highlight=False)


@profile_app.command("set", common=False)
def profile_set(
    home: HomeOption = None,
    remember_rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="JSON-RPC URL of the chain node to use by default.")
    ] = None,
    remember_account: Annotated[
        str | None, typer.Option("--account", "-a", help="Keystore name of the account to act as by default.")
    ] = None,
) -> None:
    """Remember the chain node's URL and/or the acting account, so later commands need neither option (an
    option given on the command line still wins).

    Example: datagora profile set --rpc-url http://127.0.0.1:8545 --account buyer"""
    s = open_session(home, None, None)
    if remember_rpc_url is None and remember_account is None:
        raise ValidationError("give what to remember: --rpc-url URL and/or --account NAME")
    if remember_account is not None:
        s.address(remember_account)  # the keystore must exist
    profile = Profile(remember_rpc_url or s.profile.rpc_url, remember_account or s.profile.account)
    path = profile.save(s.home.profile)
    print_done(
        f"remembered rpc-url {profile.rpc_url or '(not set)'}, account {profile.account or '(not set)'} in {path}"
    )


@profile_app.command("clear", account=False)
def profile_clear() -> None:
    """Forget the remembered options.

    Example: datagora profile clear"""
    s = session()
    s.home.profile.unlink(missing_ok=True)
    print_done(f"forgot the options remembered in {s.home.profile}")


@app.command("balance", rich_help_panel="Start here", signs=False)
def balance(
    token: Annotated[
        list[str] | None, typer.Option("--token", help="Also show this ERC-20 (address); repeatable.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (amounts in wei / units).")] = False,
) -> None:
    """What the account holds (ether and the ERC-20s it trades in), what the market owes it (withdraw it with
    `datagora withdraw`) and what is locked in escrow and as collateral. Reads the chain only: no password.

    Example: datagora balance -a seller"""
    from datagora.services import accounts

    s = session()
    contracts = s.contracts()
    address = s.address()
    checked = [token_address(t) for t in token or []]
    bal = accounts.balance_of(contracts, address, checked)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "account": s.account_name(),
                    "address": address,
                    "ether": str(bal.ether),
                    "holdings": [
                        {"payment_token": h.payment_token, "held": str(h.held), "withdrawable": str(h.withdrawable)}
                        for h in bal.holdings
                    ],
                    "locked": [
                        {"what": x.what, "amount": str(x.amount), "payment_token": x.payment_token, "until": x.deadline}
                        for x in bal.locked
                    ],
                }
            )
        )
        return
    now = contracts.chain.now()
    console.print(f"[bold]{s.account_name()}[/] {address} on chain {contracts.chain.chain_id}", highlight=False)
    table = Table("", "amount", "", box=None, show_header=False, pad_edge=False)
    for h in bal.holdings:
        name = "ETH" if int(h.payment_token, 16) == 0 else units.money(contracts, 1, h.payment_token).split()[-1]
        held = (
            units.ether(h.held, exact=True, places=4)
            if int(h.payment_token, 16) == 0
            else units.money(contracts, h.held, h.payment_token, exact=True)
        )
        table.add_row(f"in the wallet ({name})", held, "")
        hint = "→ datagora withdraw" + ("" if int(h.payment_token, 16) == 0 else f" --token {h.payment_token}")
        table.add_row(
            f"withdrawable ({name})",
            units.money(contracts, h.withdrawable, h.payment_token, exact=True),
            hint if h.withdrawable else "",
        )
        total = bal.locked_total(h.payment_token)
        table.add_row(f"locked ({name})", units.money(contracts, total, h.payment_token, exact=True), "")
    console.print(table)
    if bal.orders_checked < bal.orders_total:
        console.print(f"(only the newest {bal.orders_checked:,} of {bal.orders_total:,} orders were checked)")
    for x in bal.locked:
        until = f", until {units.when(x.deadline, now)}" if x.deadline else ""
        console.print(f"  {x.what}: {units.money(contracts, x.amount, x.payment_token)}{until}", highlight=False)


def token_address(text: str) -> str:
    """An ERC-20 address from ``--token`` in EIP-55 form. ``ValueError`` when it is not an address."""
    from datagora.crypto.keys import checksum_address

    return checksum_address(text)
