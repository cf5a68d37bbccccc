"""The other ways to trade through the pages, on Anvil: a refused publication in words, negotiation (offer,
counter-offer, acceptance), an auction bid, a dispute, search by sample, and the API docs pages; each page met
checked with axe at 390 and 1280 px and saved as a screenshot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ANVIL, Market, check_page, sign_in_with_wallet
from tests.world import write_table

pytestmark = [ANVIL, pytest.mark.slow]


def flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def publish(page: Any, web_url: str, path: Path, title: str) -> int:
    page.goto(web_url + "/publish")
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Publish").click()
    page.wait_for_selector(".flashes .flash, section.error", timeout=60_000)
    found = re.search(r"Published as dataset (\d+)", flash(page))
    assert found, page.locator("main").inner_text()
    return int(found.group(1))


def list_it(page: Any, kind: str, price: str) -> None:
    page.get_by_label(kind).check()
    page.get_by_label("Price in ETH").fill(price)
    page.get_by_role("button", name="List it").click()
    assert "Listed" in flash(page), page.locator("main").inner_text()


def test_negotiation_auction_dispute_refusal_and_sample_search(market: Market, new_page: Any, tmp_path: Path) -> None:
    seller = new_page()
    sign_in_with_wallet(seller, market.seller, market.seller.account, market.chain_id)
    buyer = new_page()
    sign_in_with_wallet(buyer, market.buyer, market.buyer.account, market.chain_id)
    for page in (seller, buyer):
        page.on("dialog", lambda dialog: dialog.accept())

    table = write_table(tmp_path / "survey.csv", rows=80, seed=11)
    first = publish(seller, market.seller.url, table, "Household survey")

    # the same data again: the platform refuses, and the page says why in words
    seller.goto(market.seller.url + "/publish")
    seller.get_by_label("File").set_input_files(str(table))
    seller.get_by_role("button", name="Publish").click()
    seller.wait_for_selector("section.error")
    refusal = seller.locator("section.error").inner_text()
    assert f"It matches dataset {first} already published." in refusal, refusal
    check_page(seller, "publish-refused")

    # negotiation: open to offers; the buyer offers 0.2, the seller counters 0.3, the buyer accepts
    seller.goto(f"{market.seller.url}/catalogue/{first}")
    list_it(seller, "Open to offers (ownership)", "0.4")
    buyer.goto(f"{market.buyer.url}/catalogue/{first}")
    buyer.get_by_label("Your offer in ETH").fill("0.2")
    buyer.get_by_role("button", name="Make an offer").click()
    assert "Offered 0.2 ETH" in flash(buyer)
    seller.goto(market.seller.url + "/my/listings")
    check_page(seller, "listings-offer")
    seller.get_by_label(re.compile("Counter-offer in ETH")).fill("0.3")
    seller.get_by_role("button", name="Counter", exact=True).click()
    assert "Countered with 0.3 ETH" in flash(seller)
    buyer.goto(market.buyer.url + "/my/orders")
    check_page(buyer, "orders-offer-countered")
    buyer.get_by_role("button", name="Accept 0.3 ETH").click()
    assert "Counter-offer accepted" in flash(buyer)
    order_id = int(re.search(r"order (\d+)", flash(buyer)).group(1))  # type: ignore[union-attr]

    # delivered, then disputed by the buyer
    seller.goto(f"{market.seller.url}/my/orders/{order_id}")
    seller.get_by_role("button", name="Deliver the data").click()
    assert "Delivered" in flash(seller)
    buyer.goto(f"{market.buyer.url}/my/orders/{order_id}")
    buyer.get_by_label("What is wrong").fill("not the survey that was described")
    buyer.get_by_role("button", name="Dispute").click()
    assert "Disputed: the platform will rule" in flash(buyer)
    assert "the platform rules on the dispute" in buyer.locator("dl.facts").inner_text()
    check_page(buyer, "order-disputed")

    # an auction: the buyer bids above the reserve
    second = publish(seller, market.seller.url, write_table(tmp_path / "prices.csv", rows=150, seed=99), "Prices")
    list_it(seller, "Auction (ownership)", "0.1")
    buyer.goto(f"{market.buyer.url}/catalogue/{second}")
    check_page(buyer, "dataset-auction")
    buyer.get_by_label(re.compile("Your bid in ETH")).fill("0.15")
    buyer.get_by_role("button", name="Bid").click()
    assert "Bid 0.15 ETH placed" in flash(buyer)
    assert "0.15 ETH" in buyer.locator("#sale-title + dl").inner_text()

    # search by sample: rows of the first table find it
    sample = tmp_path / "sample.csv"
    sample.write_text("\n".join(table.read_text().splitlines()[:60]) + "\n")
    buyer.goto(market.buyer.url + "/sample")
    buyer.get_by_label("Sample file").set_input_files(str(sample))
    buyer.get_by_role("button", name="Find similar datasets").click()
    assert buyer.get_by_role("link", name="Household survey").is_visible(), buyer.locator("main").inner_text()
    check_page(buyer, "sample-search")

    # the pages a visitor sees without signing in
    visitor = new_page()
    visitor.goto(market.seller.url + "/catalogue?sale=ownership&pricing=auction")
    assert visitor.get_by_role("link", name="Prices").is_visible()
    assert not visitor.get_by_role("link", name="Household survey").is_visible()
    check_page(visitor, "catalogue-filtered")
    visitor.goto(market.seller.url + "/docs")
    visitor.wait_for_selector(".swagger-ui .info .title")
    visitor.goto(market.seller.url + "/my/orders")
    assert "Sign in to see that page." in flash(visitor)
