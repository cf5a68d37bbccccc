"""Use-rights per query (Wu et al. section II) through the nodes' HTTP APIs: the seller's node lists a use-right
under an ODRL policy (``POST /offers/use-right``) and serves it (``GET /offers/{id}/policy``); the buyer's node
prepays queries (``POST /orders`` with ``queries``) and runs them on the seller's node (``POST /orders/{id}/ask``,
which signs and sends ``POST /orders/{id}/queries``); refusals by the policy, by identity and for stale or
malformed requests, none of which pays anything."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from datagora.api.client import RemoteError
from datagora.crypto.hashing import keccak256
from datagora.query import QueryResult, QuerySpec, UsagePolicy
from datagora.query.spec import canonical_json
from datagora.services import use_rights
from tests.kits.node_fixtures import EMBEDDED, Net, base_url
from tests.world import ETHER, write_table

pytestmark = EMBEDDED

PRICE = ETHER // 100
PER_REGION: dict[str, Any] = {
    "select": ["region", {"aggregate": "count", "as": "people"}, {"aggregate": "avg", "column": "income"}],
    "group_by": ["region"],
    "order_by": ["region"],
}
RAW_ROWS: dict[str, Any] = {"select": ["id", "income"], "where": [["age", ">", 60]]}


def listed(net: Net, tmp_path: Path, **terms: Any) -> tuple[int, dict[str, Any], Path]:
    """A table published by the seller's node and listed for use-rights through its API."""
    data = write_table(tmp_path / "panel.csv", rows=200)
    seller = net.client("seller")
    token_id = seller.publish(data, name="Household panel", domain="finance")["token_id"]
    return token_id, seller.list_use_right(token_id, PRICE, max_queries=5, usage_window=3_600, **terms), data


def regions(data: Path) -> Counter[str]:
    with data.open() as fh:
        return Counter(row["region"] for row in csv.DictReader(fh))


def test_use_right_listed_bought_and_queried_between_nodes(net: Net, tmp_path: Path) -> None:
    w = net.world
    token_id, created, data = listed(net, tmp_path)
    offer = created["offer"]
    assert (offer["kind"], offer["pricing"], offer["price_wei"], offer["max_queries"], offer["collateral_wei"]) == (
        "use-right",
        "fixed",
        PRICE,
        5,
        0,
    )
    assert offer["delivery_window"] == 3_600  # the usage window
    default = UsagePolicy.from_jsonld(created["policy"])  # aggregates only, k = 5, named after the dataset
    assert (default.min_group_size, default.raw_rows, default.target) == (5, False, f"urn:datagora:dataset:{token_id}")
    assert default.differential_privacy and set(default.value_ranges) == {"id", "age", "income"}  # from the table
    assert default.assigner == f"did:pkh:eip155:{w.chain.chain_id}:{w.seller.address}"
    assert created["policy_hash"] == "0x" + keccak256(canonical_json(created["policy"])).hex()

    # the buyer reads the terms from the seller's node before paying, and checks them against the chain
    terms = net.client("seller", as_="buyer").use_right_policy(offer["listing_id"])
    assert terms["matches_chain"] is True and terms["on_chain_hash"] == created["policy_hash"]
    assert terms["token_id"] == token_id and terms["policy"] == created["policy"]
    with pytest.raises(RemoteError) as elsewhere:  # only the seller's node holds the policy
        net.client("buyer").use_right_policy(offer["listing_id"])
    assert elsewhere.value.status == 404

    buyer = net.client("buyer")
    order = buyer.buy(offer["listing_id"], queries=3)["order"]
    order_id = order["order_id"]
    assert (order["kind"], order["amount_wei"], order["queries_total"], order["queries_left"]) == (
        "use-right",
        3 * PRICE,
        3,
        3,
    )

    seller_url = base_url("seller")
    first = buyer.ask_query(order_id, PER_REGION, seller_url)
    assert first["verified"] is True and (first["index"], first["queries_left"]) == (0, 2)
    assert first["result"]["columns"] == ["region", "people", "avg(income)"]
    noisy = {row[0]: row[1] for row in first["result"]["rows"]}  # differentially private: near, rarely exact
    true = regions(data)
    assert set(noisy) <= set(true) and all(abs(n - true[region]) <= 60 for region, n in noisy.items())  # P < e**-20
    assert first["result"]["privacy"]["epsilon"] == 1.0 and first["result"]["privacy"]["noise"]["people"]["scale"] == 3
    assert first["tx_hash"].startswith("0x") and first["gas_used"] > 0

    refused = w.contracts.use_rights.pending_withdrawal(w.seller.address)
    with pytest.raises(RemoteError) as raw:  # outside the policy: refused before anything is paid
        buyer.ask_query(order_id, RAW_ROWS, seller_url)
    assert raw.value.status == 403 and raw.value.detail.endswith("HTTP 403: policy: raw rows not permitted")
    assert w.contracts.market.order(order_id).queries_left == 2
    assert w.contracts.use_rights.pending_withdrawal(w.seller.address) == refused

    # the buyer may also sign a request itself and send it to the seller's node, which recomputes the query hash
    # from the JSON it received to check the signature (non-ASCII text and a float included)
    where = [["region", "in", ["N", "Zürich café — 東京"]], ["income", ">=", 2.5]]
    spec = QuerySpec.from_dict({"select": [{"aggregate": "avg", "column": "age"}], "where": where})
    request = use_rights.sign_query(w.contracts, w.buyer, order_id, spec)
    answered = net.client("seller", as_="buyer").run_query(request)
    assert (answered["order_id"], answered["index"], answered["queries_left"]) == (order_id, 1, 1)
    assert use_rights.verify_answer(w.contracts, order_id, 1, QueryResult.from_dict(answered.result.model_dump()))

    third = buyer.ask_query(order_id, {"select": [{"aggregate": "sum", "column": "income"}]}, seller_url)
    assert third["verified"] and third["queries_left"] == 0
    with pytest.raises(RemoteError) as spent:
        buyer.ask_query(order_id, PER_REGION, seller_url)
    assert spent.value.status == 422 and "no queries left" in spent.value.detail

    budget = net.client("seller", as_="buyer").privacy_budget(order_id)  # three answers spent epsilon 1 each
    assert (budget["epsilon_spent"], budget["answers"], budget["epsilon_left"]) == (3.0, 3, 7.0)
    assert budget == net.client("seller").privacy_budget(order_id)  # the same figures for the seller

    fee = PRICE * w.contracts.market.fee_bps() // 10_000
    assert w.contracts.use_rights.pending_withdrawal(w.seller.address) == 3 * (PRICE - fee)
    assert w.contracts.catalog.owner_of(token_id) == w.seller.address  # a use-right keeps the NFT
    assert net.client("seller").withdraw()["amount_wei"] == 3 * (PRICE - fee)


