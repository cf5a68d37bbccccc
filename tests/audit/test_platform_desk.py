"""The platform's desk through the platform node's API (``/platform/...``): the attestation log (given and
refused, with dates), the disputes inbox with each case's evidence, the ruling chosen by the operator and refused
when the evidence supports another one, and the orders past their deadline settled one by one."""

from __future__ import annotations

from pathlib import Path

from datagora.domain.models import OrderState
from tests.audit.desk_kit import PRICE, call, disputed_after_false_delivery, disputed_order, reupload
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import write_table

pytestmark = EMBEDDED

DAY = 86_400


def test_attestation_log_shows_given_and_refused_with_dates(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller = net.client("seller")
    data = write_table(tmp_path / "first.csv", rows=120)
    token_id = seller.publish(data, name="First", domain="misc")["token_id"]
    copy = tmp_path / "copy.csv"
    copy.write_bytes(data.read_bytes())
    refused = call(net, "seller", "POST", "/datasets", files={"file": ("copy.csv", copy.read_bytes())})
    assert refused.status_code == 409, refused.text

    log = call(net, "platform", "GET", "/platform/attestations")
    assert log.status_code == 200, log.text
    body = log.json()
    assert (body["given"], body["refused"]) == (1, 1)
    assert [e["at"] for e in body["entries"]] == sorted((e["at"] for e in body["entries"]), reverse=True)
    by_outcome = {e["outcome"]: e for e in body["entries"]}
    newest, oldest = by_outcome["refused"], by_outcome["given"]
    assert newest["token_id"] == token_id
    assert f"dataset {token_id}" in newest["reason"] and newest["expiry"] is None
    assert oldest["outcome"] == "given" and oldest["token_id"] == token_id
    assert oldest["publisher"] == w.seller.address and oldest["published_at"] >= oldest["at"] - 5
    assert newest["at"] >= oldest["at"]


def test_dispute_inbox_evidence_and_ruling_checked_against_it(net: Net, tmp_path: Path) -> None:
    w = net.world
    order_id, _token_id, _data = disputed_order(net, tmp_path)

    inbox = call(net, "platform", "GET", "/platform/disputes").json()
    assert inbox["count"] == 1
    case = inbox["disputes"][0]
    assert (case["order_id"], case["fingerprints_match"], case["ready"], case["relayed"]) == (
        order_id,
        False,
        False,
        True,
    )
    assert case["disputed_by"] == w.platform.address and case["deadline"] > case["disputed_at"] > 0
    assert case["assessment"] is None

    early = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": "for-seller"})
    assert early.status_code == 409 and "not re-uploaded" in early.json()["detail"]

    reupload(net, tmp_path, order_id)
    detail = call(net, "platform", "GET", f"/platform/disputes/{order_id}").json()
    assert detail["ready"] and detail["reupload_size"] > 0
    assessment = detail["assessment"]
    assert (assessment["content_match"], assessment["near_duplicate"], assessment["ruling"]) == (
        True,
        True,
        "for-seller",
    )
    assert assessment["similarity"] > 0.99 and "published" in assessment["reason"]

    wrong = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": "for-buyer"})
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["detail"].startswith("the evidence does not support a ruling for the buyer")
    assert w.contracts.market.order(order_id).state == OrderState.DISPUTED  # nothing sent

    unknown = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": "maybe"})
    assert unknown.status_code == 422 and unknown.headers["content-type"].startswith("application/problem+json")

    ruled = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": "for-seller"})
    assert ruled.status_code == 200, ruled.text
    assert (ruled.json()["ruling"], ruled.json()["order"]["state"], ruled.json()["buyer_copy"]) == (
        "for-seller",
        "completed",
        True,
    )
    assert call(net, "platform", "GET", "/platform/disputes").json()["count"] == 0
    gone = call(net, "platform", "GET", f"/platform/disputes/{order_id}")
    assert gone.status_code == 422 and "not disputed" in gone.json()["detail"]


def test_overdue_orders_listed_and_settled(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = seller.publish(write_table(tmp_path / "late.csv", rows=80), name="Late", domain="misc")["token_id"]
    listing_id = seller.list_offer(token_id, PRICE)["offer"]["listing_id"]
    order_id = buyer.buy(listing_id)["order"]["order_id"]

    assert call(net, "platform", "GET", "/platform/deadlines").json()["count"] == 0
    early = call(net, "platform", "POST", f"/platform/deadlines/{order_id}")
    assert early.status_code == 422 and "not overdue" in early.json()["detail"]

    w.chain.advance_time(30 * DAY)
    listed = call(net, "platform", "GET", "/platform/deadlines").json()
    assert listed["count"] == 1
    row = listed["orders"][0]
    assert (row["order_id"], row["action"], row["state"]) == (order_id, "refund", "paid")
    assert row["overdue_for"] > 0 and "never delivered" in row["meaning"]

    settled = call(net, "platform", "POST", f"/platform/deadlines/{order_id}")
    assert settled.status_code == 200, settled.text
    assert (settled.json()["action"], settled.json()["order"]["state"]) == ("refund", "refunded")
    assert call(net, "platform", "GET", "/platform/deadlines").json()["count"] == 0
    again = call(net, "platform", "POST", f"/platform/deadlines/{order_id}")
    assert again.status_code == 422 and "already refunded" in again.json()["detail"]


def test_platform_desk_only_for_the_platform_operator(net: Net) -> None:
    for path in ("/platform/attestations", "/platform/disputes", "/platform/deadlines"):
        assert call(net, "platform", "GET", path, as_="seller").status_code == 403
        assert call(net, "seller", "GET", path).status_code == 404


def test_a_false_delivery_is_ruled_redelivered_and_nothing_else(net: Net, tmp_path: Path) -> None:
    w = net.world
    order_id = disputed_after_false_delivery(net, tmp_path)
    case = call(net, "platform", "GET", f"/platform/disputes/{order_id}").json()
    assert case["disclosed_at"] is not None and case["ready"]
    found = case["assessment"]
    assert (found["content_match"], found["transmitted_ok"], found["ruling"]) == (True, False, "redelivered")
    assert found["reason"] == "the seller holds the right data but delivered something else"
    for wrong in ("for-seller", "for-buyer"):
        refused = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": wrong})
        assert refused.status_code == 409 and "so the ruling is redelivered to the buyer" in refused.json()["detail"]
    owed = w.contracts.market.pending_withdrawal(w.buyer.address)
    ruled = call(net, "platform", "POST", f"/platform/disputes/{order_id}/ruling", json={"ruling": "redelivered"})
    assert ruled.status_code == 200 and ruled.json()["buyer_copy"] is True
    assert w.contracts.market.pending_withdrawal(w.buyer.address) - owed == 2 * PRICE  # both collaterals
