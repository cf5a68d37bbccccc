"""The supervisor's desk in Chromium on Anvil: the supervisor signs in on its own node (with its wallet, or the
node's password), suspends an organisation from the organisations page, and that organisation's next purchase is
refused; the audit trail with filters and each row's check against the chain, the CSV download, an error in words
for a bad filter, and the activity charts. Every page passes axe (no critical or serious violation) at 390 and
1280 px and is saved as a screenshot."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datagora.api.client import NodeClient
from datagora.domain.models import OrgStatus
from tests.web.conftest import ANVIL, Market, WebNode, check_page, serve_node, sign_in_with_wallet
from tests.web.desk_kit import PRICE, sign_in_with_password
from tests.world import write_table

pytestmark = ANVIL


@pytest.fixture(scope="module")
def supervisor_node(market: Market, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    world = market.world
    node = serve_node("supervisor", world.supervisor, world.contracts, tmp_path_factory.mktemp("web-supervisor"))
    try:
        yield node
    finally:
        node.stop()


def _listing(market: Market, tmp_path: Path, name: str) -> tuple[int, int]:
    with NodeClient(market.seller.url, market.world.seller.account) as seller:
        token_id = int(seller.publish(write_table(tmp_path / f"{name}.csv", rows=90), name=name)["token_id"])
        return token_id, int(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])


def test_supervisor_suspends_an_organisation_and_its_purchase_is_refused(
    market: Market, supervisor_node: WebNode, new_page: Any, tmp_path: Path
) -> None:
    world = market.world
    token_id, listing_id = _listing(market, tmp_path, "suspension")
    page = new_page()
    sign_in_with_wallet(page, supervisor_node, world.supervisor.account, market.chain_id)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisations").click()
    table = page.locator("table").inner_text()
    assert "Outsider Org" in table and "to audit" in table
    check_page(page, "supervisor-organisations")

    page.get_by_role("button", name="Suspend Buyer Org").click()
    assert "Buyer Org is now suspended." in page.locator(".flashes").inner_text()
    assert world.contracts.registry.organisation(world.orgs["buyer"]).status == OrgStatus.SUSPENDED
    check_page(page, "supervisor-organisation-suspended")
    try:
        # the buyer's organisation is suspended: its next purchase, from its own node's dataset page, is refused
        buyer = new_page()
        buyer.on("dialog", lambda dialog: dialog.accept())  # "Pay … into escrow?"
        sign_in_with_wallet(buyer, market.buyer, world.buyer.account, market.chain_id)
        buyer.goto(f"{market.buyer.url}/catalogue/{token_id}")
        buyer.get_by_role("button", name="Buy").click()
        buyer.wait_for_selector("section.error")
        refusal = buyer.locator("section.error").inner_text()
        assert "buyer not audited" in refusal, refusal
        assert "Your organisation is not audited or is suspended, so it cannot buy. Ask the supervisor." in refusal
        check_page(buyer, "buyer-purchase-refused-suspended")
        assert world.contracts.market.listing(listing_id).state.name == "ACTIVE"
    finally:
        page.get_by_role("button", name="Audit Buyer Org").click()
        assert "Buyer Org is now audited." in page.locator(".flashes").inner_text()


def test_trail_filtered_checked_and_exported(
    market: Market, supervisor_node: WebNode, new_page: Any, tmp_path: Path
) -> None:
    token_id, listing_id = _listing(market, tmp_path, "trail")
    with NodeClient(market.buyer.url, market.world.buyer.account) as buyer:
        buyer.buy(listing_id)
    page = new_page()
    sign_in_with_password(page, supervisor_node)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    page.get_by_label("Dataset id").fill(str(token_id))
    page.get_by_role("button", name="Filter").click()
    main = page.locator("main").inner_text()
    assert "3 records." in main and "Every row on this page matches the chain." in main
    assert page.locator("td", has_text="✓ verified").count() == 3
    check_page(page, "supervisor-trail")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "trail.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [r["action"] for r in rows] == ["DatasetPublished", "Listed", "OrderPaid"]

    page.goto(supervisor_node.url + "/desk/supervisor/trail?start=yesterday")
    assert "the start must be a date such as 2026-12-31" in page.locator("[role=alert]").inner_text()
    check_page(page, "supervisor-trail-bad-filter")


def test_activity_charts(market: Market, supervisor_node: WebNode, new_page: Any, tmp_path: Path) -> None:
    _token, listing_id = _listing(market, tmp_path, "activity")
    with NodeClient(market.buyer.url, market.world.buyer.account) as buyer:
        buyer.buy(listing_id)
    page = new_page()
    sign_in_with_password(page, supervisor_node)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    charts = page.get_by_role("img")
    assert charts.count() >= 2
    assert page.get_by_role("img", name="Trades per day").count() == 1
    assert "Trades" in page.locator("details table").inner_text()
    check_page(page, "supervisor-activity")
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("img", name="Volume per week (ETH)").count() == 1
    check_page(page, "supervisor-activity-week")
