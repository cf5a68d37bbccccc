"""The web layer in a real browser: the landing page, sign-in with an injected EIP-1193 wallet and with the
node's password, errors as sentences, offline API docs, and the CSRF and cookie rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from datagora.web.sessions import cookie_name
from tests.web.conftest import (
    ANVIL,
    PASSWORD,
    Market,
    check_page,
    install_wallet,
    screenshot,
    sign_in_with_wallet,
)

pytestmark = ANVIL


def test_landing_page_says_what_the_node_is(market: Market, new_page: Any) -> None:
    page = new_page()
    answer = page.goto(market.seller.url + "/")
    assert answer is not None and answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "Seller Org" in page.locator("h1").inner_text()
    check_page(page, "landing")


def test_wallet_sign_in_signs_the_nodes_eip4361_message(market: Market, new_page: Any) -> None:
    page = new_page()
    log = sign_in_with_wallet(page, market.seller, market.seller.account, market.chain_id)
    ((method, message),) = log.signed
    assert method == "personal_sign"
    assert f"URI: {market.seller.url}" in message and market.seller.account.address in message
    assert "node operator" in page.locator("header").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == cookie_name(market.seller.account.address))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("banner").get_by_role("link", name="Sign in").is_visible()


def test_a_wallet_signature_for_another_node_is_refused(market: Market, new_page: Any) -> None:
    page = new_page()
    install_wallet(page, market.buyer.account, market.chain_id)
    page.goto(market.seller.url + "/signin")
    check_page(page, "signin")
    # the message comes from the buyer's node, the form posts it to the seller's node
    message = httpx.get(market.buyer.url + "/signin/message", params={"address": market.buyer.account.address}).json()
    page.evaluate(
        """(message) => { const f = document.getElementById('wallet-signin');
           f.elements.message.value = message; f.elements.signature.value = '0x' + '11'.repeat(65); f.submit(); }""",
        message["message"],
    )
    page.wait_for_load_state()
    refusal = page.locator(".message").inner_text()
    assert refusal.startswith("Nonce unknown"), refusal  # the buyer's node issued it: unknown to the seller's
    check_page(page, "error-signin-refused")


def test_operator_password_sign_in_and_a_wrong_password(market: Market, new_page: Any) -> None:
    page = new_page()
    page.goto(market.buyer.url + "/signin")
    # outside a demo network there is no one-click sign-in, and posting to it is refused
    assert page.get_by_role("button", name="Sign in as this node's operator").count() == 0
    page.evaluate(
        """() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/signin/demo';
           const t = document.querySelector('input[name=csrf_token]').cloneNode(); f.appendChild(t);
           document.body.appendChild(f); f.submit(); }"""
    )
    page.wait_for_url("**/signin/demo")
    assert "only on a demo network" in page.locator(".message").inner_text()
    page.goto(market.buyer.url + "/signin")
    page.get_by_label("Keystore password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "wrong password" in page.locator(".message").inner_text().lower()
    page.goto(market.buyer.url + "/signin")
    page.get_by_label("Keystore password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert "Signed in as this node's operator" in page.locator(".flashes").inner_text()


def test_unknown_page_and_wrong_method_are_pages_and_the_api_keeps_problem_documents(
    market: Market, new_page: Any
) -> None:
    page = new_page()
    answer = page.goto(market.seller.url + "/no/such/page")
    assert answer is not None and answer.status == 404
    assert "There is no page at /no/such/page" in page.locator(".message").inner_text()
    check_page(page, "not-found")
    api = httpx.get(market.seller.url + "/no/such/page")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    wrong = httpx.put(market.seller.url + "/signin", headers={"Accept": "text/html"})
    assert wrong.status_code == 405 and "cannot be used with PUT" in wrong.text


@pytest.mark.slow  # waits out every blocked outside request (about 15 s); CI runs it
def test_api_docs_load_with_no_network_but_the_node(market: Market, new_page: Any) -> None:
    page = new_page(bypass_csp=False)
    outside: list[str] = []

    def only_the_node(route: Any) -> None:
        if route.request.url.startswith(market.seller.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_node)
    page.goto(market.seller.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Datagora node" in page.locator(".swagger-ui .info .title").inner_text()
    screenshot(page, "api-docs")  # third-party pages: saved, not held to the pages' accessibility bar
    page.goto(market.seller.url + "/redoc")
    page.wait_for_selector("text=Sign in with Ethereum")
    screenshot(page, "api-redoc")
    assert outside == []


def test_a_cross_site_form_post_is_refused(market: Market, new_page: Any) -> None:
    page = new_page()
    sign_in_with_wallet(page, market.seller, market.seller.account, market.chain_id)
    evil = "http://evil.example/"
    form = (
        f'<html><body><form id=f method=post action="{market.seller.url}/signout">'
        "<input name=csrf_token value=guessed></form>"
        "<script>document.getElementById('f').submit()</script></body></html>"
    )
    page.route(evil, lambda route: route.fulfill(status=200, content_type="text/html", body=form))
    page.goto(evil)
    page.wait_for_url(market.seller.url + "/signout")
    assert "another site" in page.locator(".message").inner_text()
    page.goto(market.seller.url + "/")
    assert "node operator" in page.locator("header").inner_text(), "the cross-site post signed the user out"


def test_a_cookie_from_another_origin_is_never_accepted(market: Market, new_page: Any) -> None:
    page = new_page()
    sign_in_with_wallet(page, market.seller, market.seller.account, market.chain_id)
    seller_cookie = next(c for c in page.context.cookies() if c["name"] == cookie_name(market.seller.account.address))
    # the seller's session token presented to the buyer's node (same host, other port) under the buyer's name
    page.context.add_cookies(
        [{"name": cookie_name(market.buyer.account.address), "value": seller_cookie["value"], "url": market.buyer.url}]
    )
    page.goto(market.buyer.url + "/")
    assert page.get_by_role("banner").get_by_role("link", name="Sign in").is_visible()
    # and a POST carrying it with a guessed token is refused
    answer = httpx.post(
        market.buyer.url + "/signout",
        data={"csrf_token": "x"},
        cookies={cookie_name(market.buyer.account.address): seller_cookie["value"]},
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("path", ["/signin/message?address=nonsense"])
def test_bad_input_is_a_sentence_not_a_500(market: Market, path: str) -> None:
    answer = httpx.get(market.seller.url + path, headers={"Accept": "text/html"})
    assert answer.status_code == 422 and "is not an Ethereum address" in answer.text


def test_a_dataset_upload_through_the_pages_may_exceed_the_json_limit(market: Market) -> None:
    body = b"x" * (3 << 20)  # above the 1 MiB limit of JSON bodies, far below the upload limit
    answer = httpx.post(
        market.seller.url + "/publish",
        files={"file": ("big.csv", body, "text/csv")},
        headers={"Accept": "text/html"},
        timeout=60,
    )
    assert answer.status_code == 403, answer.text[:300]  # refused for want of a session, not for its size
    small_json = httpx.post(market.seller.url + "/signout", content=b"{" * (2 << 20), headers={"Accept": "text/html"})
    assert small_json.status_code == 413
