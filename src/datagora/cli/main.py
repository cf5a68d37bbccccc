"""The ``datagora`` command line (Typer + Rich): one module per command group, each a :class:`DatagoraTyper`
merged into this root app; the root callback takes the options every command shares (``--home``, ``--rpc-url``,
``--account``, which may also follow the command name) and ``--version``.

Thin: parse, call a service, render. Every command turns a Datagora error into one ``error:`` line on stderr and
exit code 1 (no traceback). Modules import the chain and services lazily, so ``datagora --help`` stays fast, and
running one command imports only its group's module (:data:`COMMANDS`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer

from datagora import __version__
from datagora.cli.app import AccountOption, DatagoraTyper, HomeOption, RpcUrlOption, set_root_options

GROUPS: tuple[str, ...] = (
    "demo",
    "account",
    "org",
    "dataset",
    "market",
    "use_rights",
    "disputes",
    "points",
    "shop",
    "consent",
    "compute",
    "federated",
    "collaboration",
    "infrastructure",
    "anchoring",
    "audit",
    "node",
    "chain",
)
"""The command-group modules of :mod:`datagora.cli`, in the order of the help panels (as a person meets them:
start, accounts, selling, buying, use-rights, disputes, the platform, the supervisor, running a node)."""

_NAMES: dict[str, str] = {
    "demo": "demo",
    "account": "balance account profile",
    "org": "org customer",
    "dataset": "sample publish search dataset",
    "market": "list buy deliver receive fetch confirm refund release rate reputation withdraw orders offer counter "
    "accept accept-counter reject withdraw-offer bid settle market",
    "use_rights": "buy-queries query expire policy",
    "disputes": "dispute reupload disclose check-delivery arbitrate enforce-deadlines",
    "points": "points",
    "shop": "shop",
    "consent": "consent",
    "compute": "compute",
    "federated": "federated",
    "collaboration": "dao",
    "infrastructure": "infra",
    "anchoring": "anchor verify",
    "audit": "audit",
    "node": "serve fingerprint deploy status",
    "chain": "chain",
}
COMMANDS: dict[str, str] = {command: module for module, names in _NAMES.items() for command in names.split()}
"""Top-level command or group name → the module that registers it, so that running one command imports only its
module (:func:`main`). A name missing here still works: the whole command line is then loaded."""

_ROOT_VALUE_OPTIONS = ("--home", "--rpc-url", "--account", "-a")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"datagora {__version__}")
        raise typer.Exit()


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


def build(modules: tuple[str, ...] = GROUPS) -> DatagoraTyper:
    """The ``datagora`` app with the command groups of ``modules`` (names in :data:`GROUPS`; default: all)."""
    built = DatagoraTyper(
        name="datagora",
        help="Share and trade data without giving it away: the data stays encrypted in its owner's store, an EVM "
        "chain settles who published, bought and was paid.\n\nNew here? Run `datagora demo`, then `datagora status`.",
        rich_markup_mode="rich",
    )
    built.callback(common=False)(root)
    for name in modules:
        built.add_typer(importlib.import_module(f"datagora.cli.{name}").app)
    return built


def command_name(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the arguments after ``datagora``), skipping the root options; None when
    there is none (``--help``, ``--version``, nothing)."""
    args = iter(argv)
    for arg in args:
        if arg in _ROOT_VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
        elif arg.split("=", 1)[0] not in _ROOT_VALUE_OPTIONS:
            return None
    return None


_APP: DatagoraTyper | None = None


def __getattr__(name: str) -> Any:
    """``app``: the whole command line (every group), built on first use (tests, ``typer.testing``)."""
    global _APP
    if name == "app":
        if _APP is None:
            _APP = build()
        return _APP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:  # pragma: no cover - console entry point
    """The ``datagora`` console script: loads only the module of the command being run (all for ``--help``)."""
    wanted = COMMANDS.get(command_name(sys.argv[1:]) or "")
    build((wanted,) if wanted else GROUPS)(prog_name="datagora")
