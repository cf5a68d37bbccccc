"""``/points`` through the nodes' HTTP APIs: a member's standing, points issued by a brand's issuer and spent by
their holder; a session that is not the node's operator (403), bad input (422), an unknown brand (404) and what
the contract refuses (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.services import points
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def brand(net: Net) -> int:
    """Brand #n administered by the seller (also its issuer), parties seller, platform, supervisor."""
    w = net.world
    parties = [w.seller.address, w.platform.address, w.supervisor.address]
    brand_id, _ = points.register_brand(w.contracts, w.platform.account, "Cufflinks & Co", w.seller.address, parties)
    w.contracts.points.set_issuer(w.seller.account, brand_id, w.seller.address)
    return brand_id


def test_issue_read_and_spend_points(net: Net) -> None:
    w = net.world
    b = brand(net)
    seller, buyer = net.client("seller"), net.client("buyer")
    issued = seller.json(
        "POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 2600, "purchase": "cufflinks"}
    )
    assert (issued["brand"], issued["amount"]) == (b, 2600) and issued["tx"]["gas_used"] > 0
    spent = buyer.json("POST", f"/points/{b}/spend", json={"amount": 600, "order": "cart 17"})
    assert spent["amount"] == 600
    standing = buyer.json("GET", f"/points/{b}/members/{w.buyer.address}")
    assert standing == {
        "brand": b,
        "member": w.buyer.address,
        "points": 2000,
        "tier": 0,
        "tier_name": "member",
        "score": 0,
        "updates": 0,
        "token": w.contracts.points.token(b),
        "symbol": "CUFFL",
    }


def test_points_routes_refuse_what_they_must(net: Net) -> None:
    w = net.world
    b = brand(net)
    seller, buyer = net.client("seller"), net.client("buyer")
    issue = {"member": w.buyer.address, "amount": 10, "purchase": "x"}
    assert refused(lambda: net.client("seller", as_="buyer").json("POST", f"/points/{b}/issue", json=issue))[0] == 403
    assert refused(lambda: buyer.json("POST", f"/points/{b}/issue", json=issue)) == (409, "points: not an issuer")
    assert refused(lambda: buyer.json("POST", f"/points/{b}/spend", json={"amount": 1, "order": "x"})) == (
        409,
        "points: insufficient points",
    )
    assert refused(lambda: seller.json("POST", f"/points/{b}/issue", json={**issue, "amount": 0}))[0] == 422
    assert refused(lambda: seller.json("POST", f"/points/{b}/issue", json={**issue, "member": "0x12"}))[0] == 422
    assert refused(lambda: buyer.json("GET", f"/points/{b}/members/0x12"))[0] == 422
    assert refused(lambda: buyer.json("GET", f"/points/999/members/{w.buyer.address}")) == (404, "no brand #999")


def test_the_loyalty_page_shows_a_members_points_and_tier(net: Net) -> None:
    w = net.world
    b = brand(net)
    net.client("seller").json(
        "POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 2600, "purchase": "x"}
    )
    page = net.http["buyer"].get("/loyalty", params={"brand": b, "member": w.buyer.address})
    assert page.status_code == 200
    assert "2,600 points" in page.text and "member (tier 0 of 3)" in page.text
    assert "no tier worked out yet" in page.text
    assert f"the token CUFFL at <code>{w.contracts.points.token(b)}</code>" in page.text
    assert "earned" in page.text and "+2,600" in page.text  # the movements table, from the node's index

    gift = points.transfer(w.contracts, w.buyer.account, b, w.seller.address, 600)
    page = net.http["buyer"].get("/loyalty", params={"brand": b, "member": w.buyer.address})
    rows = page.text[page.text.index('<table id="movements">') :].split("<tr>")[2:]  # past the header row
    assert len(rows) == 2 and "given to" in rows[0] and "−1" not in rows[0], rows
    assert "-600" in rows[0] and gift.tx_hash[:6] in rows[0] and "+2,600" in rows[1] and "earned" in rows[1]
    theirs = net.http["buyer"].get("/loyalty", params={"brand": b, "member": w.seller.address})
    assert "received from" in theirs.text and "+600" in theirs.text
    nobody = net.http["buyer"].get("/loyalty", params={"brand": b, "member": w.platform.address})
    assert 'id="no-movements"' in nobody.text
    bad = net.http["buyer"].get("/loyalty", params={"brand": b, "member": "0x12"})
    assert bad.status_code == 422 and "is not an account address" in bad.text
    unknown = net.http["buyer"].get("/loyalty", params={"brand": 999, "member": w.buyer.address})
    assert unknown.status_code == 404 and "No brand #999." in unknown.text


def test_points_spent_on_a_shops_cart_and_the_checkout_hook(net: Net) -> None:
    from datagora.api import create_app
    from datagora.api.settings import Settings

    w = net.world
    b = brand(net)
    net.client("seller").json(
        "POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 900, "purchase": "x"}
    )
    cart = "ab" * 16
    body = {"amount": 300, "shop": w.seller.address, "cart": cart}
    spent = net.client("buyer").json("POST", f"/points/{b}/checkout", json=body)
    assert spent["amount"] == 300
    ref = points.cart_reference(w.seller.address, cart)
    assert w.contracts.points.spent_on(b, ref) == 300
    assert (
        refused(lambda: net.client("buyer").json("POST", f"/points/{b}/checkout", json={**body, "cart": "x"}))[0] == 422
    )
    assert (
        refused(lambda: net.client("buyer").json("POST", f"/points/{b}/checkout", json={**body, "amount": 10**6}))[0]
        == 409
    )
    # a shop node serving with the brand's points installs the checkout's discount step
    points.set_point_value(w.contracts, w.seller.account, b, 1_000)
    app = create_app(net.nodes["seller"], settings=Settings(shop_points_brand=b, index_interval=0))
    hook = app.state.shop_discount

    class Cart:
        cart_id, total = cart, 10**18

    assert hook(Cart()) == 300 * 1_000
    assert (
        getattr(create_app(net.nodes["seller"], settings=Settings(index_interval=0)).state, "shop_discount", None)
        is None
    )


