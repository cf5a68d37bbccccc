"""Shared fixtures: the chain backends every behaviour suite runs on.

``backend`` is parametrised over the embedded EVM and Anvil (started once per session on a free 127.0.0.1
port from the npm package; the README's test command installs it). Tests are isolated by snapshot/revert.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datagora.chain.client import Chain, EmbeddedChain, RpcChain
from datagora.chain.devnode import AnvilNode

BACKENDS = ["embedded", pytest.param("anvil", marks=pytest.mark.anvil)]


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    # No skip: the README's test command installs Anvil, so its absence is a failure to report.
    with AnvilNode() as node:
        yield node


@pytest.fixture(scope="session")
def anvil_url(anvil_node: AnvilNode) -> str:
    return anvil_node.url


def make_chain(kind: str, request: pytest.FixtureRequest) -> Chain:
    if kind == "embedded":
        return EmbeddedChain()
    node: AnvilNode = request.getfixturevalue("anvil_node")
    return RpcChain(node.url)


pytest_plugins = ["tests.world"]
