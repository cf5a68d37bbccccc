"""The /loyalty page in Chromium on Anvil (Hu, Xin, Deng, Qian, case study): a member signed in with a wallet sees
points and tier; the brand's operator (the seller's node) starts a tier computation from the page with its record
of the member's points, the e-commerce platform's operator (the buyer's node) accepts from its own page with its
record, the MPC platform's node (the platform's) accepts by its policy, and the brand's page follows the progress
until the tier is posted; the member then sees the new tier. Screenshots under build/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from datagora.mpc.points import plain_result
from datagora.services import points
from tests.web.conftest import ANVIL, Market, check_page, screenshot, sign_in_with_wallet
from tests.web.desk_kit import sign_in_with_password

pytestmark = [ANVIL, pytest.mark.slow]  # a browser, three served nodes and their MPC parties: about a minute

A, B = 2_600, 3_200


def test_member_and_operators_on_the_loyalty_page(market: Market, new_page: Any) -> None:
    w = market.world
    parties = [market.seller.account.address, market.buyer.account.address, market.platform.account.address]
    brand, _ = points.register_brand(w.contracts, w.platform.account, "Cufflinks & Co", parties[0], parties)
    w.contracts.points.set_issuer(market.seller.account, brand, parties[0])
    mallory = Account.create()
    w.chain.fund(mallory.address, 10**18)
    points.issue(w.contracts, market.seller.account, brand, mallory.address, A, b"\x03" * 32)

    member = new_page()
    sign_in_with_wallet(member, market.seller, mallory, market.chain_id)
    member.goto(f"{market.seller.url}/loyalty?brand={brand}")
    assert member.locator("#points").inner_text() == "2,600 points"
    assert member.locator("#tier").inner_text() == "member (tier 0 of 3)"
    assert member.locator("#propose").count() == 0  # a member cannot start a computation
    check_page(member, "loyalty-member-before")

    brand_op = new_page()
    sign_in_with_password(brand_op, market.seller)
    brand_op.goto(f"{market.seller.url}/loyalty?brand={brand}&member={mallory.address}")
    brand_op.get_by_label("This node's record of the member's points").fill(str(A))
    brand_op.get_by_label("E-commerce platform's node").fill(market.buyer.url)
    brand_op.get_by_label("MPC platform's node").fill(market.platform.url)
    with brand_op.expect_navigation():
        brand_op.get_by_role("button", name="Start the computation").click()
    assert "/loyalty/computations/" in brand_op.url
    assert "accepted" in brand_op.locator("#status").inner_text()
    screenshot(brand_op, "loyalty-computation-proposed")

    platform_op = new_page()
    sign_in_with_password(platform_op, market.buyer)
    platform_op.goto(f"{market.buyer.url}/loyalty")
    row = platform_op.locator("#computations tbody tr").first
    assert "waiting for you to accept" in row.inner_text()
    with platform_op.expect_navigation():
        row.get_by_role("link").click()
    platform_op.get_by_label("This node's record of the member's points").fill(str(B))
    with platform_op.expect_navigation():
        platform_op.get_by_role("button", name="Accept").click()
    assert "/loyalty/computations/" in platform_op.url
    assert "invited" not in platform_op.locator("#status").inner_text()  # accepted (the page then follows it)

    # the brand's page reloads itself: progress, then the tier
    brand_op.wait_for_function(
        "() => /Status: (posted|failed)/.test(document.getElementById('status')?.innerText || '')", timeout=90_000
    )
    expected = plain_result(A, B)
    assert "posted" in brand_op.locator("#status").inner_text(), brand_op.locator("main").inner_text()
    assert brand_op.locator("#tier").inner_text() == f"gold (tier {expected.tier} of 3)"
    assert brand_op.locator("#score").inner_text() == f"{expected.score:,}"
    steps = brand_op.locator("#steps li").all_inner_texts()
    assert any("signed" in s for s in steps) and any("posted on chain" in s for s in steps)
    check_page(brand_op, "loyalty-computation-posted")

    member.goto(f"{market.seller.url}/loyalty?brand={brand}")
    assert member.locator("#tier").inner_text() == "gold (tier 2 of 3)"
    moves = member.locator("#movements tbody tr").all_inner_texts()
    assert len(moves) == 1 and "earned" in moves[0] and "+2,600" in moves[0], moves
    check_page(member, "loyalty-member-after")
