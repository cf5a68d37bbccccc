"""The chain itself: ``datagora chain consortium up | down | status``, a consortium chain of Clique signers on
this machine (npm ``@ethereumjs/client``), kept under ``<home>/consortium``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from datagora.cli.app import DatagoraTyper, console, print_done, session
from datagora.domain.errors import ValidationError

PANEL = "Running a node"

app = DatagoraTyper()
chain_app = DatagoraTyper(help="The chain Datagora runs on.")
consortium_app = DatagoraTyper(
    help="A consortium chain on this machine: several signers (Clique proof of authority) that each hold the whole "
    "chain; it keeps going while one of three is down."
)
app.add_typer(chain_app, name="chain", rich_help_panel=PANEL)
chain_app.add_typer(consortium_app, name="consortium")

SignerOption = Annotated[
    int | None, typer.Option("--signer", help="Only this signer (0, 1, 2 …); without it, every signer.", min=0)
]


@consortium_app.command("up", account=False, signs=False)
def up(
    signers: Annotated[int, typer.Option(help="How many signers a new network has.", min=1, max=7)] = 3,
    period: Annotated[int, typer.Option(help="Seconds between blocks (new network only).", min=1, max=60)] = 2,
    fund: Annotated[
        list[str] | None,
        typer.Option(help="Also give this address (0x…) or keystore name ether at genesis (repeat it)."),
    ] = None,
    signer: SignerOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the signers to agree on a block.")] = 90.0,
) -> None:
    """Start the consortium; the first time, create it: fresh signer keys, and a genesis that gives every
    keystore of the home (and each --fund) a million ether.

    Example: datagora chain consortium up, then datagora profile set --rpc-url URL with the URL it prints"""
    from datagora.chain.consortium import DEFAULT_BALANCE, Consortium

    s = session()
    network = Consortium(s.home.consortium)
    if not network.exists():
        if signer is not None:
            raise ValidationError("there is no consortium yet: run `datagora chain consortium up` without --signer")
        funded = {s.address(p.stem): DEFAULT_BALANCE for p in sorted(s.home.keystores.glob("*.json"))}
        for entry in fund or []:
            funded[entry if entry.startswith("0x") else s.address(entry)] = DEFAULT_BALANCE
        made = network.create(signers, funded, period=period)
        print_done(
            f"created a network of {len(made)} signers, chain id {network.chain_id}, {len(funded)} accounts funded"
        )
    elif fund:
        raise ValidationError("--fund applies to a new network only (its genesis): `down --wipe` first to start over")
    with console.status("starting the signers and waiting for them to agree on a block …"):
        network.start(signer)
        head = max((st.block or 0) for st in network.status())
        network.wait_for_block(head + 1, timeout=timeout)
    _print_status(network)
    first = network.signers()[0 if signer is None else signer]
    console.print(f"JSON-RPC: {first.url}  (datagora profile set --rpc-url {first.url})", highlight=False)


@consortium_app.command("down", account=False, signs=False)
def down(
    signer: SignerOption = None,
    wipe: Annotated[bool, typer.Option("--wipe", help="Also delete the chain, its keys and its genesis.")] = False,
) -> None:
    """Stop the consortium's signers (or one of them); the chain stays on disk unless --wipe.

    Example: datagora chain consortium down --signer 2"""
    from datagora.chain.consortium import Consortium

    s = session()
    network = Consortium(s.home.consortium)
    if wipe:
        if signer is not None:
            raise ValidationError("--wipe deletes the whole network: leave out --signer")
        network.destroy()
        print_done(f"stopped and deleted the consortium in {network.data_dir}")
        return
    stopped = network.stop(signer)
    print_done(f"stopped signer {', '.join(map(str, stopped))}" if stopped else "no signer was running")


@consortium_app.command("status", account=False, signs=False)
def status() -> None:
    """Each signer: whether it runs, its latest block and peers, its JSON-RPC URL.

    Example: datagora chain consortium status"""
    from datagora.chain.consortium import Consortium

    _print_status(Consortium(session().home.consortium))


def _print_status(network: object) -> None:
    from datagora.chain.consortium import Consortium

    assert isinstance(network, Consortium)
    table = Table(title=f"consortium chain {network.chain_id} in {network.data_dir}", title_justify="left")
    for column in ("signer", "address", "state", "block", "hash", "peers", "JSON-RPC"):
        table.add_column(column, justify="right" if column in ("block", "peers") else "left")
    for st in network.status():
        table.add_row(
            str(st.signer.index),
            st.signer.address,
            "[green]running[/]" if st.running else "[red]stopped[/]",
            "" if st.block is None else f"{st.block:,}",
            (st.block_hash or "")[:12],
            "" if st.peers is None else str(st.peers),
            st.signer.url,
        )
    console.print(table)
