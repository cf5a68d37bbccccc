"""The market's other ways to trade, through the nodes' HTTP APIs (parity with the command line): negotiation
(``/negotiations``: offer, counter, accept, accept the counter, reject, withdraw), English auctions (``/offers``
with ``pricing: auction``, ``/auctions``: bid, settle), a buyer's dispute and a use-right's expiry
(``/orders/{id}/dispute``, ``/orders/{id}/expire``) and ratings (``/ratings``). Each route: success, a session that
is not the node's operator (403), bad input (422), an unknown id (404) and what the contract refuses (409), none of
which sends a transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.crypto.hashing import keccak256
from tests.disputes.api.test_disputes import relayed_order
from tests.kits.node_fixtures import EMBEDDED, Net, base_url
from tests.world import ETHER, write_table

pytestmark = EMBEDDED

PRICE = ETHER // 10
DAY = 86_400
UNKNOWN = 999_999


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    """The status and detail of the error ``call`` raises."""
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def published(net: Net, tmp_path: Path, name: str) -> int:
    data = write_table(tmp_path / f"{name}.csv", rows=120)
    return int(net.client("seller").publish(data, name=name.title(), domain="misc").token_id)


def nonce(net: Net, label: str) -> int:
    """The number of transactions the node's account sent (a refusal must not add one)."""
    return int(net.world.chain.w3.eth.get_transaction_count(net.participant(label).address))  # type: ignore[attr-defined]


