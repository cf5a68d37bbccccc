"""Trades between four real ``datagora serve`` processes on Anvil, driven only through their HTTP APIs
(``NodeClient``): publish → search → buy → deliver (directly, or through the platform's relay with its
send-receive board) → receive and verify → confirm → withdraw → audit; access to the ciphertext; a seller killed
with SIGKILL in the middle of a large transfer; an organisation suspended by the supervisor.

The network (``conftest.network``) is shared by the module; each test publishes its own dataset."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from datagora.api.client import RemoteError
from datagora.crypto.envelope import decrypt_file
from datagora.home import ParticipantHome
from datagora.services import publishing, relay
from datagora.services.participant import Participant
from datagora.services.relay import DeliveryNotice
from datagora.services.sample_data import write_breast_cancer_csv
from tests.multinode.conftest import PASSWORD, Network
from tests.world import write_table

pytestmark = [pytest.mark.anvil, pytest.mark.slow]  # real processes: minutes; CI runs them with -m slow

ETHER = 10**18
PRICE = ETHER // 5
BIG_CSV_BYTES = 48 << 20
DOWNLOAD_RATE = 24 << 20
"""Bytes per second the seller's proxy lets through in the kill test: the whole ciphertext takes ~2 s."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while piece := fh.read(1 << 20):
            digest.update(piece)
    return "0x" + digest.hexdigest()


def write_wine_csv(target: Path) -> Path:
    """scikit-learn's bundled Wine recognition data set (178 rows, 13 features and the cultivar) as CSV."""
    from sklearn.datasets import load_wine

    bunch = load_wine()
    with target.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*bunch.feature_names, "cultivar"])
        for row, label in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([*(f"{v:.6g}" for v in row), bunch.target_names[label]])
    return target


def write_big_csv(target: Path, nbytes: int, seed: int = 5) -> Path:
    """A sensor log of about ``nbytes`` bytes with random readings (no two runs alike unless ``seed`` repeats)."""
    rng = random.Random(seed)
    with target.open("w", newline="") as fh:
        fh.write("reading_id,sensor,value,calibration,site\n")
        written, row = 0, 0
        while written < nbytes:
            block = "".join(
                f"{row + i},{rng.randrange(10**6)},{rng.random():.9f},{os.urandom(10).hex()},{rng.choice('NESW')}\n"
                for i in range(5000)
            )
            fh.write(block)
            written += len(block)
            row += 5000
    return target


def publish_and_list(net: Network, data: Path, name: str, domain: str) -> tuple[dict[str, Any], dict[str, Any]]:
    seller = net.operator("seller")
    published = seller.publish(data, name=name, domain=domain)
    assert published["content_hash"] == sha256_of(data)
    assert published["attester"] == net.accounts["platform"].address  # attested by the platform's node over HTTP
    offer = seller.list_offer(published["token_id"], PRICE)["offer"]
    assert offer["state"] == "active" and offer["seller"] == net.accounts["seller"].address
    return published, offer


def assert_only_the_buyer_gets_bytes(net: Network, node: str, path: str) -> None:
    """No session → 401, a forged token → 401, any identity but the order's buyer → 403: always an empty body."""
    url = net.nodes[node].url + path
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401 and anonymous.content == b""
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forged = httpx.get(url, headers={"Authorization": "Bearer not-a-session"})
    assert forged.status_code == 401 and forged.content == b""
    stranger = Account.create()  # signs in fine (SIWE needs no registration) but is nobody in this trade
    for who in ("seller", "platform", "supervisor", stranger):
        with net.client(node, as_=who) as client:
            headers = {"Authorization": f"Bearer {client.token()}", "Range": "bytes=0-99"}
        denied = httpx.get(url, headers=headers)
        assert denied.status_code == 403 and denied.content == b"", who
        assert "buyer" in denied.headers["x-datagora-error"]


