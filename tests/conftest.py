"""Shared fixtures: the chain backends every behaviour suite runs on.

``backend`` is parametrised over the embedded EVM and Anvil (started once per session on a free 127.0.0.1
port from the npm package; the README's test command installs it). Tests are isolated by snapshot/revert.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from datagora.chain.client import Chain, EmbeddedChain, RpcChain
from datagora.chain.devnode import AnvilNode

# pytest-xdist's workers inherit COLUMNS=80 and LINES=24; a Rich console created at import would keep that width for
# good, while the CLI tests choose their width per invocation (tests/kits/cli_fixtures.py).
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from datagora.index.pgserver import PostgresServer

    # No skip: the README's test command installs PostgreSQL; its absence is a failure to report.
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_factory(request: pytest.FixtureRequest, tmp_path: object) -> object:
    """A function returning the URL of a new, empty database of the parametrised dialect."""
    import itertools
    import uuid
    from pathlib import Path

    counter = itertools.count()
    if request.param == "sqlite":
        base = Path(str(tmp_path))
        return lambda: f"sqlite:///{base / f'index-{next(counter)}.db'}"
    server = request.getfixturevalue("postgres_server")

    def new_pg() -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return server.url.rsplit("/", 1)[0] + "/" + name

    return new_pg


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers that are true: a test that needs Anvil or PostgreSQL through any fixture (directly or through the
    fixtures it uses, e.g. the CLI world or the multinode network) carries the ``anvil`` / ``postgres`` marker,
    so ``-m "not anvil"`` runs exactly the tests that need no external node."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"anvil_node", "anvil_url"} and item.get_closest_marker("anvil") is None:
            item.add_marker(pytest.mark.anvil)
        if "postgres_server" in names and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)
