"""What a customer's own node does for them over the nodes' HTTP APIs (in process); run by
``test_consent_routes.py`` on its network (one embedded world per module: seconds saved).

Rewards: after a partner's paid access the customer's node shows the reward tokens owed, withdraws them to the
customer's account and sends some on; the partner takes back unused deposit; too much, nothing owed and bad
addresses are refused in words and nothing is sent.

Erasure: a customer's own node forwards an erasure to the shop's node (in process, over the nodes' HTTP APIs): the
customer (the outsider's node, no browser wallet) asks from its page, its API and through the service; its node
signs an EIP-712 request with the customer's key and sends it to the shop (the seller's node), which destroys the
data key and marks the items erased on chain. Refusals, each in plain words and with nothing erased: unknown
category, data the shop never held, already erased, a request signed by someone else, a replayed request, one for
another shop, one too old, and a shop that cannot be reached."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import NodeClient, RemoteError
from datagora.api.consent_forward import ShopUnreachable, forward_erasure
from datagora.chain.devnode import free_port
from datagora.services import consent, consent_erasure, streams
from tests.kits.node_fixtures import Net
from tests.web.desk_kit import sign_in

PROFILE = {
    "demographics": {"birthDate": "1990-04-01", "jobTitle": "Baker"},
    "contact": {"name": "Ada Quill", "email": "ada@example.org", "address": {"streetAddress": "1 Mill Lane"}},
}
SHOP = "http://seller.test"
DGR = 10**18


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def customers_node_forwards_an_erasure_and_the_shop_refuses_bad_requests(net: Net) -> None:
    net.world.chain.fixed_gas = 8_000_000  # no gas estimation (a replayed binary search per transaction)
    w, c = net.world, net.world.contracts
    customer = w.outsider
    for category in streams.CATEGORIES:  # the seller's home outlives the chain snapshot of an earlier test
        streams.shred(w.seller, customer.address, category)
    stream_id, _ = streams.open_stream(c, w.seller.account, "seller-shop/customers")
    published = {p.category: p for p in streams.publish_customer(c, w.seller, stream_id, customer.address, **PROFILE)}
    own_node = net.client("outsider")

    # from the customer's own node's API: signed there, erased at the shop
    erased = own_node.json("POST", "/consent/erasures/forward", json={"shop_url": SHOP, "category": "contact"})
    assert erased["customer"] == customer.address and erased["key_destroyed"] is True
    assert erased["item_ids"] == [published["contact"].item_id] and len(erased["txs"]) == 1
    assert c.streams.item(published["contact"].item_id).erased
    assert streams.data_key_of(w.seller, customer.address, "contact") is None
    assert streams.data_key_of(w.seller, customer.address, "demographics") is not None  # only what was asked

    def forward(category: str) -> Any:
        return own_node.json("POST", "/consent/erasures/forward", json={"shop_url": SHOP, "category": category})

    assert refused(lambda: forward("contact")) == (
        409,
        "the shop refused: this shop has already erased your contact details: nothing more to do",
    )
    assert refused(lambda: forward("purchase-history")) == (
        404,
        "the shop refused: this shop holds no purchase history of yours: nothing was erased",
    )
    status, detail = refused(lambda: forward("shoe-size"))
    assert status == 422 and "unknown data category 'shoe-size'" in detail
    assert (
        refused(
            lambda: net.client("outsider", as_="buyer").json(
                "POST", "/consent/erasures/forward", json={"shop_url": SHOP, "category": "demographics"}
            )
        )[0]
        == 403
    )  # only the node's operator (the customer) may make it sign
    assert (
        refused(
            lambda: own_node.json(
                "POST", "/consent/erasures/forward", json={"shop_url": "ftp://seller.test", "category": "demographics"}
            )
        )[0]
        == 422
    )

    # straight to the shop: a request signed by someone else, replayed, for another shop, too old
    shop_api = net.client("seller")
    now = int(time.time())
    good = consent_erasure.sign_request(customer.account, w.chain.chain_id, w.seller.address, "demographics", now=now)
    forged = dataclasses.replace(
        consent_erasure.sign_request(w.buyer.account, w.chain.chain_id, w.seller.address, "demographics", now=now),
        customer=customer.address,
    )

    def send(request: consent_erasure.ErasureRequest) -> Any:
        return shop_api.json("POST", "/consent/erasures/signed", json=request.to_json(), auth=False)

    status, detail = refused(lambda: send(forged))
    assert status == 403 and detail.startswith("this request was not signed by the customer it names")
    other_shop = consent_erasure.sign_request(
        customer.account, w.chain.chain_id, w.buyer.address, "demographics", now=now
    )
    assert refused(lambda: send(other_shop))[0] == 403
    stale = consent_erasure.sign_request(
        customer.account, w.chain.chain_id, w.seller.address, "demographics", now=now - 11 * 60
    )
    assert refused(lambda: send(stale)) == (
        403,
        "this request was signed more than 10 minutes ago: sign a new one. Nothing was erased",
    )
    other_chain = consent_erasure.sign_request(customer.account, 999, w.seller.address, "demographics", now=now)
    assert refused(lambda: send(other_chain))[0] == 403
    assert streams.data_key_of(w.seller, customer.address, "demographics") is not None  # nothing erased so far
    assert send(good)["item_ids"] == [published["demographics"].item_id]
    assert refused(lambda: send(good)) == (
        409,
        "this erasure request was received before (a replay): nothing more was erased",
    )
    assert (
        refused(lambda: shop_api.json("POST", "/consent/erasures/signed", json={"customer": "0x1"}, auth=False))[0]
        == 422
    )
    page_forwards_and_an_unreachable_shop_erases_nothing(net)
    rewards_withdrawn_sent_and_deposit_taken_back(net)


def page_forwards_and_an_unreachable_shop_erases_nothing(net: Net) -> None:
    """From the customer's page; a shop that cannot be reached. On the first test's network (each costs seconds to
    build): the contact details are published anew under a new key."""
    w, c = net.world, net.world.contracts
    customer = w.outsider
    stream_id, _ = streams.open_stream(c, w.seller.account, "seller-shop/customers")
    (contact,) = streams.publish_customer(c, w.seller, stream_id, customer.address, contact=PROFILE["contact"])

    port = free_port()  # nothing listens there
    with (
        NodeClient(f"http://127.0.0.1:{port}", customer.account) as nowhere,
        pytest.raises(ShopUnreachable, match=r"could not be reached .*nothing was erased"),
    ):
        forward_erasure(nowhere, customer.account, w.chain.chain_id, "contact", now=int(time.time()))
    assert not c.streams.item(contact.item_id).erased

    page = sign_in(net, "outsider")
    form = page.get("/my/data")
    assert form.status_code == 200 and "Erase my data at a shop" in form.text
    bad = page.post("/my/data/erase-at-shop", {"shop_url": "not a url", "category": "contact"})
    assert "Nothing erased: &#39;not a url&#39; is not a web address" in bad.text
    done = page.post("/my/data/erase-at-shop", {"shop_url": SHOP, "category": "contact"})
    assert "Contact details erased at the shop: its key is destroyed and 1 item(s) are marked erased" in done.text
    assert c.streams.item(contact.item_id).erased
    again = page.post("/my/data/erase-at-shop", {"shop_url": SHOP, "category": "contact"})
    assert "Nothing erased: the shop refused: this shop has already erased your contact details" in again.text


def rewards_withdrawn_sent_and_deposit_taken_back(net: Net) -> None:
    """The rewards page and routes, on the same network."""
    w, c = net.world, net.world.contracts
    customer = w.outsider
    stream_id, _ = streams.open_stream(c, w.seller.account, "seller-shop/customers")
    (item,) = streams.publish_customer(c, w.seller, stream_id, customer.address, demographics=PROFILE["demographics"])
    c.reward_token.mint(w.platform.account, w.buyer.address, 20 * DGR)
    consent.fund_rewards(c, w.buyer.account, 20 * DGR)
    consent.grant(c, customer.account, "demographics", w.orgs["buyer"], "Marketing", w.chain.now() + 86_400, 5 * DGR)
    partner = net.client("buyer")
    asked = partner.json("POST", "/consent/requests", json={"item_id": item.item_id, "purpose": "Marketing"})
    assert asked["granted"] is True

    own_node = net.client("outsider")
    held = own_node.json("GET", f"/consent/rewards/{customer.address}")
    assert (held["pending"], held["balance"], held["pending_text"]) == (str(5 * DGR), "0", "5 DGR")
    assert (
        refused(lambda: net.client("outsider", as_="buyer").json("GET", f"/consent/rewards/{customer.address}"))[0]
        == 403
    )

    page = sign_in(net, "outsider")
    shown = page.get("/my/rewards")
    assert shown.status_code == 200 and 'id="reward-pending">5 DGR' in shown.text and "Withdraw 5 DGR" in shown.text
    done = page.post("/my/rewards/withdraw")
    assert "Withdrawn: 5 DGR are now in your account." in done.text and 'id="reward-balance">5 DGR' in done.text
    assert "Nothing withdrawn: there are no reward tokens to withdraw yet" in page.post("/my/rewards/withdraw").text
    too_much = page.post("/my/rewards/send", {"to": w.seller.address, "amount": "6"})
    assert "Nothing sent: your account holds 5 DGR, less than the 6 DGR to send" in too_much.text
    assert (
        "Nothing sent: &#39;0x12&#39; is not an account address"
        in page.post("/my/rewards/send", {"to": "0x12", "amount": "1"}).text
    )
    sent = page.post("/my/rewards/send", {"to": w.seller.address, "amount": "1.5"})
    assert f"Sent 1.5 DGR to {w.seller.address}." in sent.text
    assert c.reward_token.balance(customer.address) == 35 * DGR // 10

    assert refused(lambda: own_node.json("POST", "/consent/rewards/withdraw"))[0] == 422
    assert (
        refused(
            lambda: own_node.json(
                "POST", "/consent/rewards/transfers", json={"to": w.seller.address, "amount": 10 * DGR}
            )
        )[0]
        == 422
    )
    assert own_node.json("POST", "/consent/rewards/transfers", json={"to": w.seller.address, "amount": DGR})["tx_hash"]
    taken = partner.json("POST", "/consent/deposit/withdrawals", json={"amount": 10 * DGR})
    assert taken["amount"] == str(10 * DGR) and len(taken["txs"]) == 2
    assert c.consent.deposit_of(w.buyer.address) == 5 * DGR and c.reward_token.balance(w.buyer.address) == 10 * DGR
    status, detail = refused(lambda: partner.json("POST", "/consent/deposit/withdrawals", json={"amount": 6 * DGR}))
    assert (status, detail) == (422, "your unused deposit is 5 DGR, less than the 6 DGR asked for: nothing was sent")
