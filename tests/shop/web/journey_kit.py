"""The shopping-cart paper's whole journey in Debian's Chromium, from checkout to erasure, with the shop's, the
partner's and the customer's nodes each served over HTTP on one chain (the embedded EVM or Anvil, see the two
modules using it):

1. the customer signs in to the shop with their wallet, adds to the cart, checks out and pays from their own
   account; the shop node feeds the order into the customer's purchase-history stream;
2. on their own node (keystore, password sign-in) the customer consents to share their purchase history with the
   partner's organisation for marketing, for a reward per use;
3. the partner's node finds the newest purchase-history item by key, asks for it (recorded and paid on chain) and
   fetches it from the shop's node, checking its hash; it holds the order just paid;
4. the customer's "My data" shows the access with its reward; "My rewards" withdraws the reward tokens;
5. the customer withdraws the consent; the partner's next request is refused and the refusal shows;
6. the customer's own node asks the shop's node to erase the purchase history (signed with the customer's key);
   the shop delivers nothing more and a new request is refused as erased.

Each page is checked with axe-core at 390 and 1280 px and screenshotted under build/screenshots/<prefix>-*.png.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from datagora.api.client import NodeClient, RemoteError
from datagora.services import consent, registry, shop, shop_history, streams
from datagora.services.participant import Participant
from tests.shop.web.wallet_kit import install_paying_wallet
from tests.web.conftest import WebNode, check_page, serve_node, sign_in_with_wallet
from tests.web.desk_kit import sign_in_with_password
from tests.world import ETHER, World

REWARD = "5"


@dataclass
class Nodes:
    world: World
    shop: WebNode
    partner: WebNode
    customer: WebNode


def serve_three(world: World, home: Path) -> Iterator[Nodes]:
    """The shop's node (the seller, selling the shipped catalogue), the partner's (the buyer's organisation,
    reward tokens deposited) and the customer's own node (a registered customer with ether), served over HTTP."""
    person = Participant("customer", Account.create(), home / "customer-home")
    world.chain.fund(person.address, 10 * ETHER)
    registry.register_customer(world.contracts, person)
    world.contracts.reward_token.mint(world.platform.account, world.buyer.address, 50 * ETHER)
    consent.fund_rewards(world.contracts, world.buyer.account, 50 * ETHER)
    started: list[WebNode] = []
    try:
        for label, who in (("shop", world.seller), ("partner", world.buyer), ("customer", person)):
            started.append(serve_node(label, who, world.contracts, home / label))
        started[0].node.shop = shop.open_shop_service(started[0].node, shop.shipped_catalogue())
        shop.open_shop(world.contracts, world.seller.account, bond=ETHER, delivery_window=86_400, confirm_window=86_400)
        yield Nodes(world, *started)
    finally:
        for web_node in started:
            web_node.stop()


