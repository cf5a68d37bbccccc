"""A whole trade through the browser between the seller's and the buyer's nodes on Anvil, each person signed in
with an injected EIP-1193 wallet: publish (upload with the progress bar), list, search, buy, deliver, download and
decrypt on the buyer's node, confirm, rate, withdraw; then a use-right query whose answer is checked against the
hash on the chain. Every page met is checked with axe at 390 and 1280 px and saved as a screenshot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from datagora.services.sample_data import write_breast_cancer_csv
from tests.web.conftest import ANVIL, Market, check_page, sign_in_with_wallet
from tests.world import write_table

pytestmark = [ANVIL, pytest.mark.slow]


def flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def published(page: Any) -> int:
    """Wait for the publish upload's answer page; the new dataset's id."""
    try:
        page.wait_for_selector(".flashes .flash, section.error", timeout=30_000)
    except Exception:
        raise AssertionError(page.url + "\n" + page.content()[-3000:]) from None
    found = re.search(r"Published as dataset (\d+)", flash(page))
    assert found, page.locator("main").inner_text()
    return int(found.group(1))


def test_a_full_trade_and_a_use_right_query_in_the_browser(market: Market, new_page: Any, tmp_path: Path) -> None:
    seller = new_page()
    sign_in_with_wallet(seller, market.seller, market.seller.account, market.chain_id)
    buyer = new_page()
    sign_in_with_wallet(buyer, market.buyer, market.buyer.account, market.chain_id)
    for page in (seller, buyer):
        page.on("dialog", lambda dialog: dialog.accept())

    # the seller publishes a real table: uploaded with a progress bar, attested by the platform
    seller.goto(market.seller.url + "/publish")
    check_page(seller, "owner-publish")
    seller.get_by_label("File").set_input_files(str(write_breast_cancer_csv(tmp_path / "tumours.csv")))
    seller.get_by_label("Title").fill("Breast tumour measurements")
    seller.get_by_label("Theme").fill("health")
    seller.get_by_role("button", name="Publish").click()
    token_id = published(seller)
    assert "The platform checked it is new" in flash(seller)
    check_page(seller, "dataset-owner")

    # ... and lists it at a fixed price of 0.5 ETH
    seller.get_by_label("Fixed price (ownership)").check()
    seller.get_by_label("Price in ETH").fill("0.5")
    seller.get_by_role("button", name="List it").click()
    assert "Listed at a fixed price of 0.5 ETH" in flash(seller)

    # the buyer finds it in the catalogue of its own node and buys it
    buyer.goto(market.buyer.url + "/")
    check_page(buyer, "landing-signed-in")
    buyer.goto(market.buyer.url + "/catalogue?q=tumour&sale=ownership")
    check_page(buyer, "catalogue")
    buyer.get_by_role("link", name="Breast tumour measurements").click()
    assert "0.5 ETH" in buyer.locator("#sale-title + dl").inner_text()
    check_page(buyer, "dataset-buyer")
    buyer.get_by_role("button", name="Buy").click()
    assert "Paid 0.5 ETH into escrow" in flash(buyer)
    order_id = int(re.search(r"order (\d+)", flash(buyer)).group(1))  # type: ignore[union-attr]
    check_page(buyer, "order-paid")

    # the seller sees the paid order with its next step and delivers
    seller.goto(market.seller.url + "/my/orders")
    assert "deliver the data" in seller.locator("table").inner_text()
    check_page(seller, "orders-seller")
    seller.get_by_role("link", name=f"#{order_id}").click()
    seller.get_by_role("button", name="Deliver the data").click()
    assert "Delivered" in flash(seller)

    # the buyer downloads from the seller's node, decrypts on its own node, confirms and rates
    buyer.goto(f"{market.buyer.url}/my/orders/{order_id}")
    check_page(buyer, "order-delivered")
    buyer.get_by_label("The seller's node address").fill(market.seller.url)
    buyer.get_by_role("button", name="Download and decrypt").click()
    assert "both hashes match the chain" in flash(buyer)
    received = market.buyer.node.participant.paths.received / f"dataset-{token_id}"
    assert received.read_bytes() == (tmp_path / "tumours.csv").read_bytes()
    buyer.get_by_role("button", name="Confirm: the data is as described").click()
    assert "Confirmed" in flash(buyer)
    buyer.get_by_label("Rate the seller").select_option("5")
    buyer.get_by_role("button", name="Rate").click()
    assert "5 out of 5" in flash(buyer)
    check_page(buyer, "order-completed")
    assert market.world.contracts.catalog.owner_of(token_id).lower() == market.buyer.account.address.lower()

    # both withdraw what the market owes them
    seller.goto(market.seller.url + "/my/balance")
    check_page(seller, "balance")
    seller.get_by_role("button", name=re.compile("^Withdraw")).click()
    assert "Withdrew" in flash(seller)
    buyer.goto(market.buyer.url + "/my/balance")
    buyer.get_by_role("button", name=re.compile("^Withdraw")).click()
    assert "Withdrew 0.5 ETH" in flash(buyer)  # the buyer's collateral comes back

    # a use-right: queries on a second table under an ODRL policy with groups of at least 3 rows
    seller.goto(market.seller.url + "/publish")
    seller.get_by_label("File").set_input_files(str(write_table(tmp_path / "incomes.csv", rows=120, seed=7)))
    seller.get_by_label("Title").fill("Regional incomes")
    seller.get_by_role("button", name="Publish").click()
    second = published(seller)
    seller.get_by_label("Queries only, the data stays yours (use-right)").check()
    seller.get_by_label("Price in ETH").fill("0.01")
    seller.locator("summary", has_text="Use-right terms").click()
    seller.get_by_label("Smallest group a result may describe (rows)").fill("3")
    check_page(seller, "list-form-use-right")
    seller.get_by_label("Exact answers, without privacy").check()
    seller.get_by_role("button", name="List it").click()
    assert "What a buyer can learn" in seller.content()  # the opt-out waits for a confirmation: nothing listed
    check_page(seller, "list-exact-answers-warning")
    seller.get_by_role("link", name="Back: keep differential privacy").click()
    seller.get_by_label("Queries only, the data stays yours (use-right)").check()
    seller.get_by_label("Price in ETH").fill("0.01")
    seller.locator("summary", has_text="Use-right terms").click()
    seller.get_by_label("Smallest group a result may describe (rows)").fill("3")
    seller.get_by_role("button", name="List it").click()
    assert "queries at 0.01 ETH each" in flash(seller)
    seller.goto(market.seller.url + "/my/listings")
    check_page(seller, "listings")

    buyer.goto(f"{market.buyer.url}/catalogue/{second}")
    buyer.get_by_label("Queries to prepay").fill("2")
    buyer.get_by_role("button", name="Prepay queries").click()
    assert "Prepaid 2 queries" in flash(buyer)
    buyer.get_by_label("The seller's node address").fill(market.seller.url)
    buyer.get_by_label("The query").fill(
        '{"select": ["region", {"aggregate": "count", "as": "people"}], "group_by": ["region"], "order_by": ["region"]}'
    )
    buyer.get_by_role("button", name="Run the query").click()
    assert "Checked: the result matches the hash the seller recorded on the chain" in buyer.content()
    table = buyer.locator("#answer-title ~ .table-wrap table")
    assert table.locator("thead").inner_text().split() == ["region", "people"]
    regions = table.locator("tbody td:nth-child(1)").all_inner_texts()
    assert sorted(regions) == ["E", "N", "S", "W"]  # every region holds far more than 3 of the 120 people
    counts = [float(cell) for cell in table.locator("tbody td:nth-child(2)").all_inner_texts()]
    assert len(counts) == 4  # noisy counts under the default differential-privacy policy
    assert buyer.locator("#noise tbody tr").count() == 1  # the count column's mechanism, epsilon and noise scale
    assert "epsilon 1 of 10 (1 answer)" in buyer.locator("#budget").inner_text()
    check_page(buyer, "query-answer")
    use_order = buyer.locator("h1").inner_text().removeprefix("Order #")
    seller.goto(f"{market.seller.url}/my/orders/{use_order}")
    assert "The buyer organisation" in seller.locator("#budget-title ~ p").inner_text()
    assert "epsilon 1 of 10 (1 answer)" in seller.locator("#budget").inner_text()
    check_page(seller, "order-seller-use-right")