def settle_and_audit(net: Network, order: dict[str, Any], token_id: int) -> None:
    """Confirm as the buyer, withdraw seller's and platform's shares, and find the trade in the supervisor's
    audit export (JSON and CSV)."""
    buyer, seller, platform = net.operator("buyer"), net.operator("seller"), net.operator("platform")
    order_id = order["order_id"]
    confirmed = buyer.order_action(order_id, "confirm")["order"]
    assert confirmed["state"] == "completed"
    assert buyer.dataset(token_id)["owner"] == net.accounts["buyer"].address  # ownership NFT moved
    assert order["collateral_wei"] == PRICE  # the default double deposit: 100 % of the price
    assert seller.withdraw()["amount_wei"] == PRICE - order["fee_wei"] + PRICE  # and its collateral back
    assert buyer.withdraw()["amount_wei"] == PRICE  # its collateral back
    assert platform.withdraw()["amount_wei"] == order["fee_wei"]

    supervisor = net.operator("supervisor")
    trail = supervisor.audit(token_id=token_id)["records"]
    assert [r["action"] for r in trail][:4] == ["DatasetPublished", "Listed", "OrderPaid", "Delivered"]
    assert "Settled" in [r["action"] for r in trail]
    paid = next(r for r in trail if r["action"] == "OrderPaid")
    assert paid["actor"] == net.accounts["buyer"].address
    withdrawals = supervisor.audit(account=net.accounts["seller"].address)["records"]
    assert any(r["action"] == "Withdrawn" for r in withdrawals)
    exported = supervisor.audit(format="csv", token_id=token_id)
    assert paid["tx_hash"] in exported and "Delivered" in exported