def checkout_to_erasure(nodes: Nodes, new_page: Any, prefix: str) -> None:
    """The journey of the module docstring; screenshots named ``<prefix>-<step>``."""
    w, c = nodes.world, nodes.world.contracts
    customer = nodes.customer.account

    # 1. at the shop: wallet sign-in, cart, checkout, payment from the customer's own account
    shop_page = new_page()
    sign_in_with_wallet(shop_page, nodes.shop, customer, int(w.chain.chain_id))
    install_paying_wallet(shop_page, w, customer, signing=False)
    shop_page.goto(nodes.shop.url + "/shop")
    with shop_page.expect_navigation():
        shop_page.locator("#product-COF-ETH-250 button").click()
    assert "Added 1 × Ethiopia Yirgacheffe" in shop_page.locator(".flashes").inner_text()
    shop_page.goto(nodes.shop.url + "/shop/checkout")
    check_page(shop_page, f"{prefix}-checkout")
    with shop_page.expect_navigation():
        shop_page.locator("#pay-button").click()
    assert "Paid: order" in shop_page.locator(".flashes").inner_text()
    order = shop_page.locator("article.order")
    assert order.count() == 1 and "Ethiopia Yirgacheffe" in order.inner_text()
    check_page(shop_page, f"{prefix}-paid")
    (paid,) = nodes.shop.node.shop.orders(buyer=customer.address)  # type: ignore[union-attr]

    # the shop node fed the order into the customer's purchase-history stream
    stream_id = c.streams.stream_id(shop_history.stream_name(w.seller.address))
    assert stream_id > 0

    # 2. on the customer's own node: consent for the purchase history
    page = new_page()
    sign_in_with_password(page, nodes.customer)
    page.goto(nodes.customer.url + "/my/consent")
    page.get_by_label("Your data").select_option("purchase-history")
    page.get_by_label("Organisation").select_option(label="Buyer Org")
    page.get_by_label("For what").select_option(value="https://w3id.org/dpv#Marketing")
    page.get_by_label("For how many days").fill("7")
    page.get_by_label("Reward per use (DGR)").fill(REWARD)
    with page.expect_navigation():
        page.get_by_role("button", name="Give consent").click()
    flash = page.locator(".flashes").inner_text()
    assert "given: Purchase history for Marketing." in flash, flash
    check_page(page, f"{prefix}-consent-given")

    # 3. the partner's node finds the newest item by key, asks for it, fetches it from the shop and checks it
    partner = NodeClient(nodes.partner.url, w.buyer.account)
    at_shop = NodeClient(nodes.shop.url, w.buyer.account)
    try:
        key = streams.item_key(customer.address, streams.PURCHASE_HISTORY)
        found = partner.json("GET", f"/streams/{stream_id}/items", params={"key": key})
        item_id = found[-1]["item_id"]
        asked = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
        assert asked["granted"] is True and asked["reward"] == str(5 * ETHER)
        document = json.loads(consent.receive(c, w.buyer, at_shop.consent_delivery(asked["tx"]["tx_hash"])))
        assert [o["orderNumber"] for o in document["itemListElement"]] == [paid.order_hash]

        # 4. the access and its reward on "My data"; the reward withdrawn on "My rewards"
        page.goto(nodes.customer.url + "/my/data")
        timeline = page.locator("#timeline").inner_text()
        assert "Buyer Org" in timeline and "shared" in timeline and "5 DGR" in timeline
        assert page.locator("#earned").inner_text() == "5 DGR"
        check_page(page, f"{prefix}-access-rewarded")
        page.goto(nodes.customer.url + "/my/rewards")
        assert page.locator("#reward-pending").inner_text() == "5 DGR"
        check_page(page, f"{prefix}-rewards")
        with page.expect_navigation():
            page.get_by_role("button", name="Withdraw 5 DGR to my account").click()
        assert "Withdrawn: 5 DGR are now in your account." in page.locator(".flashes").inner_text()
        assert page.locator("#reward-balance").inner_text() == "5 DGR"
        assert c.reward_token.balance(customer.address) == 5 * ETHER
        check_page(page, f"{prefix}-rewards-withdrawn")

        # 5. consent withdrawn: the next request is refused and the refusal shows
        page.goto(nodes.customer.url + "/my/consent")
        consent_id = asked["consent_id"]
        with page.expect_navigation():
            page.get_by_role("button", name=f"Withdraw consent #{consent_id}").click()
        assert "withdrawn" in page.locator(".flashes").inner_text()
        again = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
        assert again["granted"] is False and "withdrawn" in again["outcome"]
        page.goto(nodes.customer.url + "/my/data")
        assert "refused: The customer has withdrawn this consent" in page.locator("#timeline").inner_text()
        check_page(page, f"{prefix}-refused")

        # 6. the customer's own node asks the shop's node to erase the purchase history
        page.get_by_label("Shop's web address").fill(nodes.shop.url)
        page.get_by_label("Data to erase at the shop").select_option("purchase-history")
        with page.expect_navigation():
            page.get_by_role("button", name="Ask the shop to erase").click()
        flash = page.locator(".flashes").inner_text()
        assert "Purchase history erased at the shop: its key is destroyed" in flash, flash
        check_page(page, f"{prefix}-erased")
        assert c.streams.item(item_id).erased
        with pytest.raises(RemoteError) as caught:
            at_shop.consent_delivery(asked["tx"]["tx_hash"])
        assert caught.value.status == 403 and "erased this data" in caught.value.detail
        renewed = consent.grant(
            c, customer, streams.PURCHASE_HISTORY, w.orgs["buyer"], "Marketing", c.chain.now() + 86_400, 0
        )
        assert renewed[0] > consent_id
        erased = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
        assert erased["granted"] is False and "erased" in erased["outcome"]
    finally:
        partner.close()
        at_shop.close()
