"""Running one command loads only its command group's module: the map from command names to modules is checked
against what each module registers, and ``datagora COMMAND --help`` in a fresh process loads neither the other
groups nor the chain libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from datagora.cli.main import _NAMES, COMMANDS, GROUPS, build, command_name


@pytest.mark.parametrize("module", GROUPS)
def test_each_mapped_name_is_registered_by_its_module(module: str) -> None:
    group = typer.main.get_command(build((module,)))
    registered = set(group.commands)  # type: ignore[attr-defined]
    mapped = set(_NAMES[module].split())
    assert mapped == registered, f"datagora.cli.main._NAMES[{module!r}] should list {sorted(registered)}"


def test_every_module_is_mapped_once() -> None:
    assert set(_NAMES) == set(GROUPS)
    assert len(COMMANDS) == sum(len(names.split()) for names in _NAMES.values()), "a name in two modules"


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["buy", "1", "-a", "buyer"], "buy"),
        (["--home", "/h", "--rpc-url", "http://x", "-a", "buyer", "orders"], "orders"),
        (["--home=/h", "search", "income"], "search"),
        (["--help"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_command_name_is_found_after_the_root_options(argv: list[str], name: str | None) -> None:
    assert command_name(argv) == name


def test_a_command_loads_only_its_own_group() -> None:
    code = (
        "import sys, json\n"
        "sys.argv = ['datagora', '--home', '/nonexistent', 'balance', '--help']\n"
        "from datagora.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.startswith(('datagora.cli.', 'web3')))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(run.stderr.strip().splitlines()[-1])
    assert "balance" in run.stdout
    assert "datagora.cli.account" in loaded
    assert not [m for m in loaded if m.startswith("web3")]
    assert "datagora.cli.market" not in loaded and "datagora.cli.demo" not in loaded
