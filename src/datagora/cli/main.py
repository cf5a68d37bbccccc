"""The ``datagora`` command line (Typer + Rich): one module per command group, each a :class:`DatagoraTyper`
merged into this root app; the root callback takes the options every command shares (``--home``, ``--rpc-url``,
``--account``, which may also follow the command name) and ``--version``.

Thin: parse, call a service, render. Every command turns a Datagora error into one ``error:`` line on stderr and
exit code 1 (no traceback). Modules import the chain and services lazily, so ``datagora --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from datagora import __version__
from datagora.cli import (
    account,
    anchoring,
    audit,
    chain,
    collaboration,
    compute,
    consent,
    dataset,
    demo,
    disputes,
    federated,
    infrastructure,
    market,
    node,
    org,
    points,
    shop,
    use_rights,
)
from datagora.cli.app import AccountOption, DatagoraTyper, HomeOption, RpcUrlOption, set_root_options

app = DatagoraTyper(
    name="datagora",
    help="Share and trade data without giving it away: the data stays encrypted in its owner's store, an EVM "
    "chain settles who published, bought and was paid.\n\nNew here? Run `datagora demo`, then `datagora status`.",
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"datagora {__version__}")
        raise typer.Exit()


@app.callback(common=False)
def root(
    home: HomeOption = None,
    rpc_url: RpcUrlOption = None,
    account_name: AccountOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Options given here apply to the command that follows (the same options after the command win)."""
    set_root_options(home, rpc_url, account_name)


# Help panels in the order a person meets them: start, accounts, selling, buying, use-rights, disputes, the
# platform, the supervisor, running a node.
for module in (
    demo,
    account,
    org,
    dataset,
    market,
    use_rights,
    disputes,
    points,
    shop,
    consent,
    compute,
    federated,
    collaboration,
    infrastructure,
    anchoring,
    audit,
    node,
    chain,
):
    app.add_typer(module.app)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="datagora")
