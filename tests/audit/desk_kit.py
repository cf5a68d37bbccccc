"""Helpers for the desks' tests: calls to the desk routes as a given participant, and a disputed order relayed
through the platform (the seller's data published, sold, delivered through the relay, the buyer's "received"
notice carrying another table's fingerprint, and the platform's step-22 check disputing it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from datagora.crypto.envelope import decrypt_file, encrypt_file
from datagora.crypto.hashing import sha256_file
from datagora.services import disputes, publishing, relay
from tests.kits.node_fixtures import Net, base_url
from tests.world import ETHER, write_table

PRICE = ETHER // 10


def call(net: Net, node: str, method: str, path: str, *, as_: str | None = None, **kwargs: Any) -> httpx.Response:
    """``method path`` on ``node``'s API signed in as ``as_`` (default: the node's operator)."""
    token = net.client(node, as_).token()
    response: httpx.Response = net.http[node].request(
        method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )
    return response


def disputed_order(net: Net, tmp_path: Path) -> tuple[int, int, Path]:
    """An order the platform disputed at step 22 because the buyer reported another table's fingerprint.
    Returns the order id, the dataset's token id and the published table."""
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    data = write_table(tmp_path / "sold.csv", rows=300)
    token_id = seller.publish(data, name="Sold table", domain="misc")["token_id"]
    listing_id = seller.list_offer(token_id, PRICE)["offer"]["listing_id"]
    order_id = buyer.buy(listing_id)["order"]["order_id"]
    seller.order_action(order_id, "deliver", {"relay_url": base_url("platform")})
    at_platform = net.client("platform", as_="buyer")
    cipher = tmp_path / f"got-{order_id}.dge"
    at_platform.download_relayed(order_id, cipher, expected_sha256=w.contracts.market.order(order_id).delivery_hash)
    decrypt_file(cipher, tmp_path / f"got-{order_id}.csv", w.buyer.private_key)
    decoy = publishing.fingerprint_of(write_table(tmp_path / "decoy.csv", rows=300))
    relay.report_received(w.contracts, w.buyer, order_id, sha256_file(cipher), at_platform, fingerprint=decoy)
    assert net.client("platform").check_delivery(order_id)["action"] == "dispute"
    return order_id, token_id, data


def reupload(net: Net, tmp_path: Path, order_id: int) -> None:
    """The seller re-uploads its copy of the dataset, encrypted to the platform."""
    w = net.world
    out = disputes.reupload_for_arbitration(w.contracts, w.seller, order_id, tmp_path / f"reupload-{order_id}.dge")
    with out.open("rb") as fh:
        net.client("platform", as_="seller").reupload(order_id, fh, out.stat().st_size)


def disputed_after_false_delivery(net: Net, tmp_path: Path) -> int:
    """An order whose seller delivered another table than the one it published (relayed through the platform);
    the buyer reports what it received, the step-22 check disputes it, the buyer discloses the delivered data key
    and the seller re-uploads the real data. Returns the order id."""
    w = net.world
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = seller.publish(write_table(tmp_path / "real.csv", rows=300), name="Real", domain="misc")["token_id"]
    order_id = buyer.buy(seller.list_offer(token_id, PRICE)["offer"]["listing_id"])["order"]["order_id"]
    cipher = tmp_path / "other.dge"
    encrypt_file(
        write_table(tmp_path / "other.csv", rows=300),
        cipher,
        {w.buyer.address: w.contracts.registry.public_key(w.buyer.address)},
    )
    w.contracts.market.deliver(w.seller.account, order_id, bytes.fromhex(w.seller.store.put_file(cipher)))
    relay.send_through_relay(w.contracts, w.seller, order_id, net.client("platform", as_="seller"))
    at_platform = net.client("platform", as_="buyer")
    got = tmp_path / f"got-{order_id}.dge"
    at_platform.download_relayed(order_id, got, expected_sha256=w.contracts.market.order(order_id).delivery_hash)
    decrypt_file(got, tmp_path / "got.csv", w.buyer.private_key)
    fingerprint = publishing.fingerprint_of(tmp_path / "got.csv")
    relay.report_received(w.contracts, w.buyer, order_id, sha256_file(got), at_platform, fingerprint=fingerprint)
    assert net.client("platform").check_delivery(order_id)["action"] == "dispute"
    at_platform.disclose(order_id, disputes.disclose_received_key(w.contracts, w.buyer, order_id, got))
    reupload(net, tmp_path, order_id)
    return int(order_id)