def test_trade_with_direct_delivery(network: Network, tmp_path: Path) -> None:
    net = network
    seller, buyer = net.operator("seller"), net.operator("buyer")
    assert buyer.me()["audited"] and seller.organisation(net.organisations["seller"])["status"] == "audited"
    data = write_breast_cancer_csv(tmp_path / "breast_cancer_wisconsin.csv")
    published, offer = publish_and_list(net, data, "Breast Cancer Wisconsin diagnostic", "health")
    token_id = published["token_id"]

    hits = buyer.search(q="breast cancer", domain="health")["hits"]
    assert [(h["token_id"], h["listing_id"], h["price_wei"]) for h in hits] == [(token_id, offer["listing_id"], PRICE)]
    assert buyer.dataset(token_id)["attributes"].startswith("mean radius,mean texture")

    order = buyer.buy(offer["listing_id"])["order"]
    assert order["state"] == "paid" and order["buyer"] == net.accounts["buyer"].address
    order_id = order["order_id"]

    delivered = seller.order_action(order_id, "deliver")
    assert delivered["order"]["state"] == "delivered" and delivered["relay"] is None
    assert buyer.order(order_id)["delivery_hash"] == delivered["delivery_hash"]
    assert_only_the_buyer_gets_bytes(net, "seller", f"/deliveries/{order_id}")

    received = buyer.order_action(order_id, "receive", {"seller_url": net.nodes["seller"].url})
    on_chain = net.contracts.catalog.dataset(token_id).content_hash
    assert received["content_hash"] == published["content_hash"] == "0x" + on_chain.hex()
    got = net.nodes["buyer"].participant_home / "received" / received["stored_as"]
    assert sha256_of(got) == published["content_hash"] and got.read_bytes() == data.read_bytes()
    inbox = net.nodes["buyer"].participant_home / "inbox" / f"order-{order_id}.dge"
    assert sha256_of(inbox) == delivered["delivery_hash"]  # the ciphertext the seller committed on chain

    # The same download from the command line: SIWE as the buyer, progress bar, hash checks, decryption.
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "datagora",
            "fetch",
            str(order_id),
            "--from",
            net.nodes["seller"].url,
            "-a",
            "buyer",
            "--out",
            str(tmp_path / "fetched.csv"),
            "--home",
            str(net.nodes["buyer"].home),
            "--rpc-url",
            net.nodes["buyer"].rpc_url,
        ],
        env={**os.environ, "DATAGORA_PASSWORD": PASSWORD, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "matches Catalog" in cli.stdout and (tmp_path / "fetched.csv").read_bytes() == data.read_bytes()

    settle_and_audit(net, order, token_id)


def test_trade_through_the_platform_relay(network: Network, tmp_path: Path) -> None:
    net = network
    seller, buyer = net.operator("seller"), net.operator("buyer")
    platform_url = net.nodes["platform"].url
    published, _ = publish_and_list(net, write_wine_csv(tmp_path / "wine.csv"), "Wine cultivars", "food")
    token_id = published["token_id"]
    hit = buyer.search(q="wine", domain="food")["hits"][0]
    assert hit["token_id"] == token_id
    order = buyer.buy(hit["listing_id"])["order"]
    order_id = order["order_id"]

    delivered = seller.order_action(order_id, "deliver", {"relay_url": platform_url})
    upload, sent = delivered["relay"]["upload"], delivered["relay"]["notice"]
    assert upload["delivery_hash"] == delivered["delivery_hash"] and upload["size"] == delivered["size"]
    assert upload["uploaded_by"] == net.accounts["seller"].address
    assert (sent["kind"], sent["sender"], sent["delivery_hash"]) == (
        "sent",
        net.accounts["seller"].address,
        delivered["delivery_hash"],
    )
    assert_only_the_buyer_gets_bytes(net, "platform", f"/relay/{order_id}")

    # the board is for the order's parties and the supervisor; before the buyer's notice nothing is settled
    with net.client("platform", as_="seller") as as_seller:
        board = as_seller.relay_board(order_id)
    assert [e["kind"] for e in board["entries"]] == ["sent"] and board["consistent"] is None
    assert board["relayed"]["size"] == delivered["size"]
    with net.client("platform", as_=Account.create()) as stranger, pytest.raises(RemoteError) as refused:
        stranger.relay_board(order_id)
    assert refused.value.status == 403 and "supervisor" in refused.value.detail

    received = buyer.order_action(order_id, "receive", {"relay_url": platform_url})
    assert received["content_hash"] == published["content_hash"]
    notice = received["notice"]
    assert (notice["kind"], notice["sender"], notice["delivery_hash"]) == (
        "received",
        net.accounts["buyer"].address,
        delivered["delivery_hash"],
    )
    got = net.nodes["buyer"].participant_home / "received" / received["stored_as"]
    assert sha256_of(got) == "0x" + net.contracts.catalog.dataset(token_id).content_hash.hex()

    with net.client("platform", as_="supervisor") as as_supervisor:
        board = as_supervisor.relay_board(order_id)
    assert board["consistent"] is True and board["delivery_hash"] == delivered["delivery_hash"]
    assert board["fingerprints_match"] is True  # f_S of the seller's data and f_B of the buyer's decrypted copy
    assert [(e["kind"], e["sender"]) for e in board["entries"]] == [
        ("sent", net.accounts["seller"].address),
        ("received", net.accounts["buyer"].address),
    ]
    t1, t2 = (e["timestamp"] for e in board["entries"])
    assert t1 <= t2 <= time.time() + 5
    market = net.contracts.addresses["Market"]
    for entry in board["entries"]:  # anyone can check the board's evidence against the authors' keys
        signed = DeliveryNotice.of(
            order_id,
            entry["seller"],
            entry["buyer"],
            bytes.fromhex(entry["delivery_hash"][2:]),
            entry["timestamp"],
            entry["received"],
            bytes.fromhex(entry["fingerprint_hash"][2:]),
        )
        assert signed.signer(bytes.fromhex(entry["signature"][2:]), net.chain.chain_id, market) == entry["sender"]

    settle_and_audit(net, order, token_id)
    with net.client("platform", as_="buyer") as as_buyer:
        assert len(as_buyer.relay_board(order_id)["entries"]) == 2


def test_relay_refuses_wrong_uploads_and_forged_notices(network: Network, tmp_path: Path) -> None:
    net = network
    _, offer = publish_and_list(net, write_table(tmp_path / "survey.csv", rows=300), "Relay survey", "misc")
    order_id = net.operator("buyer").buy(offer["listing_id"])["order"]["order_id"]
    chain_id, market = net.chain.chain_id, net.contracts.addresses["Market"]
    seller, buyer = net.accounts["seller"], net.accounts["buyer"]
    with net.client("platform", as_="seller") as seller_there, net.client("platform", as_="buyer") as buyer_there:
        with pytest.raises(RemoteError) as early:  # no delivery hash on chain yet
            seller_there.relay_upload(order_id, io.BytesIO(b"too early"), 9)
        assert early.value.status == 422 and "deliver it first" in early.value.detail

        delivered = net.operator("seller").order_action(order_id, "deliver")  # directly: the relay holds nothing
        delivery_hash = bytes.fromhex(delivered["delivery_hash"][2:])
        with pytest.raises(RemoteError) as not_seller:
            buyer_there.relay_upload(order_id, io.BytesIO(b"x" * 10), 10)
        assert not_seller.value.status == 403 and "only the seller" in not_seller.value.detail
        with pytest.raises(RemoteError) as wrong_bytes:
            seller_there.relay_upload(order_id, io.BytesIO(b"not the ciphertext"), 18)
        assert wrong_bytes.value.status == 422 and "not the ciphertext committed on chain" in wrong_bytes.value.detail
        with pytest.raises(RemoteError) as nothing:
            buyer_there.download_relayed(order_id, tmp_path / "none.dge")
        assert nothing.value.status == 404 and not (tmp_path / "none.dge").exists()

        now = int(time.time()) - 1  # before the t1 of the seller node's own notice below
        sent = DeliveryNotice.of(order_id, seller.address, buyer.address, delivery_hash, now, False)
        with pytest.raises(RemoteError) as before_upload:  # "sent" means handed to the platform
            seller_there.relay_notice(sent, sent.sign(bytes(seller.key), chain_id, market))
        assert before_upload.value.status == 422 and "upload it first" in before_upload.value.detail

        # relay the delivered order now (the retry route of the seller's node)
        relayed = net.operator("seller").order_action(order_id, "relay", {"relay_url": net.nodes["platform"].url})
        assert relayed["upload"]["delivery_hash"] == delivered["delivery_hash"]

        received = DeliveryNotice.of(order_id, seller.address, buyer.address, delivery_hash, now, True)
        forgeries = [
            # the buyer signs the seller's notice
            (buyer_there, sent, sent.sign(bytes(buyer.key), chain_id, market), 403, "not by its seller"),
            # a valid signature of the buyer over another hash
            (
                buyer_there,
                received,
                DeliveryNotice.of(order_id, seller.address, buyer.address, b"\x01" * 32, now, True).sign(
                    bytes(buyer.key), chain_id, market
                ),
                403,
                "not by its buyer",
            ),
            # the seller's genuine notice posted by someone else
            (buyer_there, sent, sent.sign(bytes(seller.key), chain_id, market), 403, "may not post"),
            # signed for another deployment (domain: chain id and Market address)
            (buyer_there, received, received.sign(bytes(buyer.key), chain_id + 1, market), 403, "not by its buyer"),
        ]
        stranger = Account.create()
        fake = DeliveryNotice.of(order_id, seller.address, stranger.address, delivery_hash, now, True)
        future = DeliveryNotice.of(order_id, seller.address, buyer.address, delivery_hash, now + 3600, True)
        with net.client("platform", as_=stranger) as stranger_there:
            forgeries += [
                (stranger_there, fake, fake.sign(bytes(stranger.key), chain_id, market), 403, "not the buyer"),
                (buyer_there, future, future.sign(bytes(buyer.key), chain_id, market), 422, "in the future"),
            ]
            for client, notice, signature, status, words in forgeries:
                with pytest.raises(RemoteError) as refused:
                    client.relay_notice(notice, signature)
                assert refused.value.status == status and words in refused.value.detail, refused.value.detail
        board = seller_there.relay_board(order_id)
        assert [e["kind"] for e in board["entries"]] == ["sent"]  # only the seller's genuine notice

        again = seller_there.relay_notice(sent, sent.sign(bytes(seller.key), chain_id, market))
        assert again["kind"] == "sent"  # a new t1 is a new entry; the same signed notice is recorded once
        assert seller_there.relay_notice(sent, sent.sign(bytes(seller.key), chain_id, market)) == again
        assert len(seller_there.relay_board(order_id)["entries"]) == 2


def run_cli(net: Network, node: str, *args: object) -> str:
    """``python -m datagora ARGS`` as ``node``'s operator, on its home; returns stdout (fails on exit code ≠ 0)."""
    home = net.nodes[node].home
    cmd = [sys.executable, "-m", "datagora", *map(str, args), "-a", node, "--home", str(home)]
    cmd += ["--rpc-url", net.nodes[node].rpc_url]
    env = {**os.environ, "DATAGORA_PASSWORD": PASSWORD, "COLUMNS": "200"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return " ".join(done.stdout.split())


def test_buyer_node_runs_three_queries_on_the_seller_node(network: Network, tmp_path: Path) -> None:
    """Use-rights per query (Wu et al. section II) between real nodes: the seller's node lists a use-right under
    its default ODRL policy, the buyer's node prepays four queries and runs three on the seller's node over HTTP
    (each signed by the buyer, answered with DuckDB, recorded on chain and verified); a raw-row query is refused
    by the seller's node before anything is paid."""
    net = network
    seller, buyer = net.operator("seller"), net.operator("buyer")
    seller_url = net.nodes["seller"].url
    data = write_table(tmp_path / "earnings.csv", rows=400)  # id, age, income, region
    token_id = seller.publish(data, name="Regional earnings sample", domain="labour")["token_id"]
    price = ETHER // 100
    created = seller.list_use_right(token_id, price, max_queries=5, usage_window=3_600)
    listing_id = created["offer"]["listing_id"]
    with net.client("seller", as_="buyer") as at_seller:  # the terms, read before paying
        terms = at_seller.use_right_policy(listing_id)
    assert terms["matches_chain"] is True and terms["policy_hash"] == created["policy_hash"]

    order = buyer.buy(listing_id, queries=4)["order"]
    order_id = order["order_id"]
    assert (order["kind"], order["amount_wei"], order["queries_left"]) == ("use-right", 4 * price, 4)
    queries = [
        {"select": ["region", {"aggregate": "count", "as": "people"}], "group_by": ["region"]},
        {
            "select": ["region", {"aggregate": "avg", "column": "income", "as": "mean_income"}],
            "group_by": ["region"],
            "order_by": ["region"],
        },
        {"select": [{"aggregate": "sum", "column": "income"}], "where": [["age", ">", 60]]},
    ]
    answers = [buyer.ask_query(order_id, q, seller_url) for q in queries]
    assert [(a["index"], a["verified"], a["queries_left"]) for a in answers] == [
        (0, True, 3),
        (1, True, 2),
        (2, True, 1),
    ]
    with data.open() as fh:
        rows = list(csv.DictReader(fh))
    # differentially private answers (the default policy): each is off by at most 20 noise scales (P < e**-20)
    people, counted = Counter(r["region"] for r in rows), dict(map(tuple, answers[0]["result"]["rows"]))
    assert set(counted) == set(people)  # ~100 per region: far above the noisy-count threshold
    assert all(abs(counted[region] - n) <= 20 for region, n in people.items())
    assert answers[1]["result"]["columns"] == ["region", "mean_income"]
    (total,) = answers[2]["result"]["rows"][0]
    scale = answers[2]["result"]["privacy"]["noise"]["sum(income)"]["scale"]
    assert abs(total - sum(float(r["income"]) for r in rows if int(r["age"]) > 60)) <= 20 * scale

    owed = net.contracts.use_rights.pending_withdrawal(net.accounts["seller"].address)
    with pytest.raises(RemoteError) as raw:
        buyer.ask_query(order_id, {"select": ["id", "income"], "limit": 5}, seller_url)
    assert raw.value.status == 403 and raw.value.detail.endswith("policy: raw rows not permitted")
    assert net.contracts.market.order(order_id).queries_left == 1
    assert net.contracts.use_rights.pending_withdrawal(net.accounts["seller"].address) == owed  # nothing paid
    fee = price * net.contracts.market.fee_bps() // 10_000
    assert owed >= 3 * (price - fee)
    for index, answer in enumerate(answers):  # each recorded on chain by the seller, with the result's hash
        (event,) = net.contracts.use_rights.events("QueryAnswered", order_id, index)
        assert "0x" + bytes(event.args["result_hash"]).hex() == answer["result_hash"]
        assert event.tx_hash.lower() == answer["tx_hash"].lower()
    log = net.nodes["seller"].log.read_text()
    assert log.count(f'"POST /orders/{order_id}/queries HTTP/1.1" 200') == 3
    assert log.count(f'"POST /orders/{order_id}/queries HTTP/1.1" 403') == 1
    assert net.contracts.catalog.owner_of(token_id) == net.accounts["seller"].address  # a use-right keeps the NFT


def test_dispute_raised_and_arbitrated_through_the_platform_node(network: Network, tmp_path: Path) -> None:
    """Section IV.A.3 between real nodes: a delivery relayed through the platform, a lying buyer's "received"
    notice with the fingerprint of other data, the platform's step-22 check disputing the order, the seller's
    re-upload and the buyer's disclosed key sent from the command line, the platform's ruling over its HTTP API
    (seller honest: paid with the buyer's collateral) and the buyer's copy E_PkB(D') downloaded from it."""
    net = network
    seller, buyer, platform = net.operator("seller"), net.operator("buyer"), net.operator("platform")
    platform_url = net.nodes["platform"].url
    published, offer = publish_and_list(net, write_table(tmp_path / "claims.csv", rows=400), "Insurance claims", "misc")
    order_id = buyer.buy(offer["listing_id"])["order"]["order_id"]
    seller.order_action(order_id, "deliver", {"relay_url": platform_url})
    received = buyer.order_action(order_id, "receive", {"relay_url": platform_url})
    assert received["content_hash"] == published["content_hash"]

    # the buyer then claims to have received other data: a signed notice with another table's fingerprint
    liar = Participant("buyer", net.accounts["buyer"], tmp_path / "buyer-keys")
    decoy = publishing.fingerprint_of(write_table(tmp_path / "decoy.csv", rows=400))
    delivery_hash = net.contracts.market.order(order_id).delivery_hash
    with net.client("platform", as_="buyer") as at_platform:
        relay.report_received(net.contracts, liar, order_id, delivery_hash, at_platform, fingerprint=decoy)
    checked = platform.check_delivery(order_id)
    assert (checked["action"], checked["consistent"], checked["order"]["state"]) == ("dispute", False, "disputed")

    with net.client("platform", as_="seller") as at_platform, pytest.raises(RemoteError) as early:
        at_platform.arbitrate(order_id)  # only the platform's operator rules
    assert early.value.status == 403
    with pytest.raises(RemoteError) as missing:
        platform.arbitrate(order_id)
    assert missing.value.status == 409 and "has not re-uploaded" in missing.value.detail
    assert f"re-uploaded the data of order #{order_id}, encrypted to the platform" in run_cli(
        net, "seller", "reupload", order_id, "--to", platform_url
    )
    assert "disclosed the data key" in run_cli(net, "buyer", "disclose", order_id, "--to", platform_url)

    seller_address = net.accounts["seller"].address
    owed = net.contracts.market.pending_withdrawal(seller_address)
    ruling = platform.arbitrate(order_id)
    assert (ruling["ruling"], ruling["content_match"], ruling["transmitted_ok"]) == ("for-seller", True, True)
    assert ruling["order"]["state"] == "completed" and ruling["tx"]["gas_used"] > 0
    fee = PRICE * net.contracts.market.fee_bps() // 10_000
    assert net.contracts.market.pending_withdrawal(seller_address) - owed == PRICE - fee + 2 * PRICE
    assert net.contracts.catalog.owner_of(published["token_id"]) == net.accounts["buyer"].address

    with net.client("platform", as_="buyer") as at_platform:
        copy = at_platform.download_copy(
            order_id, tmp_path / "copy.dge", expected_sha256=bytes.fromhex(ruling["buyer_copy"]["sha256"][2:])
        )
    decrypt_file(copy, tmp_path / "copy.csv", bytes(net.accounts["buyer"].key))
    assert sha256_of(tmp_path / "copy.csv") == published["content_hash"]
    actions = [r["action"] for r in net.operator("supervisor").audit(token_id=published["token_id"])["records"]]
    assert actions.index("Delivered") < actions.index("Disputed") < actions.index("Resolved")


def test_suspended_organisation_cannot_publish_search_or_buy(network: Network, tmp_path: Path) -> None:
    net = network
    buyer, supervisor = net.operator("buyer"), net.operator("supervisor")
    _, offer = publish_and_list(net, write_table(tmp_path / "panel.csv", rows=250), "Household panel", "finance")
    org_id = net.organisations["buyer"]
    assert supervisor.set_status(org_id, "suspended")["organisation"]["status"] == "suspended"
    try:
        assert buyer.organisation(org_id)["status"] == "suspended"  # the applicant can follow its own audit
        assert not buyer.me()["audited"]
        with pytest.raises(RemoteError) as search:
            buyer.search(q="household")
        assert search.value.status == 403 and "not a member of an Audited organisation" in search.value.detail
        with pytest.raises(RemoteError) as buy:
            buyer.buy(offer["listing_id"])
        assert buy.value.status == 409 and buy.value.detail == "market: buyer not audited"
        with pytest.raises(RemoteError) as publish:  # the platform's node refuses to attest for it
            buyer.publish(write_table(tmp_path / "own.csv", rows=120), name="Lab notes")
        assert publish.value.status == 403 and "not a member of an Audited organisation" in publish.value.detail
        assert net.operator("seller").search(q="household")["total"] == 1  # others are not affected
        assert net.operator("seller").offer(offer["listing_id"])["state"] == "active"  # nothing was bought
    finally:
        supervisor.set_status(org_id, "audited")
    assert buyer.search(q="household")["hits"][0]["listing_id"] == offer["listing_id"]
    changes = [r for r in supervisor.audit(organisation_id=org_id)["records"] if r["action"] == "StatusChanged"]
    assert len(changes) == 3 and all(r["actor"] == net.accounts["supervisor"].address for r in changes)


def test_seller_killed_mid_transfer_and_the_download_resumes(network: Network, tmp_path: Path) -> None:
    """SIGKILL the seller's node while the buyer's node downloads a large ciphertext from it; the partial file
    stays a ``.part`` (never taken for the delivery), and after the seller restarts (same home and port) the
    buyer's node resumes with an HTTP Range request and ends with the data whose hash is on chain."""
    net = network
    seller_node, buyer_node = net.nodes["seller"], net.nodes["buyer"]
    data = write_big_csv(tmp_path / "sensor_log.csv", BIG_CSV_BYTES)
    published, offer = publish_and_list(net, data, "Wind farm sensor log", "energy")
    token_id = published["token_id"]
    order_id = net.operator("buyer").buy(offer["listing_id"])["order"]["order_id"]
    delivered = net.operator("seller").order_action(order_id, "deliver")
    size = delivered["size"]
    assert size > BIG_CSV_BYTES

    inbox = buyer_node.participant_home / "inbox"
    part, whole = inbox / f"order-{order_id}.dge.part", inbox / f"order-{order_id}.dge"
    kept = buyer_node.participant_home / "received" / f"dataset-{token_id}"
    outcome: dict[str, Any] = {}

    def receive() -> None:
        try:
            with net.client("buyer") as buyer:
                outcome["received"] = buyer.order_action(order_id, "receive", {"seller_url": seller_node.url})
        except RemoteError as exc:
            outcome["error"] = exc

    assert seller_node.proxy is not None
    seller_node.proxy.rate = DOWNLOAD_RATE
    downloading = threading.Thread(target=receive)
    downloading.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and downloading.is_alive():
            if part.exists() and part.stat().st_size >= size // 10:
                seller_node.kill()
                break
            time.sleep(0.0005)
    finally:
        downloading.join(timeout=120)
        seller_node.proxy.rate = 0
    assert not downloading.is_alive()
    assert "error" in outcome, f"the transfer finished before the seller was killed: {outcome}"
    assert outcome["error"].status == 502 and "interrupted" in outcome["error"].detail
    partial = part.stat().st_size
    assert 0 < partial < size
    assert not whole.exists() and not kept.exists()  # nothing taken for the delivery or decrypted

    seller_node.start()
    seller_node.wait_ready()
    received = net.operator("buyer").order_action(order_id, "receive", {"seller_url": seller_node.url})
    assert received["content_hash"] == published["content_hash"]
    assert not part.exists() and sha256_of(whole) == delivered["delivery_hash"]
    assert (
        sha256_of(kept)
        == "0x" + net.contracts.catalog.dataset(token_id).content_hash.hex()
        == published["content_hash"]
    )
    # the restarted seller served only the rest: a ranged request, never the whole file again
    restarted_log = seller_node.log.read_text()
    assert f'"GET /deliveries/{order_id} HTTP/1.1" 206' in restarted_log
    assert f'"GET /deliveries/{order_id} HTTP/1.1" 200' not in restarted_log
    assert net.operator("buyer").order_action(order_id, "confirm")["order"]["state"] == "completed"


CRASH_CSV_BYTES = 24 << 20


def _kill_when(node_name: str, net: Network, ready: Any, work: Any, timeout: float = 180) -> dict[str, Any]:
    """Run ``work()`` in a thread and SIGKILL node ``node_name`` as soon as ``ready()`` is true; return what the
    work returned (``"result"``) or raised (``"error"``) and whether the kill landed before it ended."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except RemoteError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and thread.is_alive():
            if ready():
                net.nodes[node_name].kill()
                outcome["killed"] = True
                break
            time.sleep(0.0005)
    finally:
        thread.join(timeout=timeout)
    assert not thread.is_alive()
    return outcome


def _files_containing(root: Path, marker: bytes) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and marker in path.read_bytes():
            found.append(path)
    return found


def _audit_verify(net: Network, node: str) -> None:
    """``datagora audit verify`` on the SQLite index the node's ``serve`` process built."""
    home = net.nodes[node].home
    done = subprocess.run(
        [
            *(sys.executable, "-m", "datagora", "audit", "verify", "--home", str(home)),
            *("--rpc-url", net.chain.url, "--index-url", f"sqlite:///{home / 'index.db'}"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}, "DATAGORA_PASSWORD": PASSWORD},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the index matches the chain" in done.stdout


def test_nodes_killed_mid_publish_delivery_and_relay_restart_clean(network: Network, tmp_path: Path) -> None:
    """SIGKILL the seller's node while it publishes (the clear upload is staged) and while it delivers, and the
    platform's node while it receives a relayed ciphertext; restart each (same home, same port). Every operation
    then completes or is cleanly absent, no clear copy of the data is left on any node, and ``datagora audit
    verify`` is green on the indexes the ``serve`` processes built."""
    net = network
    seller_node, platform_node = net.nodes["seller"], net.nodes["platform"]
    data = write_big_csv(tmp_path / "turbine_log.csv", CRASH_CSV_BYTES, seed=12)
    marker = data.read_bytes().splitlines()[1]  # a row of random readings: found only where the clear data is
    staging = ParticipantHome(seller_node.participant_home).staging

    def staged() -> bool:
        return staging.is_dir() and any(f.is_file() and f.stat().st_size > 0 for f in staging.rglob("*"))

    with net.client("seller") as seller:
        crashed = _kill_when("seller", net, staged, lambda: seller.publish(data, name="Turbine log", domain="energy"))
    assert crashed.get("killed") and "error" in crashed, crashed
    assert _files_containing(staging, marker), "the kill did not land while the clear upload was staged"
    seller_node.start()
    seller_node.wait_ready()
    assert not any(staging.iterdir())  # wiped at start
    assert not _files_containing(seller_node.participant_home, marker)
    # the publish never reached the chain: it is cleanly absent, and doing it again completes
    assert net.operator("seller").search(q="Turbine")["total"] == 0
    published, offer = publish_and_list(net, data, "Turbine log", "energy")
    assert net.operator("seller").search(q="Turbine")["total"] == 1
    order_id = net.operator("buyer").buy(offer["listing_id"])["order"]["order_id"]

    # -- the seller killed while it re-encrypts the data for the buyer
    cipher = seller_node.participant_home / "tmp" / f"order-{order_id}.dge"
    with net.client("seller") as seller:
        crashed = _kill_when("seller", net, lambda: cipher.exists(), lambda: seller.order_action(order_id, "deliver"))
    assert crashed.get("killed") and "error" in crashed, crashed
    seller_node.start()
    seller_node.wait_ready()
    state = net.operator("seller").order(order_id)["state"]
    assert state in ("paid", "delivered")
    if state == "paid":  # killed before the commitment: deliver again
        delivered = net.operator("seller").order_action(order_id, "deliver")
        assert delivered["order"]["state"] == "delivered"
    delivery_hash = net.operator("seller").order(order_id)["delivery_hash"]

    # -- the platform killed while the seller's node relays the ciphertext to it
    relay_staging = platform_node.participant_home / "relay-staging"
    with net.client("seller") as seller:
        crashed = _kill_when(
            "platform",
            net,
            lambda: any(relay_staging.glob("upload-*.part")),
            lambda: seller.order_action(order_id, "relay", {"relay_url": platform_node.url}),
        )
    assert crashed.get("killed") and "error" in crashed, crashed
    assert crashed["error"].status == 502
    platform_node.start()
    platform_node.wait_ready()
    assert not any(relay_staging.glob("upload-*.part"))  # a cut-off upload is removed at start
    relayed = net.operator("seller").order_action(order_id, "relay", {"relay_url": platform_node.url})
    assert relayed["upload"]["delivery_hash"] == delivery_hash
    received = net.operator("buyer").order_action(order_id, "receive", {"relay_url": platform_node.url})
    assert received["content_hash"] == published["content_hash"]
    assert net.operator("buyer").order_action(order_id, "confirm")["order"]["state"] == "completed"

    for name in ("seller", "platform"):
        assert not _files_containing(net.nodes[name].participant_home, marker), name
    for name in ("seller", "platform", "buyer"):
        _audit_verify(net, name)
