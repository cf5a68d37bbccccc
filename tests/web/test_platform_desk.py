"""The platform's desk in Chromium on Anvil: the platform's operator signs in with the node's password on the
platform's node, finds the dispute in the inbox with its evidence, and rules it from the page; the attestation log
and the deadlines page render. Every page passes axe (no critical or serious violation) at 390 and 1280 px and is
saved as a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datagora.domain.models import OrderState
from tests.web.conftest import ANVIL, Market, check_page
from tests.web.desk_kit import dispute_over_http, sign_in_with_password

pytestmark = ANVIL


def test_a_dispute_ruled_from_the_platform_page(market: Market, new_page: Any, tmp_path: Path) -> None:
    world = market.world
    order_id = dispute_over_http(world, market.seller.url, market.buyer.url, market.platform.url, tmp_path)

    page = new_page()
    sign_in_with_password(page, market.platform)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Platform desk").click()
    inbox = page.locator("#disputes-h").locator("..")
    assert "Disputes to rule (1)" in inbox.inner_text() and "differ" in inbox.inner_text()
    check_page(page, "platform-desk")

    page.get_by_role("link", name=f"Open dispute of order {order_id}").click()
    main = page.locator("main").inner_text()
    assert "Supported ruling: for the seller" in main and "is the dataset that was published" in main
    check_page(page, "platform-dispute")

    page.get_by_role("button", name="Rule for the buyer").click()  # the evidence says otherwise
    assert "Not ruled: the evidence does not support a ruling for the buyer" in page.locator(".flashes").inner_text()
    assert world.contracts.market.order(order_id).state == OrderState.DISPUTED
    check_page(page, "platform-dispute-refused")

    page.get_by_role("button", name="Rule for the seller").click()
    assert f"Order {order_id} ruled for the seller" in page.locator(".flashes").inner_text()
    assert world.contracts.market.order(order_id).state == OrderState.COMPLETED
    assert "No open disputes." in page.locator("main").inner_text()

    page.get_by_role("link", name="Full attestation log").click()
    assert "given" in page.locator("table").inner_text()
    check_page(page, "platform-attestations")
    page.goto(market.platform.url + "/desk/platform/deadlines")
    assert "No order is past its deadline." in page.locator("main").inner_text()
    check_page(page, "platform-deadlines")
