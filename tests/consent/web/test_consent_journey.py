"""The customer's journey in Debian's Chromium on Anvil, with the shop's, the partner's and the customer's nodes
each served over HTTP: the customer gives consent on their node's page; the partner's node asks for the item and
fetches it from the shop's node over HTTP, checking its hash on chain; the customer's dashboard shows the access
with its reward; the customer withdraws, the next request is refused and the dashboard shows the refusal; the
customer signs in to the shop's node with a wallet and erases the category, after which the shop delivers
nothing. Screenshots of each step are saved under build/screenshots/ (consent-*.png), and axe finds no serious
accessibility violation on the pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from datagora.api.client import NodeClient, RemoteError
from datagora.services import consent, registry, streams
from datagora.services.participant import Participant
from tests.web.conftest import ANVIL, WebNode, check_page, screenshot, serve_node, sign_in_with_wallet
from tests.web.desk_kit import sign_in_with_password
from tests.world import ETHER

pytestmark = [ANVIL, pytest.mark.slow]

CONTACT = {"name": "Ada Quill", "email": "ada@example.org", "address": {"streetAddress": "1 Mill Lane"}}


class Nodes:
    def __init__(self, world: Any, shop: WebNode, partner: WebNode, customer: WebNode) -> None:
        self.world, self.shop, self.partner, self.customer = world, shop, partner, customer


@pytest.fixture(scope="module")
def nodes(world_base: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    home = tmp_path_factory.mktemp("consent-journey")
    w = world_base
    person = Participant("customer", Account.create(), home / "customer-home")
    w.chain.fund(person.address, 10 * ETHER)
    registry.register_customer(w.contracts, person)
    started: list[WebNode] = []
    try:
        for label, who in (("shop", w.seller), ("partner", w.buyer), ("customer", person)):
            started.append(serve_node(label, who, w.contracts, home / label))
        yield Nodes(w, *started)
    finally:
        for web_node in started:
            web_node.stop()


def test_grant_access_reward_revoke_refusal_erase_in_the_browser(nodes: Nodes, new_page: Any) -> None:
    w, c = nodes.world, nodes.world.contracts
    customer = nodes.customer.account
    stream_id, _ = streams.open_stream(c, w.seller.account, "shop/customers")
    streams.publish_customer(c, nodes.shop.node.participant, stream_id, customer.address, contact=CONTACT)
    c.reward_token.mint(w.platform.account, w.buyer.address, 50 * ETHER)
    consent.fund_rewards(c, w.buyer.account, 50 * ETHER)

    page = new_page()
    sign_in_with_password(page, nodes.customer)
    page.goto(nodes.customer.url + "/my/consent")
    page.get_by_label("Your data").select_option("contact")
    page.get_by_label("Organisation").select_option(label="Buyer Org")
    page.get_by_label("For what").select_option(value="https://w3id.org/dpv#Marketing")
    page.get_by_label("For how many days").fill("7")
    page.get_by_label("Reward per use (DGR)").fill("5")
    with page.expect_navigation():
        page.get_by_role("button", name="Give consent").click()
    assert "Consent #1 given: Contact details for Marketing." in page.locator(".flashes").inner_text()
    assert "active" in page.locator("#consents").inner_text()
    check_page(page, "consent-given")

    # the partner's node asks over HTTP and fetches the item from the shop's node
    partner = NodeClient(nodes.partner.url, w.buyer.account)
    at_shop = NodeClient(nodes.shop.url, w.buyer.account)
    key = streams.item_key(customer.address, "contact")
    item_id = partner.json("GET", f"/streams/{stream_id}/items", params={"key": key})[0]["item_id"]
    asked = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
    assert asked["granted"] is True
    document = json.loads(consent.receive(c, w.buyer, at_shop.consent_delivery(asked["tx"]["tx_hash"])))
    assert document["email"] == "ada@example.org"

    page.goto(nodes.customer.url + "/my/data")
    timeline = page.locator("#timeline").inner_text()
    assert "Buyer Org" in timeline and "shared" in timeline and "5 DGR" in timeline
    assert page.locator("#earned").inner_text() == "5 DGR"
    assert page.locator("svg.chart").count() == 1
    check_page(page, "consent-dashboard-access")

    page.goto(nodes.customer.url + "/my/consent")
    with page.expect_navigation():
        page.get_by_role("button", name="Withdraw consent #1").click()
    assert "withdrawn" in page.locator(".flashes").inner_text()
    screenshot(page, "consent-withdrawn")
    again = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
    assert again["granted"] is False
    page.goto(nodes.customer.url + "/my/data")
    assert "refused: The customer has withdrawn this consent" in page.locator("#timeline").inner_text()
    screenshot(page, "consent-dashboard-refused")

    # the customer erases the category on the shop's node, signed in with a wallet
    at_shop_page = new_page()
    sign_in_with_wallet(at_shop_page, nodes.shop, customer, int(w.chain.chain_id))
    at_shop_page.goto(nodes.shop.url + "/my/data")
    at_shop_page.get_by_label("Data to erase").select_option("contact")
    with at_shop_page.expect_navigation():
        at_shop_page.get_by_role("button", name="Erase").click()
    assert "Contact details erased" in at_shop_page.locator(".flashes").inner_text()
    screenshot(at_shop_page, "consent-erased")
    with pytest.raises(RemoteError) as caught:
        at_shop.consent_delivery(asked["tx"]["tx_hash"])
    assert caught.value.status == 403 and "erased this data" in caught.value.detail
    assert c.streams.item(item_id).erased
    for client in (partner, at_shop):
        client.close()
