"""Disputes and deadlines through the platform node's HTTP API (Wu et al. section III.A step 22, IV.A.3-5): the
step-22 check disputes an order whose notices disagree; the seller re-uploads ``E_PkP(D')``
(``PUT /relay/{id}/reupload``), the buyer may disclose the delivered data key (``POST /relay/{id}/disclosure``),
the platform's operator arbitrates (``POST /disputes/{id}/arbitrate``) and the buyer downloads the platform's copy
(``GET /disputes/{id}/copy``); deadlines are enforced by ``POST /deadlines/enforce``. Every refusal leaves the
chain alone."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from datagora.api.client import NodeClient, RemoteError
from datagora.crypto.ecies import encrypt_to
from datagora.crypto.envelope import decrypt_file, encrypt_file
from datagora.crypto.hashing import sha256_file
from datagora.services import disputes, publishing, relay
from tests.kits.node_fixtures import EMBEDDED, Net, base_url
from tests.world import ETHER, write_table

pytestmark = EMBEDDED

PRICE = ETHER // 10
DAY = 86_400


def relayed_order(net: Net, tmp_path: Path, *, honest: bool = True) -> tuple[int, Path]:
    """A dataset published by the seller's node, bought by the buyer's node and delivered through the platform's
    relay, with the seller's "sent" notice carrying f_S. ``honest`` false: the seller sends another table than the
    one it published. Returns the order id and the published table."""
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    data = write_table(tmp_path / "sold.csv", rows=300)
    token_id = seller.publish(data, name="Sold table", domain="misc")["token_id"]
    listing_id = seller.list_offer(token_id, PRICE)["offer"]["listing_id"]
    order_id = buyer.buy(listing_id)["order"]["order_id"]
    if honest:
        seller.order_action(order_id, "deliver", {"relay_url": base_url("platform")})
    else:
        other = write_table(tmp_path / "other.csv", rows=300)
        cipher = tmp_path / "other.dge"
        encrypt_file(other, cipher, {w.buyer.address: w.contracts.registry.public_key(w.buyer.address)})
        w.contracts.market.deliver(w.seller.account, order_id, bytes.fromhex(w.seller.store.put_file(cipher)))
        relay.send_through_relay(w.contracts, w.seller, order_id, net.client("platform", as_="seller"))
    return order_id, data


def received_notice(net: Net, tmp_path: Path, order_id: int, fingerprint_of: Path | None = None) -> Path:
    """The buyer downloads the relayed ciphertext and posts its "received" notice with the fingerprint of what it
    decrypted (or of ``fingerprint_of``: a lying buyer). Returns the ciphertext."""
    w = net.world
    at_platform = net.client("platform", as_="buyer")
    cipher = tmp_path / f"got-{order_id}.dge"
    at_platform.download_relayed(order_id, cipher, expected_sha256=w.contracts.market.order(order_id).delivery_hash)
    plain = tmp_path / f"got-{order_id}.csv"
    decrypt_file(cipher, plain, w.buyer.private_key)
    fingerprint = publishing.fingerprint_of(fingerprint_of or plain)
    relay.report_received(w.contracts, w.buyer, order_id, sha256_file(cipher), at_platform, fingerprint=fingerprint)
    return cipher


def reupload(net: Net, tmp_path: Path, order_id: int) -> dict[str, object]:
    w = net.world
    out = disputes.reupload_for_arbitration(w.contracts, w.seller, order_id, tmp_path / f"reupload-{order_id}.dge")
    with out.open("rb") as fh:
        return net.client("platform", as_="seller").reupload(order_id, fh, out.stat().st_size)


def test_lying_buyer_is_caught_and_the_seller_paid(net: Net, tmp_path: Path) -> None:
    w = net.world
    platform = net.client("platform")
    order_id, data = relayed_order(net, tmp_path)
    assert platform.check_delivery(order_id)["action"] == "wait"  # no "received" notice yet
    received_notice(net, tmp_path, order_id, fingerprint_of=write_table(tmp_path / "decoy.csv", rows=300))

    checked = platform.check_delivery(order_id)  # step 22: f_B is not f_S
    assert (checked["action"], checked["consistent"]) == ("dispute", False)
    assert checked["tx"]["gas_used"] > 0 and checked["order"]["state"] == "disputed"

    held = reupload(net, tmp_path, order_id)
    assert held["uploaded_by"] == w.seller.address and int(str(held["size"])) > data.stat().st_size
    owed = w.contracts.market.pending_withdrawal(w.seller.address)
    ruling = platform.arbitrate(order_id)
    assert (ruling["ruling"], ruling["seller_honest"], ruling["content_match"]) == ("for-seller", True, True)
    assert ruling["similarity"] == pytest.approx(1.0) and ruling["transmitted_ok"] is None
    assert (
        ruling["order"]["state"] == "completed"
        and w.contracts.catalog.owner_of(
            w.contracts.market.listing(w.contracts.market.order(order_id).listing_id).token_id
        )
        == w.buyer.address
    )
    fee = PRICE * w.contracts.market.fee_bps() // 10_000
    assert w.contracts.market.pending_withdrawal(w.seller.address) - owed == PRICE - fee + 2 * PRICE  # both collaterals

    # the buyer's copy E_PkB(D') waits on the platform's node, for the buyer only
    copy = ruling["buyer_copy"]
    assert copy is not None
    for who in ("seller", "outsider"):
        with pytest.raises(RemoteError) as denied:
            net.client("platform", as_=who).download_copy(order_id, tmp_path / f"{who}.dge")
        assert denied.value.status == 403
    got = net.client("platform", as_="buyer").download_copy(
        order_id, tmp_path / "copy.dge", expected_sha256=bytes.fromhex(copy["sha256"][2:])
    )
    decrypt_file(got, tmp_path / "copy.csv", w.buyer.private_key)
    assert (tmp_path / "copy.csv").read_bytes() == data.read_bytes()

    with pytest.raises(RemoteError) as again:  # settled: nothing left to arbitrate
        platform.arbitrate(order_id)
    assert again.value.status == 422 and "not disputed" in again.value.detail


def test_seller_who_sent_other_data_is_caught_by_the_disclosed_key(net: Net, tmp_path: Path) -> None:
    w = net.world
    platform = net.client("platform")
    order_id, _ = relayed_order(net, tmp_path, honest=False)
    cipher = received_notice(net, tmp_path, order_id)
    assert platform.check_delivery(order_id)["action"] == "dispute"

    key = disputes.disclose_received_key(w.contracts, w.buyer, order_id, cipher)
    disclosed = net.client("platform", as_="buyer").disclose(order_id, key)
    assert disclosed["disclosed_by"] == w.buyer.address
    reupload(net, tmp_path, order_id)  # the seller does hold the real data
    owed = w.contracts.market.pending_withdrawal(w.buyer.address)
    ruling = platform.arbitrate(order_id)
    assert (ruling["ruling"], ruling["content_match"], ruling["transmitted_ok"]) == ("redelivered", True, False)
    assert ruling["buyer_copy"] is not None
    assert w.contracts.market.pending_withdrawal(w.buyer.address) - owed == 2 * PRICE  # both collaterals


def test_dispute_evidence_and_rulings_are_refused_to_the_wrong_parties(net: Net, tmp_path: Path) -> None:
    w = net.world
    chain = w.chain
    order_id, _ = relayed_order(net, tmp_path)
    as_seller, as_buyer = net.client("platform", as_="seller"), net.client("platform", as_="buyer")

    def status(call: object) -> tuple[int, str]:
        with pytest.raises(RemoteError) as caught:
            assert callable(call)
            call()
        return caught.value.status, caught.value.detail

    blob = io.BytesIO(b"x" * 64)
    assert status(lambda: as_seller.reupload(order_id, blob, 64))[0] == 422  # not disputed yet
    received_notice(net, tmp_path, order_id, fingerprint_of=write_table(tmp_path / "decoy.csv", rows=300))
    before = chain.block_number()
    for who in ("seller", "buyer", "outsider"):  # only the platform's operator makes the platform act
        client = net.client("platform", as_=who)
        for call in (
            lambda c=client: c.check_delivery(order_id),
            lambda c=client: c.arbitrate(order_id),
            lambda c=client: c.enforce_deadlines(),
        ):
            code, detail = status(call)
            assert code == 403 and "operator" in detail, (who, detail)
    seller_node: NodeClient = net.client("seller")
    for absent in (  # not the platform: the routes do not exist there
        lambda: seller_node.check_delivery(order_id),
        lambda: seller_node.arbitrate(order_id),
        lambda: seller_node.enforce_deadlines(),
        lambda: seller_node.reupload(order_id, io.BytesIO(b"x"), 1),
    ):
        assert status(absent)[0] == 404
    assert chain.block_number() == before

    assert net.client("platform").check_delivery(order_id)["action"] == "dispute"
    assert status(lambda: net.client("platform").arbitrate(order_id)) == (
        409,
        f"the seller of order {order_id} has not re-uploaded its data (PUT /relay/{order_id}/reupload, "
        "`datagora reupload`)",
    )
    code, detail = status(lambda: as_buyer.reupload(order_id, io.BytesIO(b"x" * 64), 64))
    assert code == 403 and "only the seller" in detail
    code, detail = status(lambda: as_seller.reupload(order_id, io.BytesIO(b"x" * 64), 64))
    assert code == 422 and "not data encrypted to the platform" in detail
    to_buyer = tmp_path / "to-buyer.dge"  # a real envelope, but for the buyer: the platform cannot read it
    encrypt_file(
        write_table(tmp_path / "x.csv"), to_buyer, {w.buyer.address: w.contracts.registry.public_key(w.buyer.address)}
    )
    code, detail = status(lambda: as_seller.reupload(order_id, to_buyer.open("rb"), to_buyer.stat().st_size))
    assert code == 422 and "not data encrypted to the platform" in detail
    raw = net.http["platform"].put(
        f"/relay/{order_id}/reupload", content=b"x", headers={"Authorization": f"Bearer {as_seller.token()}"}
    )
    assert raw.status_code == 415

    platform_key = w.contracts.registry.public_key(w.platform.address)
    code, detail = status(lambda: as_seller.disclose(order_id, encrypt_to(platform_key, bytes(32))))
    assert code == 403 and "only the buyer" in detail
    code, detail = status(lambda: as_buyer.disclose(order_id, b"\x01" * 200))
    assert code == 422 and "not encrypted to the platform" in detail
    code, detail = status(lambda: as_buyer.disclose(order_id, encrypt_to(platform_key, bytes(32))))
    assert code == 422 and "does not open the delivered ciphertext" in detail
    assert status(lambda: as_buyer.disclose(order_id, encrypt_to(platform_key, b"short")))[0] == 422
    assert status(lambda: as_buyer.download_copy(order_id, tmp_path / "none.dge"))[0] == 404  # no ruling yet
    assert status(lambda: net.client("platform").arbitrate(10**6))[0] == 404
    assert chain.block_number() == before + 1  # only the dispute itself


def test_deadlines_enforced_by_the_platform(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer, platform = net.client("seller"), net.client("buyer"), net.client("platform")
    token_id = seller.publish(write_table(tmp_path / "late.csv"), name="Never delivered")["token_id"]
    order_id = buyer.buy(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])["order"]["order_id"]
    assert platform.enforce_deadlines() == {"count": 0, "actions": []}
    w.chain.advance_time(DAY + 1)
    owed = w.contracts.market.pending_withdrawal(w.buyer.address)
    done = platform.enforce_deadlines(first_order=order_id)
    assert [(a["order_id"], a["action"]) for a in done["actions"]] == [(order_id, "refund")]
    assert w.contracts.market.order(order_id).state.name == "REFUNDED"
    assert w.contracts.market.pending_withdrawal(w.buyer.address) - owed == 3 * PRICE  # price and both collaterals
    assert platform.enforce_deadlines()["count"] == 0
