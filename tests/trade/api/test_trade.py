"""A whole trade through the HTTP API of four separate node apps in one process on the embedded chain: the
seller's node publishes (attestation from the platform's node over HTTP) and lists, the buyer's node searches
and pays, the seller's node delivers, the buyer's node fetches the ciphertext from the seller's node (Range,
resumable), decrypts and confirms, both withdraw, and the supervisor's node exports the audit trail."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from datagora.api.client import RemoteError
from datagora.chain.bindings.tokens import TokensBinding
from tests.kits.node_fixtures import EMBEDDED, Net
from tests.world import ETHER, write_table

pytestmark = EMBEDDED

PRICE = ETHER // 4


def test_full_trade_between_nodes(net: Net, tmp_path: Path) -> None:
    w = net.world
    seller, buyer, platform, supervisor = (net.client(n) for n in ("seller", "buyer", "platform", "supervisor"))
    data = write_table(tmp_path / "income.csv", rows=200)

    published = seller.publish(data, name="Regional income survey", domain="finance")
    token_id = published["token_id"]
    assert published["content_hash"] == "0x" + hashlib.sha256(data.read_bytes()).hexdigest()
    assert published["attester"] == w.platform.address
    # the platform's node bound the attested fingerprint to the minted dataset (POST /attestations/published)
    assert [row["token_id"] for row in w.attestor.table()] == [token_id]  # type: ignore[union-attr]

    offer = seller.list_offer(token_id, PRICE)["offer"]
    assert offer["state"] == "active" and offer["seller"] == w.seller.address
    assert (offer["kind"], offer["pricing"], offer["collateral_wei"], offer["payment_token"]) == (
        "ownership",
        "fixed",
        PRICE,  # the default double deposit: 100 % of the price
        "0x" + "0" * 40,
    )

    found = buyer.search(q="income survey", domain="finance", max_price=ETHER)
    assert [(h["token_id"], h["listing_id"], h["price_wei"], h["pricing"]) for h in found["hits"]] == [
        (token_id, offer["listing_id"], PRICE, "fixed")
    ]
    assert buyer.search(q="no such words")["total"] == 0
    detail = buyer.dataset(token_id)
    assert detail["owner"] == w.seller.address and detail["attributes"] == "id,age,income,region"
    assert detail["fingerprint_commitment"].startswith("0x") and len(detail["dcat_hash"]) == 66
    assert buyer.offer(offer["listing_id"])["price_wei"] == PRICE

    paid = buyer.buy(offer["listing_id"])
    order_id = paid["order"]["order_id"]
    assert paid["order"]["state"] == "paid" and paid["order"]["buyer"] == w.buyer.address
    fee = PRICE * w.contracts.market.fee_bps() // 10_000
    assert {k: paid["order"][k] for k in ("kind", "amount_wei", "collateral_wei", "fee_wei", "queries_total")} == {
        "kind": "ownership",
        "amount_wei": PRICE,
        "collateral_wei": PRICE,
        "fee_wei": fee,
        "queries_total": 0,
    }

    with pytest.raises(RemoteError) as early:  # nothing to fetch before delivery
        buyer.order_action(order_id, "receive", {"seller_url": "http://seller.test"})
    assert early.value.status == 422

    delivered = seller.order_action(order_id, "deliver")
    assert delivered["order"]["state"] == "delivered"
    assert delivered["order"]["delivery_hash"] == delivered["delivery_hash"]

    received = buyer.order_action(order_id, "receive", {"seller_url": "http://seller.test"})
    assert received["content_hash"] == published["content_hash"]
    assert (w.buyer.home / "received" / received["stored_as"]).read_bytes() == data.read_bytes()

    confirmed = buyer.order_action(order_id, "confirm")
    assert confirmed["order"]["state"] == "completed"
    assert w.contracts.catalog.owner_of(token_id) == w.buyer.address
    assert buyer.dataset(token_id)["owner"] == w.buyer.address  # the index followed the transfer

    assert seller.withdraw()["amount_wei"] == 2 * PRICE - fee  # the price less the fee and its collateral
    assert buyer.withdraw()["amount_wei"] == PRICE  # its collateral
    assert platform.withdraw()["amount_wei"] == fee
    with pytest.raises(RemoteError) as nothing:
        seller.withdraw()
    assert nothing.value.status == 422 and "nothing to withdraw" in nothing.value.detail

    trail = supervisor.audit()
    actions = [r["action"] for r in trail["records"]]
    assert trail["count"] == len(actions)
    for event in ("OrganisationRegistered", "StatusChanged", "DatasetPublished", "Listed", "OrderPaid"):
        assert event in actions
    assert actions.index("OrderPaid") < actions.index("Delivered") < actions.index("Settled")
    assert actions.count("Withdrawn") == 3


def _delivered(net: Net, tmp_path: Path) -> tuple[int, bytes]:
    """A paid and delivered order (set up through the services); returns its id and the ciphertext."""
    from datagora.services import market, publishing

    w = net.world
    assert w.attestor is not None
    prepared = publishing.prepare(w.seller, write_table(tmp_path / "d.csv", rows=400), name="Delivery test")
    token_id, _, _ = publishing.publish(w.contracts, w.seller, prepared, w.attestor)
    listing_id, _ = market.list_dataset(w.contracts, w.seller, token_id, PRICE)
    order_id, _ = market.buy(w.contracts, w.buyer, listing_id)
    delivery = market.deliver(w.contracts, w.seller, order_id)
    return order_id, delivery.path.read_bytes()


def test_ciphertext_only_for_the_buyer(net: Net, tmp_path: Path) -> None:
    order_id, ciphertext = _delivered(net, tmp_path)
    http = net.http["seller"]
    url = f"/deliveries/{order_id}"

    anonymous = http.get(url)
    assert anonymous.status_code == 401 and anonymous.content == b""
    assert anonymous.headers["www-authenticate"] == "Bearer"
    bogus = http.get(url, headers={"Authorization": "Bearer forged"})
    assert bogus.status_code == 401 and bogus.content == b""
    for who in ("outsider", "seller", "platform"):  # signed in, but not the buyer: not even the seller
        token = net.client("seller", as_=who).token()
        denied = http.get(url, headers={"Authorization": f"Bearer {token}", "Range": "bytes=0-99"})
        assert denied.status_code == 403 and denied.content == b"", who
        assert "buyer" in denied.headers["x-datagora-error"]

    auth = {"Authorization": f"Bearer {net.client('seller', as_='buyer').token()}"}
    whole = http.get(url, headers=auth)
    assert whole.status_code == 200 and whole.content == ciphertext
    assert whole.headers["accept-ranges"] == "bytes"
    etag = whole.headers["etag"]
    assert etag == f'"{hashlib.sha256(ciphertext).hexdigest()}"'
    assert net.world.contracts.market.order(order_id).delivery_hash == hashlib.sha256(ciphertext).digest()

    first = http.get(url, headers={**auth, "Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == ciphertext[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(ciphertext)}"
    rest = http.get(url, headers={**auth, "Range": "bytes=100-", "If-Range": etag})
    assert rest.status_code == 206 and first.content + rest.content == ciphertext
    tail = http.get(url, headers={**auth, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == ciphertext[-10:]
    changed = http.get(url, headers={**auth, "Range": "bytes=100-", "If-Range": '"other"'})
    assert changed.status_code == 200 and changed.content == ciphertext  # validator differs: whole file
    beyond = http.get(url, headers={**auth, "Range": f"bytes={len(ciphertext)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(ciphertext)}"

    # the buyer's node holds no copy to serve; an unknown order is 404 before any identity check on the order
    assert (
        net.http["buyer"].get(url, headers={"Authorization": f"Bearer {net.client('buyer').token()}"}).status_code
        == 404
    )
    assert http.get("/deliveries/999", headers=auth).status_code == 404


def test_download_resumes_from_a_partial_file(net: Net, tmp_path: Path) -> None:
    order_id, ciphertext = _delivered(net, tmp_path)
    client = net.client("seller", as_="buyer")
    dest = tmp_path / "got" / "order.dge"
    dest.parent.mkdir()
    dest.with_name("order.dge.part").write_bytes(ciphertext[:1000])  # an interrupted earlier download
    digest = hashlib.sha256(ciphertext).digest()
    assert client.download_delivery(order_id, dest, expected_sha256=digest).read_bytes() == ciphertext
    assert not dest.with_name("order.dge.part").exists()

    dest.with_name("order.dge.part").write_bytes(b"garbage" * 10)  # a corrupt part: the check refuses it
    with pytest.raises(RemoteError, match="does not match"):
        client.download_delivery(order_id, tmp_path / "got" / "bad.dge", expected_sha256=b"\x00" * 32)


def test_audit_export_csv_and_json_with_filters(net: Net, tmp_path: Path) -> None:
    order_id, _ = _delivered(net, tmp_path)
    w = net.world
    supervisor = net.client("supervisor")
    token_id = w.contracts.market.listing(w.contracts.market.order(order_id).listing_id).token_id

    everything = supervisor.audit()
    text = supervisor.audit(format="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == everything["count"] > 0
    assert list(rows[0]) == ["block_number", "timestamp", "tx_hash", "contract", "action", "actor", "detail"]
    assert [r["tx_hash"] for r in rows] == [r["tx_hash"] for r in everything["records"]]
    raw = net.http["supervisor"].get(
        "/audit", params={"format": "csv"}, headers={"Authorization": f"Bearer {supervisor.token()}"}
    )
    assert raw.headers["content-type"].startswith("text/csv")
    assert "attachment" in raw.headers["content-disposition"]

    of_token = supervisor.audit(token_id=token_id)["records"]
    assert [r["action"] for r in of_token] == ["DatasetPublished", "Listed", "OrderPaid", "Delivered"]
    of_buyer = supervisor.audit(account=w.buyer.address)["records"]
    assert {r["action"] for r in of_buyer} == {"OrganisationRegistered", "MemberJoined", "OrderPaid"}
    of_org = supervisor.audit(organisation_id=w.orgs["seller"])["records"]
    assert {"OrganisationRegistered", "MemberJoined", "StatusChanged", "DatasetPublished", "Delivered"} <= {
        r["action"] for r in of_org
    }
    assert all(r["action"] != "OrderPaid" for r in of_org)  # paid by a member of another organisation
    both = supervisor.audit(token_id=token_id, account=w.buyer.address, format="csv")
    assert [r["action"] for r in csv.DictReader(io.StringIO(both))] == ["OrderPaid"]


def test_trade_paid_in_an_erc20(net: Net, tmp_path: Path) -> None:
    """A listing priced in an ERC-20: the seller's node approves the token for its collateral, the buyer's node
    for the price and its collateral; withdrawals name the token."""

    w = net.world
    token = TokensBinding.deploy_demo(w.chain, w.platform.account)
    for who in (w.seller, w.buyer):
        w.contracts.tokens.mint(w.platform.account, token, who.address, 10 * ETHER)
    seller, buyer = net.client("seller"), net.client("buyer")
    token_id = seller.publish(write_table(tmp_path / "t.csv"), name="Token priced")["token_id"]
    offer = seller.list_offer(token_id, PRICE, collateral_wei=PRICE // 2, payment_token=token)["offer"]
    assert (offer["payment_token"], offer["collateral_wei"]) == (token, PRICE // 2)
    hit = buyer.search(q="token priced")["hits"][0]
    assert hit["payment_token"] == token
    assert buyer.search(q="token priced", max_price=10 * ETHER)["total"] == 0  # price filters are in ether

    order = buyer.buy(offer["listing_id"])["order"]
    assert (order["payment_token"], order["amount_wei"], order["collateral_wei"]) == (token, PRICE, PRICE // 2)
    assert w.contracts.market.escrowed(token) == PRICE + PRICE // 2 * 2
    seller.order_action(order["order_id"], "deliver")
    buyer.order_action(order["order_id"], "receive", {"seller_url": "http://seller.test"})
    assert buyer.order_action(order["order_id"], "confirm")["order"]["state"] == "completed"

    fee = PRICE * w.contracts.market.fee_bps() // 10_000
    with pytest.raises(RemoteError) as no_ether:  # owed in the token, not in ether
        seller.withdraw()
    assert no_ether.value.status == 422
    paid = seller.withdraw(payment_token=token)
    assert (paid["amount_wei"], paid["payment_token"]) == (PRICE - fee + PRICE // 2, token)
    assert buyer.withdraw(payment_token=token)["amount_wei"] == PRICE // 2
    assert w.contracts.tokens.balance(token, w.seller.address) == 10 * ETHER + PRICE - fee
    assert w.contracts.market.escrowed(token) == 0
    assert w.contracts.market.pending_withdrawal(w.platform.address, token) == fee
