"""``datagora serve --dev`` in a browser's shoes: ``/`` lists the participants' nodes as a page, each node's pages
live under its own path (links, assets and the session cookie included), and a demo node's throw-away operator
signs in with one click; a node outside a demo network offers no such button."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from datagora.api.dev import DevNetwork, build_dev_network
from datagora.api.settings import Settings
from datagora.web.sessions import cookie_name

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevNetwork, TestClient]]:
    settings = Settings(home=tmp_path_factory.mktemp("dev-home"), index_interval=0)
    network = build_dev_network(settings, sample_data=True)
    with TestClient(network.app, base_url="http://testserver") as client:
        yield network, client


def test_the_directory_is_a_page_for_browsers_and_json_for_programs(dev: tuple[DevNetwork, TestClient]) -> None:
    network, client = dev
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert all(f'href="/nodes/{name}/"' in page.text for name in network.nodes)
    assert {n["name"] for n in client.get("/").json()["nodes"]} == set(network.nodes)


def test_a_demo_node_signs_its_operator_in_with_one_click(dev: tuple[DevNetwork, TestClient]) -> None:
    network, client = dev
    landing = client.get("/nodes/acme/", headers=HTML)
    assert "Acme Data Ltd" in landing.text and "Breast Cancer Wisconsin" in landing.text
    assert 'href="/nodes/acme/static/css/site.css"' in landing.text
    cookie = landing.headers["set-cookie"]
    assert cookie.startswith(cookie_name(network.nodes["acme"].address) + "=") and "Path=/nodes/acme/" in cookie
    signin = client.get("/nodes/acme/signin", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', signin.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/nodes/acme/signin/demo", data={"csrf_token": token, "next": "/my/orders"}, headers=HTML)
    assert answer.status_code == 200 and "Signed in as this demo node&#39;s operator." in answer.text
    assert str(answer.url).endswith("/nodes/acme/my/orders")
    assert "node operator" in answer.text
    # the session is this node's: the buyer's node still sees a visitor
    assert "Sign out" not in client.get("/nodes/bluelab/", headers=HTML).text
