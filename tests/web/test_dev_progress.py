"""The page a browser sees while ``datagora serve --dev`` builds its network, in Chromium: accessible at 390 px
and 1280 px (axe-core), the steps in words, and it follows the build by itself until the node's own page opens."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from datagora.api import dev as dev_module
from datagora.api.dev import DevNetwork, start_dev_network
from datagora.api.settings import Settings
from datagora.chain.devnode import free_port
from tests.web.conftest import check_page


@pytest.fixture
def held_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DevNetwork, str, threading.Event]]:
    """A ``serve --dev`` app on uvicorn whose build waits for the returned event: (network, base URL, event)."""
    release = threading.Event()
    real = dev_module._build

    def held(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(timeout=120), "the test never released the build"
        return real(*args, **kwargs)

    monkeypatch.setattr(dev_module, "_build", held)
    port = free_port()
    network = start_dev_network(Settings(home=tmp_path, port=port, index_interval=0), sample_data=False)
    server = uvicorn.Server(uvicorn.Config(network.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="dev-progress", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the dev server did not start"
        time.sleep(0.05)
    yield network, f"http://127.0.0.1:{port}", release
    release.set()
    server.should_exit = True
    thread.join(timeout=60)
    for node in network.nodes.values():
        node.close()


def test_the_progress_page_is_accessible_and_opens_the_node_when_ready(
    held_network: tuple[DevNetwork, str, threading.Event], new_page: Callable[..., Any]
) -> None:
    network, url, release = held_network
    page = new_page(390)
    answer = page.goto(f"{url}/nodes/acme/")
    assert answer.status == 503
    assert page.locator("h1").inner_text() == "Starting the Datagora demo network"
    assert page.get_by_role("status").inner_text().startswith("Step 1 of")
    assert page.locator("#steps li").first.inner_text().endswith("(in progress)")
    check_page(page, "dev-progress")
    release.set()
    # the page follows the build and reloads into the seller's own landing page
    page.wait_for_function("() => document.title.indexOf('Starting') < 0", timeout=120_000)
    page.get_by_text("Acme Data Ltd").first.wait_for()
    assert page.url == f"{url}/nodes/acme/" and network.progress.state == "ready"