def test_query_route_refuses_wrong_callers_stale_and_malformed_requests(net: Net, tmp_path: Path) -> None:
    w = net.world
    _, created, _ = listed(net, tmp_path)
    order_id = net.client("buyer").buy(created["offer"]["listing_id"], queries=2)["order"]["order_id"]
    request = use_rights.sign_query(w.contracts, w.buyer, order_id, QuerySpec.from_dict(PER_REGION))
    before = (w.chain.block_number(), w.contracts.market.order(order_id).queries_left)

    def refused(client_of: str, as_: str, doc: dict[str, Any] | None = None, path: str | None = None) -> RemoteError:
        client = net.client(client_of, as_=as_)
        with pytest.raises(RemoteError) as caught:
            client.request("POST", path or f"/orders/{order_id}/queries", json=doc or request.to_dict())
        return caught.value

    for who in ("seller", "outsider", "platform"):  # signed in, but not the order's buyer
        wrong = refused("seller", who)
        assert wrong.status == 403 and "only the buyer" in wrong.detail, who
    assert net.http["seller"].post(f"/orders/{order_id}/queries", json=request.to_dict()).status_code == 401
    elsewhere = refused("platform", "buyer")  # the platform's node did not sell it
    assert elsewhere.status == 403 and "not a use-right sold by" in elsewhere.detail
    other_order = refused("seller", "buyer", {**request.to_dict(), "order_id": order_id + 1})
    assert other_order.status == 422
    forged = use_rights.sign_query(w.contracts, w.buyer, order_id, QuerySpec.from_dict(RAW_ROWS))
    swapped = refused("seller", "buyer", {**request.to_dict(), "signature": "0x" + forged.signature.hex()})
    assert swapped.status == 403 and "not by the buyer" in swapped.detail  # the signature covers the query
    typo = QuerySpec.from_dict({"select": [{"aggregate": "avg", "column": "salary"}]})
    bad_column = refused("seller", "buyer", use_rights.sign_query(w.contracts, w.buyer, order_id, typo).to_dict())
    assert bad_column.status == 422 and "unknown column" in bad_column.detail
    malformed = refused("seller", "buyer", {**request.to_dict(), "query": {"select": [], "having": 1}})
    assert malformed.status == 422
    assert (w.chain.block_number(), w.contracts.market.order(order_id).queries_left) == before  # nothing was paid

    assert net.client("seller", as_="buyer").run_query(request)["index"] == 0
    stale = refused("seller", "buyer")  # the same signed request again
    assert stale.status == 422 and "stale" in stale.detail
    assert w.contracts.market.order(order_id).queries_left == 1


