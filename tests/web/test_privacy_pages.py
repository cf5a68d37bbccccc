"""The privacy of use-right answers on the pages (no browser): the owner's listing form answers with differential
privacy unless the owner opts out after reading what a buyer can learn; epsilon, budget and value ranges reach
the listed ODRL policy; the order pages show the buyer organisation's budget on both sides and each answer's
noise, and the query the budget does not cover is refused in words on the page; a contract's refusal reads as a
sentence."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from datagora.domain.models import OrgStatus
from datagora.domain.refusals import REFUSALS, explain, plain_refusal
from datagora.services import accounts, registry, use_rights
from tests.kits.node_fixtures import EMBEDDED, Net, base_url, net  # noqa: F401  (the fixture)
from tests.web.desk_kit import sign_in
from tests.world import write_table

COUNT = '{"select": [{"aggregate": "count", "as": "people"}]}'
USE_RIGHT = {"kind": "use-right", "price": "0.01", "max_queries": "10", "k": "1"}


def _listing_id(text: str) -> int:
    found = re.search(r"\(listing (\d+)\)", text)
    assert found, text
    return int(found.group(1))


def _publish(net: Net, tmp_path: Path, name: str) -> int:  # noqa: F811
    table = write_table(tmp_path / f"{name}.csv", rows=120, seed=3)
    return int(net.client("seller").publish(table, name=name, domain="misc")["token_id"])


@EMBEDDED
def test_listing_form_is_private_by_default_and_exact_only_after_the_warning(
    net: Net,  # noqa: F811
    tmp_path: Path,
) -> None:
    token_id = _publish(net, tmp_path, "Incomes")
    seller = net.nodes["seller"].participant
    owner = sign_in(net, "seller")
    form = unescape(owner.get(f"/catalogue/{token_id}").text)
    assert 'id="answers-private" name="answers" value="private" checked' in form
    assert 'name="epsilon_per_query"' in form and 'name="privacy_budget"' in form and 'name="ranges"' in form
    assert "become public with the policy" in form and use_rights.EXACT_ANSWERS_WARNING in form

    listings = set(accounts.own_listings(net.world.contracts, seller.address))
    bad = owner.post(f"/catalogue/{token_id}/list", {**USE_RIGHT, "ranges": "income [200000, 0]"})
    assert bad.status_code == 422 and "the lowest value must be below the highest" in unescape(bad.text)
    rows = owner.post(f"/catalogue/{token_id}/list", {**USE_RIGHT, "raw_rows": "true"})
    assert "Rows cannot be answered with differential privacy" in unescape(rows.text)
    assert set(accounts.own_listings(net.world.contracts, seller.address)) == listings

    private = owner.post(
        f"/catalogue/{token_id}/list",
        {**USE_RIGHT, "epsilon_per_query": "0.5", "privacy_budget": "2", "ranges": "income [0, 250000]\nage: 0, 120"},
    )
    text = unescape(private.text)
    assert "epsilon 0.5 each and a budget of 2 per buyer organisation" in text, text
    policy = use_rights.policy_of(seller, _listing_id(text))
    assert not policy.exact_answers and (policy.epsilon_per_query, policy.privacy_budget) == (0.5, 2.0)
    assert dict(policy.value_ranges) == {"income": (0.0, 250000.0), "age": (0.0, 120.0)}

    derived = owner.post(f"/catalogue/{token_id}/list", USE_RIGHT)
    policy = use_rights.policy_of(seller, _listing_id(unescape(derived.text)))
    assert {"age", "income"} <= set(policy.value_ranges)  # nothing declared: taken from the data

    listings = set(accounts.own_listings(net.world.contracts, seller.address))
    warned = owner.post(f"/catalogue/{token_id}/list", {**USE_RIGHT, "answers": "exact", "raw_rows": "true"})
    page = unescape(warned.text)
    assert warned.status_code == 200 and "What a buyer can learn" in page
    assert use_rights.EXACT_ANSWERS_WARNING in page and 'name="exact_confirmed" value="true"' in page
    assert set(accounts.own_listings(net.world.contracts, seller.address)) == listings  # nothing listed yet

    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', warned.text))
    assert fields["raw_rows"] == "true" and fields["k"] == "1"
    confirmed = owner.post(f"/catalogue/{token_id}/list", {k: v for k, v in fields.items() if k != "csrf_token"})
    text = unescape(confirmed.text)
    assert "exact answers (you opted out of differential privacy)" in text, text
    exact = use_rights.policy_of(seller, _listing_id(text))
    assert exact.exact_answers and exact.raw_rows


@EMBEDDED
def test_order_pages_show_the_budget_and_the_noise_and_refuse_in_words(
    net: Net,  # noqa: F811
    tmp_path: Path,
) -> None:
    w = net.world
    token_id = _publish(net, tmp_path, "Budgeted")
    owner = sign_in(net, "seller")
    listed = owner.post(f"/catalogue/{token_id}/list", {**USE_RIGHT, "epsilon_per_query": "1", "privacy_budget": "2"})
    listing_id = _listing_id(unescape(listed.text))
    order_id = int(net.client("buyer").buy(listing_id, queries=3)["order"]["order_id"])
    buyer = sign_in(net, "buyer")
    seller_url = base_url("seller")

    asking = unescape(buyer.get(f"/my/orders/{order_id}").text)
    assert "The seller's node keeps the budget" in asking  # the buyer's node asks the seller's for it
    for spent in (1, 2):
        answer = unescape(buyer.post(f"/my/orders/{order_id}/query", {"seller_url": seller_url, "spec": COUNT}).text)
        assert "Checked: the result matches the hash the seller recorded on the chain" in answer, answer
        assert 'id="noise"' in answer and "Noise scale" in answer and "discrete laplace" in answer
        assert f"epsilon {spent} of 2 ({spent} answer{'s' if spent > 1 else ''})" in answer
    assert "0 more answers at 1 each" in answer

    refused = buyer.post(f"/my/orders/{order_id}/query", {"seller_url": seller_url, "spec": COUNT})
    text = unescape(refused.text)
    assert refused.status_code == 403 and "your organisation's privacy budget on this dataset is spent" in text
    assert "has spent 2 of its 2" in text and w.contracts.market.order(order_id).queries_left == 1

    shown = unescape(buyer.get(f"/my/orders/{order_id}", params={"seller_url": seller_url}).text)
    assert "Your organisation (organisation:" in shown and "epsilon 2 of 2 (2 answers)" in shown
    sold = unescape(owner.get(f"/my/orders/{order_id}").text)
    assert f"The buyer organisation (organisation:{w.orgs['buyer']})" in sold and "epsilon 2 of 2" in sold


@EMBEDDED
def test_a_suspended_buyer_reads_why_in_plain_words(net: Net, tmp_path: Path) -> None:  # noqa: F811
    w = net.world
    token_id = _publish(net, tmp_path, "Refused")
    listing_id = _listing_id(unescape(sign_in(net, "seller").post(f"/catalogue/{token_id}/list", USE_RIGHT).text))
    registry.set_status(w.contracts, w.supervisor.account, w.orgs["buyer"], OrgStatus.SUSPENDED)
    refused = sign_in(net, "buyer").post("/my/buy", {"listing_id": str(listing_id), "queries": "1"})
    text = unescape(refused.text)
    assert refused.status_code == 409, text
    assert "Your organisation is not audited or is suspended, so it cannot buy. Ask the supervisor." in text
    assert "use-rights: buyer not audited" in text  # the contract's own words stay for whoever supports them


def test_every_refusal_sentence_names_a_reason_the_contracts_give() -> None:
    sources = "".join(p.read_text() for p in [*Path("contracts").glob("*.vy"), *Path("contracts/modules").glob("*.vy")])
    assert [reason for reason in REFUSALS if f'"{reason}"' not in sources] == []
    assert (
        plain_refusal("market: seller not audited (0xabc is not in an Audited organisation)")
        == REFUSALS["market: seller not audited"]
    )
    assert (
        plain_refusal("market: something new") is None and explain("market: something new") == "market: something new"
    )
    assert explain("market: buyer not audited").endswith("(the contract said: market: buyer not audited)")
