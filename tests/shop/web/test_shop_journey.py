"""The shop in a real browser (Playwright driving Debian's Chromium) against a shop node served over HTTP on
Anvil: a customer signs in with their wallet, fills a cart, checks out and pays from their own account; the
order appears; the shop's operator marks it delivered; the customer confirms. The same cart paid from a second
tab is refused before the wallet is asked (no ether leaves the account), and a customer without enough ether is
told so at checkout. Every page is checked with axe-core at 390 and 1280 px and screenshotted
(build/screenshots/shop-*)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from datagora.services import shop
from tests.shop.web.wallet_kit import install_paying_wallet
from tests.web.conftest import ANVIL, WebNode, check_page, screenshot, serve_node, sign_in_with_wallet
from tests.world import ETHER, World

pytestmark = [pytest.mark.slow, ANVIL]


@pytest.fixture(scope="module")
def shop_node(world_base: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    world = world_base
    home = tmp_path_factory.mktemp("web-shop")
    node = serve_node("seller", world.seller, world.contracts, home / "seller")
    node.node.shop = shop.open_shop_service(node.node, shop.shipped_catalogue())
    shop.open_shop(world.contracts, world.seller.account, bond=ETHER, delivery_window=86_400, confirm_window=86_400)
    try:
        yield node
    finally:
        node.stop()


def test_sign_in_cart_checkout_two_tabs_deliver_confirm(shop_node: WebNode, world_base: World, new_page: Any) -> None:
    world = world_base
    customer = Account.create()
    world.chain.fund(customer.address, ETHER)
    page = new_page()
    sign_in_with_wallet(page, shop_node, customer, world.chain.chain_id)
    install_paying_wallet(page, world, customer, signing=False)

    page.goto(shop_node.url + "/shop")
    assert "Your cart: 0 items" in page.locator("#cart-link").inner_text(), page.locator("main").inner_text()[:500]
    check_page(page, "shop-catalogue")
    with page.expect_navigation():
        page.locator("#product-COF-ETH-250 button").click()
    assert "Added 1 × Ethiopia Yirgacheffe" in page.locator(".flashes").inner_text()
    page.locator("#qty-GRD-BUR-01").fill("2")
    with page.expect_navigation():
        page.locator("#product-GRD-BUR-01 button").click()
    page.goto(shop_node.url + "/shop/cart")
    assert page.locator("#cart-total").inner_text() == "0.0682 ETH"
    check_page(page, "shop-cart")
    with page.expect_navigation():
        page.locator("#checkout-link").click()
    assert page.locator("#value").inner_text().startswith("0.1364 ETH")
    check_page(page, "shop-checkout")

    second = page.context.new_page()  # the same cart in another tab (same browser session)
    second_wallet = install_paying_wallet(second, world, customer)
    second.goto(shop_node.url + "/shop/checkout")

    with page.expect_navigation():
        page.locator("#pay-button").click()
    assert "Paid: order" in page.locator(".flashes").inner_text()
    order = page.locator("article.order")
    assert order.count() == 1 and "2 × Conical burr hand grinder" in order.inner_text()
    assert "waiting for the shop to deliver" in order.inner_text()
    check_page(page, "shop-orders-paid")

    held = world.chain.balance(customer.address)
    second.locator("#pay-button").click()
    status = second.locator("#pay-status")
    status.filter(has_text="already been paid").wait_for()
    assert "no ether left your account" in status.inner_text()
    assert second_wallet.sent == [] and world.chain.balance(customer.address) == held
    screenshot(second, "shop-second-tab-refused")

    seller_page = new_page()
    sign_in_with_wallet(seller_page, shop_node, world.seller.account, world.chain.chain_id)
    seller_page.goto(shop_node.url + "/shop/orders")
    seller_page.get_by_label("Shipping note (carrier and tracking number)").fill("Royal Mail RM123456789GB")
    with seller_page.expect_navigation():
        seller_page.get_by_role("button", name="Mark delivered").click()
    assert "marked delivered" in seller_page.locator(".flashes").inner_text()
    check_page(seller_page, "shop-seller-orders")

    page.goto(shop_node.url + "/shop/orders")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm it arrived").click()
    assert "Delivery confirmed" in page.locator(".flashes").inner_text()
    assert "completed (confirmed)" in page.locator("article.order .state").inner_text()
    check_page(page, "shop-orders-confirmed")
    assert world.contracts.shop.pending(customer.address) == 68_200_000_000_000_000  # the deposit, to withdraw


def test_insufficient_balance_said_at_checkout(shop_node: WebNode, world_base: World, new_page: Any) -> None:
    world = world_base
    poor = Account.create()
    world.chain.fund(poor.address, ETHER // 1000)
    page = new_page()
    sign_in_with_wallet(page, shop_node, poor, world.chain.chain_id)
    wallet = install_paying_wallet(page, world, poor, signing=False)
    page.goto(shop_node.url + "/shop")
    with page.expect_navigation():
        page.locator("#product-GRD-ELE-02 button").click()
    page.goto(shop_node.url + "/shop/checkout")
    problem = page.locator("#checkout-problem").inner_text()
    assert "your account holds 0.001 ETH, but this order needs 0.176 ETH" in problem
    assert "Nothing was sent" in problem and page.locator("#pay-button").count() == 0
    assert wallet.sent == [] and world.chain.balance(poor.address) == ETHER // 1000
    check_page(page, "shop-insufficient-balance")