def test_use_right_listing_with_a_custom_policy_and_refusals(net: Net, tmp_path: Path) -> None:
    w = net.world
    data = write_table(tmp_path / "rows.csv", rows=120)
    seller = net.client("seller")
    token_id = seller.publish(data, name="Open rows", domain="misc")["token_id"]
    policy = UsagePolicy(
        uid="urn:example:policy:rows",
        assigner=f"did:pkh:eip155:{w.chain.chain_id}:{w.seller.address}",
        target=f"urn:datagora:dataset:{token_id}",
        raw_rows=True,
        exact_answers=True,  # raw rows need the owner's explicit opt-out of differential privacy
        prohibited_columns=frozenset({"income"}),
        max_rows=3,
        max_queries=100,  # odrl:count: the listing's (default) query count
    )
    created = seller.list_use_right(token_id, PRICE, policy=policy.to_jsonld())
    assert created["policy_hash"] == "0x" + policy.policy_hash().hex()
    assert (created["offer"]["max_queries"], created["offer"]["delivery_window"]) == (100, 30 * 86_400)  # defaults
    listing_id = created["offer"]["listing_id"]

    buyer = net.client("buyer")
    with pytest.raises(RemoteError) as no_count:  # a use-right is bought by the query
        buyer.buy(listing_id)
    assert no_count.value.status == 422 and "queries" in no_count.value.detail
    order_id = buyer.buy(listing_id, queries=2)["order"]["order_id"]
    rows = buyer.ask_query(order_id, {"select": ["id", "age"], "order_by": ["id"]}, base_url("seller"))
    assert rows["verified"] and [r[0] for r in rows["result"]["rows"]] == [0, 1, 2]
    assert rows["result"]["truncated"] is True  # the policy's row cap
    assert rows["result"]["privacy"] is None  # exact answers: the owner opted out, nothing is spent
    exact = net.client("seller", as_="buyer").privacy_budget(order_id)
    assert exact["exact_answers"] is True and (exact["answers"], exact["epsilon_budget"]) == (0, 0.0)  # none spent
    with pytest.raises(RemoteError) as outsider:
        net.client("seller", as_="outsider").privacy_budget(order_id)
    assert outsider.value.status == 403 and "only the buyer or the seller" in outsider.value.detail
    with pytest.raises(RemoteError) as prohibited:
        buyer.ask_query(order_id, {"select": ["id", "income"]}, base_url("seller"))
    assert prohibited.value.status == 403 and prohibited.value.detail.endswith("policy: column 'income' not permitted")

    with pytest.raises(RemoteError) as bad_policy:
        seller.list_use_right(token_id, PRICE, policy={"@type": "Offer"})
    assert bad_policy.value.status == 422
    with pytest.raises(RemoteError) as not_owner:
        net.client("buyer").list_use_right(token_id, PRICE)
    assert not_owner.value.status == 403 and "not token owner" in not_owner.value.detail
    other = seller.publish(write_table(tmp_path / "o.csv"))["token_id"]
    ownership = seller.list_offer(other, PRICE)["offer"]["listing_id"]
    with pytest.raises(RemoteError) as not_use_right:  # queries are refused for an ownership listing
        buyer.buy(ownership, queries=1)
    assert not_use_right.value.status == 422 and "ownership" in not_use_right.value.detail


def test_use_right_orders_are_among_each_partys_orders_and_balance(net: Net, tmp_path: Path) -> None:
    """Use-right orders live in UseRights (ids above 1e9): ``datagora orders`` and ``balance`` still find them,
    for the buyer and for the seller."""
    from datagora.services import accounts

    w = net.world
    _, created, _ = listed(net, tmp_path)
    order_id = net.client("buyer").buy(created["offer"]["listing_id"], queries=2)["order"]["order_id"]
    assert order_id > 1_000_000_000
    mine = {s.order.id: s for s in accounts.orders_of(w.contracts, w.buyer.address)}
    theirs = {s.order.id: s for s in accounts.orders_of(w.contracts, w.seller.address)}
    assert mine[order_id].role == "buyer" and theirs[order_id].role == "seller"
    assert "2 of 2 queries left" in mine[order_id].next_step
    locked = accounts.balance_of(w.contracts, w.buyer.address).locked
    assert any(f"order #{order_id}" in item.what and item.amount == 2 * PRICE for item in locked)
