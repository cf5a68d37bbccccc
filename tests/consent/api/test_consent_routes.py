"""Customer data, consent and partner access between nodes over their HTTP APIs and pages (in process): the shop
(the seller's node) publishes a customer's profile, the customer (the outsider's node) consents on its page, the
partner (the buyer's node) finds the item by key, asks for it and fetches it from the shop's node, checking its
hash on chain; the customer's dashboard shows the access and its reward; after withdrawal the next request is
refused and the shop delivers nothing; the customer erases the category on the shop's node. Bad input is a clear
4xx, never a 500 (checked on the same network, which takes seconds to build)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.services import consent, streams
from tests.consent.api.customer_node_kit import customers_node_forwards_an_erasure_and_the_shop_refuses_bad_requests
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.web.desk_kit import sign_in

pytestmark = EMBEDDED

REWARD = 5 * 10**18
PROFILE = {
    "purchases": [{"orderNumber": "A-1", "orderDate": "2026-11-02", "product": "Tea sampler", "price": "0.02"}],
    "demographics": {"birthDate": "1990-04-01", "jobTitle": "Baker"},
    "contact": {"name": "Ada Quill", "email": "ada@example.org", "address": {"streetAddress": "1 Mill Lane"}},
}


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def test_consent_access_dashboard_revoke_erase_and_bad_input_between_nodes(net: Net) -> None:
    w, c = net.world, net.world.contracts
    customer = w.outsider.address
    stream_id, _ = streams.open_stream(c, w.seller.account, "seller-shop/customers")
    published = streams.publish_customer(c, w.seller, stream_id, customer, **PROFILE)
    assert [p.category for p in published] == ["purchase-history", "demographics", "contact"]
    c.reward_token.mint(w.platform.account, w.buyer.address, 50 * 10**18)
    consent.fund_rewards(c, w.buyer.account, 50 * 10**18)

    # the customer consents on the consent page of their own node
    page = sign_in(net, "outsider")
    form = page.get("/my/consent")
    assert form.status_code == 200 and "Buyer Org" in form.text and "Direct marketing" in form.text
    given = page.post(
        "/my/consent",
        {
            "category": "contact",
            "organisation": str(w.orgs["buyer"]),
            "purpose": "Marketing",
            "days": "7",
            "reward": "5",
        },
    )
    assert "Consent #1 given: Contact details for Marketing." in given.text
    assert re.search(r"#1</td>\s*<td>Contact details</td>\s*<td>Buyer Org</td>", given.text)

    # the partner finds the item by key in its own node's index and asks for it
    partner = net.client("buyer")
    key = streams.item_key(customer, "contact")
    found = partner.json("GET", f"/streams/{stream_id}/items", params={"key": key})
    assert [i["key"] for i in found] == [key] and not found[0]["erased"]
    item_id = found[0]["item_id"]
    asked = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "dpv:Marketing"})
    assert (asked["granted"], asked["consent_id"], asked["reward"]) == (True, 1, str(REWARD))
    delivery = net.client("seller", as_="buyer").consent_delivery(asked["tx"]["tx_hash"])
    document = json.loads(consent.receive(c, w.buyer, delivery))
    assert (document["name"], document["address"]["streetAddress"]) == ("Ada Quill", "1 Mill Lane")

    # the customer's dashboard and history
    history = net.client("outsider").json("GET", f"/consent/history/{customer}")
    assert history["rewards_earned"] == str(REWARD)
    assert [(e["kind"], e["purpose_label"], e["category"]) for e in history["timeline"]] == [
        ("access", "Marketing", "contact")
    ]
    dashboard = page.get("/my/data")
    assert dashboard.status_code == 200 and "5 DGR" in dashboard.text and "<svg" in dashboard.text
    assert "Buyer Org" in dashboard.text and asked["tx"]["tx_hash"] in dashboard.text
    tx_page = page.get(f"/my/data/tx/{asked['tx']['tx_hash']}")
    assert tx_page.status_code == 200 and "AccessRecorded" in tx_page.text

    # withdrawn: the next request is recorded as refused and the shop delivers nothing
    withdrawn = page.post("/my/consent/1/revoke")
    assert "Consent #1 withdrawn" in withdrawn.text and '<span class="bad">revoked</span>' in withdrawn.text
    again = partner.json("POST", "/consent/requests", json={"item_id": item_id, "purpose": "Marketing"})
    assert again["granted"] is False
    assert again["outcome"] == "The customer has withdrawn this consent: nothing was shared."
    assert refused(lambda: net.client("seller", as_="buyer").consent_delivery(again["tx"]["tx_hash"])) == (
        403,
        "The customer has withdrawn this consent: nothing was shared.",
    )

    # the customer erases the category on the shop's node (signed in there with their own account)
    erased = net.client("seller", as_="outsider").json(
        "POST", "/consent/erasures", json={"customer": customer, "category": "contact"}
    )
    assert erased["key_destroyed"] and erased["item_ids"] == [item_id] and len(erased["txs"]) == 1
    status, detail = refused(lambda: net.client("seller", as_="buyer").consent_delivery(asked["tx"]["tx_hash"]))
    assert status == 403 and "erased this data" in detail
    gone = partner.json("GET", f"/streams/{stream_id}/items", params={"key": key})
    assert gone[0]["erased"] is True
    timeline = net.client("outsider").json("GET", f"/consent/history/{customer}")["timeline"]
    assert [e["kind"] for e in timeline] == ["access", "refusal"]
    refuses_bad_input(net, next_consent=2)  # one network of nodes for both: each costs seconds to build


def test_the_customers_own_node_forwards_erasures_and_withdraws_rewards(net: Net) -> None:
    try:
        customers_node_forwards_an_erasure_and_the_shop_refuses_bad_requests(net)
    finally:
        net.world.chain.fixed_gas = None


def refuses_bad_input(net: Net, next_consent: int) -> None:
    """Bad input to every consent route: a clear 4xx and nothing done."""
    w = net.world
    customer = net.client("outsider")
    grant = {"category": "contact", "organisation_id": w.orgs["buyer"], "purpose": "Marketing", "reward": 0}
    later = w.chain.now() + 3600
    assert (
        refused(lambda: customer.json("POST", "/consent/grants", json={**grant, "expiry": later, "category": "x"}))[0]
        == 422
    )
    assert refused(
        lambda: customer.json("POST", "/consent/grants", json={**grant, "expiry": later, "purpose": "spam"})
    ) == (
        422,
        "unknown purpose 'spam': use one of " + ", ".join(p.label for p in consent.purposes()),
    )
    assert refused(lambda: customer.json("POST", "/consent/grants", json={**grant, "expiry": 5}))[0] == 422
    assert (
        refused(
            lambda: customer.json("POST", "/consent/grants", json={**grant, "expiry": later, "organisation_id": 99})
        )[0]
        == 404
    )
    made = customer.json("POST", "/consent/grants", json={**grant, "expiry": later})
    assert made["consent_id"] == next_consent
    assert refused(lambda: customer.json("POST", "/consent/grants", json={**grant, "expiry": later})) == (
        409,
        "consent: already granted",
    )
    assert (
        refused(lambda: net.client("outsider", as_="buyer").json("POST", f"/consent/grants/{next_consent}/revoke"))[0]
        == 403
    )
    assert refused(lambda: net.client("buyer").json("POST", f"/consent/grants/{next_consent}/revoke")) == (
        409,
        "consent: not the data subject",
    )
    assert (
        refused(lambda: net.client("outsider", as_="buyer").json("GET", f"/consent/history/{w.outsider.address}"))[0]
        == 403
    )
    assert (
        refused(
            lambda: net.client("buyer").json("POST", "/consent/requests", json={"item_id": 7, "purpose": "Marketing"})
        )[0]
        == 404
    )
    shop = net.client("seller", as_="buyer")
    assert refused(lambda: shop.consent_delivery("0x12"))[0] == 422
    assert refused(lambda: shop.consent_delivery("0x" + "ab" * 32))[0] == 404
    assert (
        refused(
            lambda: shop.json("POST", "/consent/erasures", json={"customer": w.outsider.address, "category": "contact"})
        )[0]
        == 403
    )
    purposes = net.client("buyer").json("GET", "/consent/purposes", auth=False)
    assert purposes[0] == {
        "iri": "https://w3id.org/dpv#Marketing",
        "label": "Marketing",
        "description": "Telling you about products, offers and events",
    }
