"""Run the Node.js probe ``wallets.cjs`` (ethers v6, @metamask/eth-sig-util, siwe from package.json).

Tests using it are marked ``node`` and skipped only when the ``node`` executable is absent; a missing npm package
is a failure (``scripts/test`` installs them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

PROBE = Path(__file__).with_name("wallets.cjs")
NODE = shutil.which("node")

needs_node = [pytest.mark.node, pytest.mark.skipif(NODE is None, reason="Node.js is not installed")]


def jsonable(value: Any) -> Any:
    """``value`` with integers as decimal strings (JSON numbers lose precision past 2**53 in JavaScript) and bytes
    as 0x-hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def run_probe(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run every command in one Node.js process; returns one result per command."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(PROBE)],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROBE.parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results