def test_negotiation_offer_counter_accept_reject_withdraw(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = published(net, tmp_path, "negotiated")
    listing = seller.list_offer(token_id, PRICE, pricing="negotiated").offer
    assert (listing.pricing, listing.price_wei, listing.collateral_wei) == ("negotiated", PRICE, PRICE)

    made = buyer.make_offer(listing.listing_id, PRICE // 2, valid_for=3_600)
    offer = made.negotiation
    assert (offer.listing_id, offer.buyer, offer.amount_wei, offer.counter_wei, offer.state) == (
        listing.listing_id,
        w.buyer.address,
        PRICE // 2,
        None,
        "open",
    )
    assert offer.expiry >= w.chain.now() + 3_500 and made.tx.gas_used > 0
    assert buyer.negotiation(offer.offer_id) == offer  # GET, from Market.offers
    rejected_id = buyer.make_offer(listing.listing_id, PRICE // 3).negotiation.offer_id
    withdrawn_id = buyer.make_offer(listing.listing_id, PRICE // 4).negotiation.offer_id

    sent = {label: nonce(net, label) for label in ("seller", "buyer")}
    # a session that is not the node's operator
    for client in (net.client("buyer", as_="seller"), net.client("seller", as_="buyer")):
        for call in (
            lambda c=client: c.make_offer(listing.listing_id, PRICE),
            lambda c=client: c.counter_offer(offer.offer_id, PRICE),
            lambda c=client: c.accept_offer(offer.offer_id),
            lambda c=client: c.accept_counter(offer.offer_id, PRICE),
            lambda c=client: c.reject_offer(offer.offer_id),
            lambda c=client: c.withdraw_offer(offer.offer_id),
        ):
            code, detail = refused(call)
            assert code == 403 and "only this node's operator" in detail
    # bad input
    assert refused(lambda: buyer.make_offer(listing.listing_id, 0))[0] == 422
    assert refused(lambda: buyer.make_offer(listing.listing_id, PRICE, valid_for=0))[0] == 422
    assert refused(lambda: buyer.request("POST", "/negotiations", json={"listing_id": 1, "amount": 5}))[0] == 422
    assert refused(lambda: seller.counter_offer(offer.offer_id, -1))[0] == 422
    assert refused(lambda: seller.request("POST", "/negotiations/0/accept"))[0] == 422
    # unknown ids
    assert refused(lambda: buyer.make_offer(UNKNOWN, PRICE))[0] == 404
    for call in (
        lambda: buyer.negotiation(UNKNOWN),
        lambda: seller.counter_offer(UNKNOWN, PRICE),
        lambda: seller.accept_offer(UNKNOWN),
        lambda: buyer.accept_counter(UNKNOWN, PRICE),
        lambda: seller.reject_offer(UNKNOWN),
        lambda: buyer.withdraw_offer(UNKNOWN),
    ):
        assert refused(call)[0] == 404
    # what the contract refuses: the buyer's node acting as the seller, and back
    assert refused(lambda: buyer.counter_offer(offer.offer_id, PRICE)) == (409, "market: not seller")
    assert refused(lambda: buyer.accept_offer(offer.offer_id)) == (409, "market: not seller")
    assert refused(lambda: seller.accept_counter(offer.offer_id, PRICE))[0] == 409  # no counter, and not its offer
    assert {label: nonce(net, label) for label in ("seller", "buyer")} == sent  # no transaction was sent

    for path in ("counter", "accept", "accept-counter", "reject", "withdraw"):  # not an offer id
        assert refused(lambda p=path: seller.request("POST", f"/negotiations/0/{p}", json={"amount_wei": 1}))[0] == 422
    assert refused(lambda: buyer.request("GET", "/negotiations/abc"))[0] == 422
    assert refused(lambda: net.client("seller", as_="outsider").negotiation(offer.offer_id))[0] == 403  # not audited
    fixed = seller.list_offer(published(net, tmp_path, "fixed"), PRICE).offer.listing_id
    assert refused(lambda: buyer.make_offer(fixed, PRICE))[0] == 409  # not a negotiable listing

    assert seller.reject_offer(rejected_id).negotiation.state == "rejected"
    assert refused(lambda: seller.reject_offer(rejected_id))[0] == 409  # rejected once
    assert buyer.withdraw_offer(withdrawn_id).negotiation.state == "withdrawn"
    assert refused(lambda: buyer.withdraw_offer(rejected_id))[0] == 409  # no longer open

    countered = seller.counter_offer(offer.offer_id, 3 * PRICE // 4).negotiation
    assert (countered.state, countered.counter_wei) == ("countered", 3 * PRICE // 4)
    accept_path = f"/negotiations/{offer.offer_id}/accept-counter"
    assert refused(lambda: buyer.request("POST", accept_path))[0] == 422  # the counter accepted must be named
    assert refused(lambda: buyer.request("POST", accept_path, json={"counter_wei": 0}))[0] == 422
    # the seller's higher counter lands first: the buyer's acceptance of the one it read is refused
    seller.counter_offer(offer.offer_id, PRICE)
    assert refused(lambda: buyer.accept_counter(offer.offer_id, 3 * PRICE // 4)) == (409, "market: counter changed")
    seller.counter_offer(offer.offer_id, 3 * PRICE // 4)
    accepted = buyer.accept_counter(offer.offer_id, 3 * PRICE // 4)
    assert accepted.negotiation.state == "accepted"
    assert (accepted.order.buyer, accepted.order.amount_wei, accepted.order.state) == (
        w.buyer.address,
        3 * PRICE // 4,
        "paid",
    )
    assert refused(lambda: seller.accept_offer(offer.offer_id))[0] == 409  # already accepted


def test_seller_accepts_the_buyers_amount(net: Net, tmp_path: Path) -> None:
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = published(net, tmp_path, "accepted")
    listing_id = seller.list_offer(token_id, PRICE, pricing="negotiated", collateral_wei=0).offer.listing_id
    offer_id = buyer.make_offer(listing_id, 9 * PRICE // 10).negotiation.offer_id
    accepted = seller.accept_offer(offer_id)
    assert (accepted.negotiation.state, accepted.order.amount_wei, accepted.order.collateral_wei) == (
        "accepted",
        9 * PRICE // 10,
        0,
    )
    assert buyer.order(accepted.order.order_id) == accepted.order


def test_auction_listed_bid_and_settled(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer, platform = net.client("seller"), net.client("buyer"), net.client("platform")
    token_id = published(net, tmp_path, "auctioned")
    reserve, step = PRICE, PRICE // 10
    # the auction's terms, checked by the service that lists every kind of sale
    for terms in (
        {"pricing": "auction"},
        {"pricing": "auction", "min_increment_wei": step},
        {"pricing": "fixed", "duration": 3_600},
        {"pricing": "negotiated", "min_increment_wei": step},
        {"pricing": "sealed"},
    ):
        code, _ = refused(lambda t=terms: seller.list_offer(token_id, reserve, **t))  # type: ignore[misc]
        assert code == 422, terms
    listing = seller.list_offer(token_id, reserve, pricing="auction", min_increment_wei=step, duration=3_600).offer
    assert listing.pricing == "auction" and listing.auction is not None
    assert (listing.auction.min_increment, listing.auction.highest_bidder) == (step, None)
    assert buyer.auction(listing.listing_id) == listing

    assert refused(lambda: net.client("buyer", as_="seller").bid(listing.listing_id, reserve))[0] == 403
    assert refused(lambda: buyer.bid(listing.listing_id, 0))[0] == 422
    assert refused(lambda: buyer.bid(UNKNOWN, reserve))[0] == 404
    assert refused(lambda: buyer.auction(UNKNOWN))[0] == 404
    assert refused(lambda: buyer.settle_auction(UNKNOWN))[0] == 404
    for path in ("/auctions/0", "/auctions/0/settle"):
        assert refused(lambda p=path: buyer.request("GET" if p.count("/") == 2 else "POST", p))[0] == 422
    assert refused(lambda: net.client("seller", as_="outsider").auction(listing.listing_id))[0] == 403
    fixed = seller.list_offer(published(net, tmp_path, "fixed"), PRICE).offer.listing_id
    code, detail = refused(lambda: buyer.bid(fixed, reserve))
    assert code == 404 and "not an auction" in detail
    assert refused(lambda: buyer.bid(listing.listing_id, reserve - 1))[0] == 409  # under the reserve

    first = buyer.bid(listing.listing_id, reserve)
    assert first.offer.auction is not None
    assert (first.offer.auction.highest_bidder, first.offer.auction.highest_bid) == (w.buyer.address, reserve)
    assert refused(lambda: platform.bid(listing.listing_id, reserve + step - 1))[0] == 409  # below the increment
    top = platform.bid(listing.listing_id, reserve + step).offer.auction
    assert top is not None and (top.highest_bidder, top.highest_bid) == (w.platform.address, reserve + step)
    assert refused(lambda: buyer.settle_auction(listing.listing_id))[0] == 409  # not over yet
    assert refused(lambda: net.client("buyer", as_="platform").settle_auction(listing.listing_id))[0] == 403

    w.chain.advance_time(3_601)
    settled = buyer.settle_auction(listing.listing_id)  # anyone's node settles
    assert settled.order is not None
    assert (settled.order.buyer, settled.order.amount_wei, settled.order.state) == (
        w.platform.address,
        reserve + step,
        "paid",
    )
    assert refused(lambda: buyer.settle_auction(listing.listing_id))[0] == 409  # settled once


def test_buyer_disputes_a_delivered_order(net: Net, tmp_path: Path) -> None:
    seller, buyer = net.client("seller"), net.client("buyer")
    listing_id = seller.list_offer(published(net, tmp_path, "disputed"), PRICE).offer.listing_id
    order_id = buyer.buy(listing_id).order.order_id
    reason = "the rows are not the ones described"
    assert refused(lambda: buyer.dispute(order_id, reason))[0] == 409  # nothing delivered yet
    seller.deliver(order_id)

    assert refused(lambda: net.client("buyer", as_="seller").dispute(order_id, reason))[0] == 403
    for bad in ("", "line\x00break", "x" * 2001):
        assert refused(lambda b=bad: buyer.dispute(order_id, b))[0] == 422  # type: ignore[misc]
    assert refused(lambda: buyer.dispute(UNKNOWN, reason))[0] == 404
    assert refused(lambda: seller.dispute(order_id, reason))[0] == 409  # the seller is no party that may

    disputed = buyer.dispute(order_id, reason)
    assert disputed.order.state == "disputed"
    assert disputed.reason_hash == "0x" + keccak256(reason.encode()).hex()
    assert refused(lambda: buyer.dispute(order_id, reason))[0] == 409  # already disputed


def test_use_right_expired_after_its_window(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = published(net, tmp_path, "panel")
    per_query = ETHER // 100
    listing_id = seller.list_use_right(token_id, per_query, max_queries=5, usage_window=3_600).offer.listing_id
    order_id = buyer.buy(listing_id, queries=3).order.order_id
    assert refused(lambda: buyer.expire(order_id))[0] == 409  # still usable
    assert refused(lambda: net.client("buyer", as_="seller").expire(order_id))[0] == 403
    assert refused(lambda: buyer.expire(UNKNOWN))[0] == 404
    assert refused(lambda: buyer.request("POST", "/orders/abc/expire"))[0] == 422

    w.chain.advance_time(3_601)
    expired = seller.expire(order_id)  # anyone's node may close it
    assert expired.buyer_credit_wei == 3 * per_query
    assert (expired.order.state, expired.order.queries_left) == ("refunded", 3)
    assert w.contracts.use_rights.pending_withdrawal(w.buyer.address) == 3 * per_query
    assert refused(lambda: buyer.expire(order_id))[0] == 409  # closed once


def test_parties_rate_each_other_once_after_settlement(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    listing_id = seller.list_offer(published(net, tmp_path, "rated"), PRICE).offer.listing_id
    order_id = buyer.buy(listing_id).order.order_id
    code, detail = refused(lambda: buyer.rate(order_id, 5))
    assert code == 409 and detail.startswith("reputation: order not")  # not settled yet
    seller.deliver(order_id)
    assert buyer.confirm(order_id).order.state == "completed"

    assert refused(lambda: net.client("buyer", as_="seller").rate(order_id, 5))[0] == 403
    code, detail = refused(lambda: net.client("outsider").rate(order_id, 5))  # its own node, but no party
    assert code == 403 and "not a party" in detail
    for score in (0, 6):
        assert refused(lambda s=score: buyer.rate(order_id, s))[0] == 422  # type: ignore[misc]
    assert refused(lambda: buyer.rate(UNKNOWN, 5))[0] == 404
    assert refused(lambda: buyer.reputation("0x1234"))[0] == 422

    rated = buyer.rate(order_id, 5)
    assert (rated.rated, rated.score, rated.order_id) == (w.seller.address, 5, order_id)
    assert seller.rate(order_id, 4).rated == w.buyer.address
    assert refused(lambda: buyer.rate(order_id, 1)) == (409, "reputation: already rated")
    got = buyer.reputation(w.seller.address.lower())
    assert (got.address, got.average, got.count) == (w.seller.address, 5.0, 1)
    assert seller.reputation(w.outsider.address).average is None
    assert refused(lambda: net.client("seller", as_="outsider").reputation(w.seller.address))[0] == 403


def test_routes_are_in_the_openapi_document(net: Net) -> None:
    paths = net.http["buyer"].get("/openapi.json").json()["paths"]
    for path in (
        "/negotiations",
        "/negotiations/{offer_id}/accept-counter",
        "/auctions/{listing_id}/bids",
        "/auctions/{listing_id}/settle",
        "/orders/{order_id}/dispute",
        "/orders/{order_id}/expire",
        "/ratings",
        "/ratings/{address}",
    ):
        assert path in paths, path


def test_parties_hand_their_evidence_to_the_platform_from_their_nodes(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer, platform = net.client("seller"), net.client("buyer"), net.client("platform")
    platform_url = base_url("platform")
    order_id, _data = relayed_order(net, tmp_path)  # delivered through the platform's relay
    received = buyer.receive(order_id, relay_url=platform_url)  # keeps the ciphertext, posts the notice
    assert received.notice is not None
    assert refused(lambda: seller.send_reupload(order_id, platform_url))[0] == 422  # not disputed yet
    buyer.dispute(order_id, "the rows are not the ones described")

    assert refused(lambda: net.client("seller", as_="buyer").send_reupload(order_id, platform_url))[0] == 403
    assert refused(lambda: net.client("buyer", as_="seller").send_disclosure(order_id, platform_url))[0] == 403
    for client, path in ((seller, "reupload"), (buyer, "disclose")):
        for bad in ({"platform_url": "not a url"}, {}, {"platform_url": platform_url, "more": 1}):
            call = lambda c=client, p=path, b=bad: c.request("POST", f"/orders/{order_id}/{p}", json=b)  # noqa: E731
            assert refused(call)[0] == 422
    assert refused(lambda: seller.send_reupload(UNKNOWN, platform_url))[0] == 404
    assert refused(lambda: buyer.send_disclosure(UNKNOWN, platform_url))[0] == 404
    assert refused(lambda: seller.send_disclosure(order_id, platform_url))[0] == 403  # not the buyer
    assert refused(lambda: buyer.send_reupload(order_id, platform_url))[0] == 403  # not the seller
    inbox = w.buyer.home / "inbox" / f"order-{order_id}.dge"
    inbox.rename(inbox.with_suffix(".aside"))
    code, detail = refused(lambda: buyer.send_disclosure(order_id, platform_url))  # nothing received here
    assert code == 422 and "no delivered ciphertext" in detail
    inbox.with_suffix(".aside").rename(inbox)

    held = seller.send_reupload(order_id, platform_url)
    assert (held.order_id, held.uploaded_by) == (order_id, w.seller.address) and held.size > 0
    assert not (w.seller.home / "outbox" / f"reupload-{order_id}.dge").exists()  # handed over, not kept
    disclosed = buyer.send_disclosure(order_id, platform_url)
    assert (disclosed.order_id, disclosed.disclosed_by) == (order_id, w.buyer.address)

    ruled = platform.arbitrate(order_id)  # the seller's data and its transmission were good
    assert (ruled.ruling, ruled.content_match, ruled.transmitted_ok) == ("for-seller", True, True)
    assert buyer.order(order_id).state == "completed"