def test_points_given_over_the_api_and_each_side_sees_the_movement(net: Net) -> None:
    w = net.world
    b = brand(net)
    seller, buyer = net.client("seller"), net.client("buyer")
    seller.json("POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 900, "purchase": "x"})
    given = buyer.json("POST", f"/points/{b}/transfer", json={"to": w.seller.address, "amount": 250})
    assert (given["brand"], given["amount"]) == (b, 250) and given["tx"]["gas_used"] > 0
    assert w.contracts.points.balance(b, w.buyer.address) == 650

    mine = buyer.json("GET", f"/points/{b}/members/{w.buyer.address}/movements")
    assert [(m["kind"], m["sender"], m["receiver"], m["amount"]) for m in mine] == [
        ("issued", "0x" + "0" * 40, w.buyer.address.lower(), 900),
        ("transfer", w.buyer.address.lower(), w.seller.address.lower(), 250),
    ]
    assert mine[1]["tx_hash"] == given["tx"]["tx_hash"] and mine[0]["at"] <= mine[1]["at"]
    theirs = seller.json("GET", f"/points/{b}/members/{w.seller.address}/movements")
    assert [(m["kind"], m["amount"]) for m in theirs] == [("transfer", 250)]


def test_a_bad_gift_over_the_api_is_refused_and_moves_nothing(net: Net) -> None:
    w = net.world
    b = brand(net)
    buyer = net.client("buyer")
    net.client("seller").json(
        "POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 100, "purchase": "x"}
    )
    block = w.chain.block_number()
    too_many = refused(
        lambda: buyer.json("POST", f"/points/{b}/transfer", json={"to": w.seller.address, "amount": 101})
    )
    assert too_many[0] == 422 and "fewer than 101" in too_many[1]
    zero = {"to": "0x" + "0" * 40, "amount": 1}
    assert refused(lambda: buyer.json("POST", f"/points/{b}/transfer", json=zero))[0] == 422
    for body in ({"to": "0x12", "amount": 1}, {"to": w.seller.address, "amount": 0}, {"to": w.seller.address}):
        assert refused(lambda body=body: buyer.json("POST", f"/points/{b}/transfer", json=body))[0] == 422
    unknown = refused(lambda: buyer.json("POST", "/points/999/transfer", json={"to": w.seller.address, "amount": 1}))
    assert unknown == (404, "no brand #999")
    gift = {"to": w.seller.address, "amount": 1}
    assert refused(lambda: net.client("seller", as_="buyer").json("POST", f"/points/{b}/transfer", json=gift))[0] == 403
    assert w.chain.block_number() == block and w.contracts.points.balance(b, w.buyer.address) == 100
    assert refused(lambda: buyer.json("GET", f"/points/999/members/{w.buyer.address}/movements")) == (
        404,
        "no brand #999",
    )
    assert refused(lambda: buyer.json("GET", f"/points/{b}/members/0x12/movements"))[0] == 422


def test_the_operator_gives_points_from_the_loyalty_page(net: Net) -> None:
    from tests.web.desk_kit import sign_in

    w = net.world
    b = brand(net)
    net.client("seller").json(
        "POST", f"/points/{b}/issue", json={"member": w.buyer.address, "amount": 500, "purchase": "x"}
    )
    operator = sign_in(net, "buyer")
    page = operator.get("/loyalty", params={"brand": b})
    assert 'id="give"' in page.text and "up to 500" in page.text  # type: ignore[attr-defined]
    other = operator.get("/loyalty", params={"brand": b, "member": w.seller.address})
    assert 'id="give"' not in other.text  # type: ignore[attr-defined]  # only one's own points are given

    done = operator.post("/loyalty/transfer", {"brand": str(b), "to": w.seller.address, "points_given": "1,20"})
    assert f"Gave 120 points of brand #{b} to {w.seller.address}." in done.text  # type: ignore[attr-defined]
    assert "given to" in done.text and "-120" in done.text  # type: ignore[attr-defined]
    assert w.contracts.points.balance(b, w.seller.address) == 120

    block = w.chain.block_number()
    for form, words in (
        ({"to": w.seller.address, "points_given": "381"}, "fewer than 381"),
        ({"to": "0x12", "points_given": "1"}, "is not an account address"),
        ({"to": "0x" + "0" * 40, "points_given": "1"}, "not an account address"),
        ({"to": w.seller.address, "points_given": "0"}, "give at least 1 point"),
        ({"to": w.seller.address, "points_given": "ten"}, "is not a whole number"),
    ):
        refused_page = operator.post("/loyalty/transfer", {"brand": str(b), **form})
        assert refused_page.status_code == 200  # type: ignore[attr-defined]
        assert "Nothing was given" in refused_page.text and words in refused_page.text, form  # type: ignore[attr-defined]
    assert w.chain.block_number() == block and w.contracts.points.balance(b, w.buyer.address) == 380

    member = sign_in(net, "buyer", as_="seller")  # signed in, but not this node's operator
    assert (
        member.post("/loyalty/transfer", {"brand": str(b), "to": w.seller.address, "points_given": "1"}).status_code
        == 403
    )  # type: ignore[attr-defined]
    unsigned = net.http["buyer"].post(
        "/loyalty/transfer", data={"brand": str(b), "to": w.seller.address, "points_given": "1"}
    )
    assert unsigned.status_code in (401, 403)
    assert w.contracts.points.balance(b, w.buyer.address) == 380
