"""The node's index follows the chain by itself: a background task syncs it every ``index_interval`` seconds
while the app runs, and a read syncs it first when the last sync is older than ``index_max_age``."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from datagora.api import create_app
from datagora.api.settings import Settings
from datagora.index.search import SearchQuery, search
from datagora.services import publishing
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import write_table

pytestmark = EMBEDDED


def _publish(net: Net, path: Path) -> int:
    w = net.world
    assert w.attestor is not None
    prepared = publishing.prepare(w.seller, write_table(path), name="Synced survey")
    token_id, _, _ = publishing.publish(w.contracts, w.seller, prepared, w.attestor)
    return token_id


def test_background_task_syncs_the_index(net: Net, tmp_path: Path) -> None:
    node = net.nodes["buyer"]
    app = create_app(node, settings=Settings(siwe_domain="bg.test", index_interval=0.05))
    with TestClient(app, base_url="http://bg.test"):
        token_id = _publish(net, tmp_path / "a.csv")
        deadline = time.monotonic() + 10
        while not search(node.engine, SearchQuery(token_id=token_id)).hits:
            assert time.monotonic() < deadline, "the background task never indexed the new dataset"
            time.sleep(0.05)


def test_reads_sync_when_the_index_is_stale(net: Net, tmp_path: Path) -> None:
    node = net.nodes["buyer"]
    node.index_max_age = 3600
    buyer = net.client("buyer")
    assert buyer.search()["total"] == 0  # syncs (first sync), then the index counts as fresh for an hour
    _publish(net, tmp_path / "b.csv")
    assert buyer.search()["total"] == 0  # fresh enough: no sync
    node.index_max_age = 0
    assert buyer.search()["total"] == 1
