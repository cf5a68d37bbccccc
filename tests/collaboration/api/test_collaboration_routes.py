"""``/dao`` through the nodes' HTTP APIs and the ``/collaborations`` page: the seller (data provider) posts an
offer, the buyer (value provider) counters and the seller accepts, revenue is paid and withdrawn, a channel post
is sealed to the members; a session that is not the node's operator (403), bad input (422), an unknown DAO (404)
and what the contract refuses (409, its reason word for word)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.services import collaboration
from tests.kits.node_fixtures import EMBEDDED, Net

pytestmark = EMBEDDED

TITLE = "Survey analytics — Zürich café 東京"  # non-ASCII: the terms hash is over UTF-8 text
TERMS = {"title": TITLE, "data": "Household survey", "service": "Forecasts"}


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def test_offer_counter_accept_pay_withdraw_and_channel(net: Net) -> None:
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    made = seller.json("POST", "/dao/offers", json={**TERMS, "role": "dsp", "stake_bps": 3_000})
    offer_id = made["id"]
    buyer.json("POST", f"/dao/offers/{offer_id}/counter", json={**TERMS, "stake_bps": 4_000})
    listed = buyer.json("GET", "/dao/offers")
    assert [(o["offer_id"], o["state"], o["title"]) for o in listed] == [(offer_id, "open", TITLE)]
    # the terms as the event carried them and this node served them hash to what the contract recorded
    assert "0x" + collaboration.terms_hash(listed[0]["terms"]).hex() == listed[0]["terms_hash"]
    assert listed[0]["rounds"] == [
        {"counterparty": w.buyer.address, "proposer": w.buyer.address, "round": 1, "stake_bps": 4_000}
    ]
    accepted = seller.json("POST", f"/dao/offers/{offer_id}/accept", json={"counterparty": w.buyer.address})
    dao_id = accepted["id"]
    buyer.json("POST", f"/dao/{dao_id}/pay", json={"amount_wei": 10**18})
    dao = buyer.json("GET", f"/dao/{dao_id}")
    assert [(m["account"], m["stake_bps"], m["claimable_wei"]) for m in dao["members"]] == [
        (w.seller.address, 6_000, 6 * 10**17),
        (w.buyer.address, 4_000, 4 * 10**17),
    ]
    assert dao["profit_tree"]["share_bps"] == 10_000 and dao["channels"] == [1]
    assert buyer.json("POST", f"/dao/{dao_id}/withdraw")["amount_wei"] == 4 * 10**17
    posted = seller.json("POST", f"/dao/{dao_id}/channels/1/posts", json={"text": "weekly summary"})
    assert posted["id"] == 1
    mine = seller.json("GET", f"/dao/{dao_id}/channels/1/posts")
    assert [(p["post_id"], p["text"]) for p in mine] == [(1, "weekly summary")]
    page = net.http["buyer"].get("/collaborations")
    assert page.status_code == 200
    assert TITLE in page.text and "Stakes in DAO #1" in page.text


def test_dao_routes_refuse_what_they_must(net: Net) -> None:
    seller, buyer = net.client("seller"), net.client("buyer")
    offer = {**TERMS, "role": "dsp", "stake_bps": 3_000}
    assert refused(lambda: net.client("seller", as_="buyer").json("POST", "/dao/offers", json=offer))[0] == 403
    assert refused(lambda: seller.json("POST", "/dao/offers", json={**offer, "stake_bps": 10_000}))[0] == 422
    assert refused(lambda: seller.json("POST", "/dao/offers", json={**offer, "role": "owner"}))[0] == 422
    assert refused(lambda: buyer.json("GET", "/dao/7")) == (404, "no DAO 7")
    offer_id = seller.json("POST", "/dao/offers", json=offer)["id"]
    assert refused(lambda: seller.json("POST", f"/dao/offers/{offer_id}/accept", json={"counterparty": None})) == (
        409,
        "collaboration: bad counterparty",
    )
    assert refused(lambda: buyer.json("POST", "/dao/1/pay", json={"amount_wei": 1})) == (
        409,
        "collaboration: dao not active",
    )
    outsider = net.client("outsider")
    assert refused(lambda: outsider.json("POST", "/dao/offers", json=offer)) == (409, "collaboration: not audited")
