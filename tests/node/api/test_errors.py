"""Errors are 4xx with ``{"detail": message}``: unknown ids 404, contract guards 409 with the contract's reason,
novelty refused 409, bad input 422/400/413/415, a missing platform 503; never a 500 for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.services import market, publishing
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import ETHER, write_table

pytestmark = EMBEDDED


def _fails(call: object, status: int, fragment: str = "") -> RemoteError:
    with pytest.raises(RemoteError) as raised:
        assert callable(call)
        call()
    assert raised.value.status == status, raised.value
    assert fragment in raised.value.detail, raised.value.detail
    return raised.value


def test_unknown_ids_are_404(net: Net) -> None:
    buyer = net.client("buyer")
    _fails(lambda: buyer.dataset(424242), 404, "unknown dataset id 424242")
    _fails(lambda: buyer.offer(424242), 404, "unknown listing id 424242")
    _fails(lambda: buyer.order(424242), 404, "unknown order id 424242")
    _fails(lambda: buyer.organisation(424242), 404, "unknown organisation id")
    _fails(lambda: buyer.organisation("No Such Org"), 404, "unknown organisation")
    _fails(lambda: buyer.organisation("9" * 40), 404)
    _fails(lambda: buyer.order_action(424242, "confirm"), 404)


def test_contract_guards_are_409_with_the_reason(net: Net, tmp_path: Path) -> None:
    w = net.world
    assert w.attestor is not None
    prepared = publishing.prepare(w.seller, write_table(tmp_path / "t.csv"))
    token_id, _, _ = publishing.publish(w.contracts, w.seller, prepared, w.attestor)
    listing_id, _ = market.list_dataset(w.contracts, w.seller, token_id, ETHER)

    http = net.http["buyer"]
    auth = {"Authorization": f"Bearer {net.client('buyer').token()}"}
    wrong = http.post("/orders", json={"listing_id": listing_id, "value_wei": ETHER - 1}, headers=auth)
    assert wrong.status_code == 409
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "market: wrong value",
        "function": "buy",
    }
    _fails(lambda: net.client("seller").buy(listing_id), 409, "market: own listing")
    _fails(lambda: net.client("buyer").register_organisation("Another Org"), 409, "registry:")
    _fails(lambda: net.client("seller").list_offer(token_id, ETHER), 403, "not token owner")  # checked before any tx


def test_novelty_refused_is_409_with_the_matching_dataset(net: Net, tmp_path: Path) -> None:
    seller = net.client("seller")
    data = write_table(tmp_path / "same.csv")
    first = seller.publish(data, name="Original")
    http = net.http["seller"]
    with data.open("rb") as fh:
        again = http.post(
            "/datasets",
            files={"file": ("copy.csv", fh)},
            headers={"Authorization": f"Bearer {seller.token()}"},
        )
    assert again.status_code == 409
    assert again.json()["matching_token_id"] == first["token_id"]
    assert "refused" in again.json()["detail"]


def test_bad_input_is_rejected_not_crashed(net: Net, tmp_path: Path) -> None:
    http = net.http["seller"]
    auth = {"Authorization": f"Bearer {net.client('seller').token()}"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/orders/0", {}),
        ("GET", "/orders/-1", {}),
        ("GET", "/orders/abc", {}),
        ("GET", f"/offers/{2**64}", {}),
        ("GET", "/datasets", {"params": {"owner": "0x123"}}),
        ("GET", "/datasets", {"params": {"limit": 0}}),
        ("GET", "/datasets", {"params": {"limit": 201}}),
        ("GET", "/datasets", {"params": {"min_price": -1}}),
        ("GET", "/datasets", {"params": {"q": "a\x00b"}}),
        ("GET", "/datasets", {"params": {"sale_kind": "lease"}}),
        ("POST", "/offers", {"json": {"token_id": 1, "price_wei": 0}}),
        ("POST", "/offers", {"json": {"token_id": 1, "price_wei": 2**256}}),
        ("POST", "/offers", {"json": {"token_id": 1, "price_wei": 1, "extra": True}}),
        ("POST", "/offers", {"json": {"token_id": 1, "price_wei": 1, "collateral_wei": -1}}),
        ("POST", "/offers", {"json": {"token_id": 1, "price_wei": 1, "payment_token": "0x123"}}),
        ("POST", "/withdrawals", {"json": {"payment_token": "ether"}}),
        ("GET", "/datasets", {"params": {"pricing": "barter"}}),
        ("POST", "/orders", {"json": {"listing_id": "one"}}),
        ("POST", "/organisations", {"json": {"name": ""}}),
        ("POST", "/organisations", {"json": {"name": "x" * 65}}),
        ("POST", "/organisations/1/status", {"json": {"status": "approved"}}),
        ("POST", "/orders/1/receive", {"json": {"seller_url": "not a url"}}),
    ]
    for method, path, kwargs in cases:
        response = http.request(method, path, headers=auth, **kwargs)
        assert response.status_code == 422, (method, path, kwargs, response.status_code, response.text)
        assert "detail" in response.json()

    supervisor = {"Authorization": f"Bearer {net.client('supervisor').token()}"}
    for params in ({"format": "xml"}, {"account": "0xabc"}, {"token_id": 0}):
        assert net.http["supervisor"].get("/audit", params=params, headers=supervisor).status_code == 422

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _fails(lambda: net.client("seller").publish(empty), 422, "empty")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    _fails(lambda: net.client("seller").publish(broken), 422, "not a readable image")

    settings = net.apps["seller"].state.settings
    net.apps["seller"].state.settings = settings.model_copy(update={"max_upload_bytes": 100})
    _fails(lambda: net.client("seller").publish(write_table(tmp_path / "big.csv")), 413, "exceeds 100 bytes")

    platform = net.http["platform"]
    token = net.client("platform", as_="seller").token()
    published = platform.post(
        "/attestations/published",
        json={"fingerprint": "zz", "token_id": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert published.status_code == 422
    as_json = platform.post("/attestations", json={"a": 1}, headers={"Authorization": f"Bearer {token}"})
    assert as_json.status_code == 415
    huge = platform.post(
        "/attestations",
        content=b"\x00" * (65 * 1024),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
    )
    assert huge.status_code == 413


def test_a_node_without_a_platform_cannot_publish(net: Net, tmp_path: Path) -> None:
    _fails(lambda: net.client("supervisor").publish(write_table(tmp_path / "s.csv")), 503, "DATAGORA_PLATFORM_URL")
