"""A member's tier computed by three nodes over their HTTP APIs (in one process, each node its own app; each
node still starts its own MPyC party process, TLS between them): the brand's node (seller) proposes with its
input A, the platform's node (buyer) accepts with B, the MPC platform's node (platform) accepts by its policy;
each node signs the result and the proposer posts it with the three signatures. Also: what the routes refuse."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from datagora.api.client import NodeClient, RemoteError
from datagora.mpc.points import plain_result
from datagora.services import points
from tests.kits.node_fixtures import EMBEDDED, Net, base_url

pytestmark = EMBEDDED

PARTY_NODES = ("seller", "buyer", "platform")
"""Nodes playing the brand, the e-commerce platform and the MPC platform."""


def refused(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value.status, caught.value.detail


def brand(net: Net) -> int:
    w = net.world
    parties = [net.participant(n).address for n in PARTY_NODES]
    brand_id, _ = points.register_brand(w.contracts, w.platform.account, "Cufflinks & Co", w.seller.address, parties)
    return brand_id


def wait_for(client: NodeClient, computation: str, statuses: set[str], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        c: dict[str, Any] = client.json("GET", f"/points/computations/{computation}")
        if c["status"] in statuses or time.monotonic() > deadline:
            return c
        time.sleep(0.05)


def test_three_nodes_compute_sign_and_post_a_tier(net: Net) -> None:
    w = net.world
    b = brand(net)
    mallory = w.outsider.address  # the member: not a party
    brand_node, platform_node = net.client("seller"), net.client("buyer")
    urls = [base_url(n) for n in PARTY_NODES]
    proposed = brand_node.json(
        "POST", f"/points/{b}/computations", json={"member": mallory, "parties": urls, "points": 2600}
    )
    assert proposed["role"] == "brand" and proposed["status"] == "accepted"
    cid = proposed["id"]
    invited = wait_for(platform_node, cid, {"invited"})
    assert invited["role"] == "e-commerce platform" and invited["proposer"] == "brand"
    helper = wait_for(net.client("platform"), cid, {"accepted"})  # the MPC platform accepted by its policy
    assert helper["parties"][2]["accepted"]
    platform_node.json("POST", f"/points/computations/{cid}/accept", json={"points": 3200})
    done = wait_for(brand_node, cid, {"posted", "failed"})
    expected = plain_result(2600, 3200)
    assert done["status"] == "posted", done
    assert (done["score"], done["tier"], done["tier_name"]) == (expected.score, expected.tier, "gold")
    assert all(p["signed"] for p in done["parties"])
    standing = points.standing(w.contracts, b, mallory)
    assert (standing.tier, standing.score, standing.updates) == (expected.tier, expected.score, 1)
    others = [wait_for(net.client(n), cid, {"posted", "failed"}) for n in ("buyer", "platform")]
    assert [o["status"] for o in others] == ["posted", "posted"]
    assert {o["tx_hash"] for o in others} == {done["tx_hash"]}
    # no answer of any node carries an input
    for n in PARTY_NODES:
        text = str(net.client(n).json("GET", "/points/computations"))
        # whole numbers only: a step's time (e.g. 1796323200.84) may contain the digits
        assert not re.search(r"(?<![\d.])(2600|3200)(?![\d.])", text), text


def test_tier_routes_refuse_what_they_must(net: Net) -> None:
    w = net.world
    b = brand(net)
    urls = [base_url(n) for n in PARTY_NODES]
    body = {"member": w.buyer.address, "parties": urls, "points": 10}
    seller = net.client("seller")
    # not the node's operator, not a party, bad input, unknown brand, unknown computation
    assert (
        refused(lambda: net.client("seller", as_="buyer").json("POST", f"/points/{b}/computations", json=body))[0]
        == 403
    )
    assert refused(lambda: net.client("supervisor").json("POST", f"/points/{b}/computations", json=body))[0] == 403
    assert refused(lambda: seller.json("POST", f"/points/{b}/computations", json={**body, "points": -1}))[0] == 422
    too_many = {**body, "points": 10_000_001}
    assert refused(lambda: seller.json("POST", f"/points/{b}/computations", json=too_many))[0] == 422
    assert refused(lambda: seller.json("POST", f"/points/{b}/computations", json={**body, "points": None}))[0] == 422
    helper_input = {**body, "points": 5}
    assert refused(lambda: net.client("platform").json("POST", f"/points/{b}/computations", json=helper_input)) == (
        422,
        "the MPC platform's node has no input to give",
    )
    assert (
        refused(lambda: seller.json("POST", f"/points/{b}/computations", json={**body, "parties": urls[:2]}))[0] == 422
    )
    assert refused(lambda: seller.json("POST", "/points/999/computations", json=body)) == (404, "no brand #999")
    assert refused(lambda: seller.json("GET", f"/points/computations/{'0' * 32}"))[0] == 404
    assert refused(lambda: seller.json("GET", "/points/computations/nothex"))[0] == 422
    # a peer message from an account that is not the party it names
    forged = {"id": "a" * 32, "brand": b, "member": w.buyer.address, "proposer": 0, "urls": urls}
    assert (
        refused(lambda: net.client("buyer", as_="supervisor").json("POST", "/points/peer/invite", json=forged))[0]
        == 403
    )
    ready = {"id": "a" * 32, "index": 0, "endpoint": "127.0.0.1:1", "ca_pem": "not a certificate"}
    assert refused(lambda: net.client("buyer", as_="seller").json("POST", "/points/peer/ready", json=ready))[0] == 422


def test_a_forged_or_misdirected_report_is_refused_and_nothing_is_posted(net: Net) -> None:
    from eth_account import Account

    from datagora.crypto.eip712 import sign_typed_data

    w = net.world
    b = brand(net)
    member = w.outsider.address
    urls = [base_url(n) for n in PARTY_NODES]
    cid = net.client("seller").json(
        "POST", f"/points/{b}/computations", json={"member": member, "parties": urls, "points": 1}
    )["id"]
    typed = points.tier_attestation(w.chain.chain_id, w.contracts.points.address, b, member, 3, 150_000, 0)
    report = {"id": cid, "index": 1, "score": 150_000, "tier": 3, "nonce": 0}
    forged = "0x" + sign_typed_data(bytes(Account.create().key), typed).hex()
    as_buyer = net.client("seller", as_="buyer")
    assert refused(lambda: as_buyer.json("POST", "/points/peer/report", json={**report, "signature": forged})) == (
        422,
        "the signature is not the reporting party's",
    )
    genuine = "0x" + sign_typed_data(w.buyer.private_key, typed).hex()
    as_supervisor = net.client("seller", as_="supervisor")
    claimed = {**report, "signature": genuine}
    assert refused(lambda: as_supervisor.json("POST", "/points/peer/report", json=claimed))[0] == 403
    # a genuine signature before the parties even started is refused; nothing is posted
    assert refused(lambda: as_buyer.json("POST", "/points/peer/report", json=claimed)) == (
        409,
        "the computation is accepted, not running: no result to report",
    )
    c = net.client("seller").json("GET", f"/points/computations/{cid}")
    assert c["status"] == "accepted" and [p["signed"] for p in c["parties"]] == [False, False, False]
    assert w.contracts.points.member_tier(b, member).nonce == 0
    assert refused(lambda: as_buyer.json("POST", "/points/peer/report", json={**claimed, "id": "b" * 32}))[0] == 404
