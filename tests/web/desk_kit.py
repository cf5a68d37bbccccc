"""Helpers of the desks' page tests: signing a participant in to a node's pages without a browser (a web session
made in the node's own session store, its cookie set on the node's test client), and a disputed order set up on
nodes served over HTTP for the browser tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from datagora.api.client import NodeClient
from datagora.crypto.hashing import sha256_file
from datagora.services import disputes, publishing, relay
from datagora.web.sessions import WebSession, cookie_name
from tests.kits.node_fixtures import Net
from tests.world import ETHER, write_table

PRICE = ETHER // 10


@dataclass
class Browser:
    """A signed-in session on one node's pages: ``get`` and ``post`` (with the session's CSRF token) on its test
    client."""

    net: Net
    node: str
    session: WebSession

    def get(self, path: str, **kwargs: object) -> object:
        return self.net.http[self.node].get(path, headers={"Accept": "text/html"}, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None) -> object:
        form = {"csrf_token": self.session.csrf, **(data or {})}
        return self.net.http[self.node].post(path, data=form, headers={"Accept": "text/html"}, follow_redirects=True)


def web_app(app: FastAPI) -> FastAPI:
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            return route.app
    raise LookupError("no web app mounted")


def sign_in(net: Net, node: str, as_: str | None = None) -> Browser:
    """``as_`` (default: the node's operator) signed in to ``node``'s pages."""
    address = net.participant(as_ or node).address
    session = web_app(net.apps[node]).state.web.sessions.new(address, "password")
    net.http[node].cookies.set(cookie_name(net.nodes[node].address), session.token)
    return Browser(net, node, session)


def dispute_over_http(world: Any, seller_url: str, buyer_url: str, platform_url: str, work: Path) -> int:
    """On nodes served over HTTP: the seller's node publishes a table, the buyer's node buys it, the seller
    delivers through the platform's relay, the buyer reports another table's fingerprint and the platform's
    step-22 check disputes the order; the seller then re-uploads its data. Returns the order id."""
    seller = NodeClient(seller_url, world.seller.account)
    buyer = NodeClient(buyer_url, world.buyer.account)
    platform = NodeClient(platform_url, world.platform.account)
    at_platform_buyer = NodeClient(platform_url, world.buyer.account)
    at_platform_seller = NodeClient(platform_url, world.seller.account)
    try:
        data = write_table(work / "sold.csv", rows=300)
        token_id = seller.publish(data, name="Browser dispute table", domain="misc")["token_id"]
        listing_id = seller.list_offer(token_id, PRICE)["offer"]["listing_id"]
        order_id = int(buyer.buy(listing_id)["order"]["order_id"])
        seller.order_action(order_id, "deliver", {"relay_url": platform_url})
        cipher = work / f"got-{order_id}.dge"
        at_platform_buyer.download_relayed(
            order_id, cipher, expected_sha256=world.contracts.market.order(order_id).delivery_hash
        )
        decoy = publishing.fingerprint_of(write_table(work / "decoy.csv", rows=300))
        relay.report_received(
            world.contracts, world.buyer, order_id, sha256_file(cipher), at_platform_buyer, fingerprint=decoy
        )
        assert platform.check_delivery(order_id)["action"] == "dispute"
        out = disputes.reupload_for_arbitration(world.contracts, world.seller, order_id, work / "reupload.dge")
        with out.open("rb") as fh:
            at_platform_seller.reupload(order_id, fh, out.stat().st_size)
        return order_id
    finally:
        for client in (seller, buyer, platform, at_platform_buyer, at_platform_seller):
            client.close()


def sign_in_with_password(page: Any, web_node: Any) -> None:
    """Sign in to ``web_node``'s pages as its operator with the keystore password (``tests.web.conftest``)."""
    from tests.web.conftest import PASSWORD

    page.goto(web_node.url + "/signin")
    page.get_by_label("Keystore password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert "Signed in as" in page.locator(".flashes").inner_text(), page.locator("main").inner_text()
