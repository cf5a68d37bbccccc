"""UseRights.vy: list_use_right (the token stays with its owner, terms packed in the listing), its guards,
cancel, and the views of unknown ids (Wu et al. section II).

Default sale and fixtures: see kit.py and conftest.py in this directory. Every external state-changing function
has a success test (event with every argument, and its effects) and one failure test per guard (exact revert
message).
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.kits.contract_kit import (
    ETHER,
    KIND_USE_RIGHT,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    MAX_QUERIES,
    MAX_WINDOW,
    MIN_WINDOW,
    PRICING_FIXED,
    STATUS_SUSPENDED,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    digest,
    make_account,
)
from tests.market.contracts.market_helpers import Currency
from tests.use_rights.contracts.kit import (
    FIRST_ID,
    MANAGEMENT_FEE,
    MAX_Q,
    POLICY_HASH,
    QUERY_PRICE,
    USAGE_WINDOW,
    record,
    set_parameters,
    use_right_order,
)

# --- list_use_right -----------------------------------------------------------------------------------------


def test_list_use_right_keeps_the_token_with_the_owner(d: Deployment, cur: Currency) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    token_id = d.publish(d.alice)
    alice_before = d.balance(d.alice)
    with d.env.prank(d.alice.address):
        listing_id = d.market.list_use_right(
            token_id, QUERY_PRICE, MAX_Q, USAGE_WINDOW, cur.address, POLICY_HASH, value=MANAGEMENT_FEE
        )

    assert_event(
        d.market,
        "Listed",
        listing_id=FIRST_ID,
        token_id=token_id,
        seller=d.alice.address,
        kind=KIND_USE_RIGHT,
        pricing=PRICING_FIXED,
        price=QUERY_PRICE,
        collateral=0,
        payment_token=cur.address,
        delivery_window=USAGE_WINDOW,
        confirm_window=0,
        management_fee=MANAGEMENT_FEE,
    )
    assert_event(d.market, "UseRightTerms", listing_id=FIRST_ID, max_queries=MAX_Q, policy_hash=POLICY_HASH)
    assert listing_id == FIRST_ID
    assert tuple(d.market.listing(FIRST_ID)) == (
        d.alice.address,
        token_id,
        KIND_USE_RIGHT,
        PRICING_FIXED,
        LISTING_ACTIVE,
        QUERY_PRICE,
        0,
        cur.address,
        USAGE_WINDOW,
        0,
        MAX_Q,
    )
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.balance(d.alice) == alice_before - MANAGEMENT_FEE
    assert (d.pending(d.platform), cur.escrowed()) == (MANAGEMENT_FEE, 0)
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("max_queries", [1, MAX_QUERIES])
def test_list_use_right_accepts_query_bounds(d: Deployment, max_queries: int) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), 1, max_queries, MIN_WINDOW)
    assert (d.market.listing(listing_id).max_queries, d.market.listing(listing_id).delivery_window) == (
        max_queries,
        MIN_WINDOW,
    )


def test_order_of_the_most_queries_keeps_its_count_beside_the_organisations_bit(d: Deployment) -> None:
    """An order's head packs queries_left below the bit that records the parties' different organisations: an
    order of MAX_QUERIES queries (price 1 wei) reads back its counts, and both survive an answered query."""
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), 1, MAX_QUERIES, MIN_WINDOW)
    order_id = d.buy_queries(d.bob, listing_id, MAX_QUERIES)
    order = d.market.order(order_id)
    assert (order.queries_left, order.queries_total, order.amount) == (MAX_QUERIES, MAX_QUERIES, MAX_QUERIES)
    assert d.market.order_parties(order_id)[4] is True
    signature = d.sign_query(d.bob, order_id, 0, digest("q"))
    with d.env.prank(d.alice.address):
        d.market.record_query(order_id, digest("q"), digest("r"), signature)
    order = d.market.order(order_id)
    assert (order.queries_left, order.queries_total) == (MAX_QUERIES - 1, MAX_QUERIES)
    assert tuple(d.market.order_parties(order_id))[3:] == (True, True)


def use_right_args(d: Deployment, token_id: int, **overrides: Any) -> tuple[Any, ...]:
    args = {
        "token_id": token_id,
        "price_per_query": QUERY_PRICE,
        "max_queries": MAX_Q,
        "usage_window": USAGE_WINDOW,
        "payment_token": ETHER,
        "policy_hash": POLICY_HASH,
    }
    args.update(overrides)
    return tuple(args.values())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"price_per_query": 0}, "use-rights: zero price"),
        ({"max_queries": 0}, "use-rights: bad max queries"),
        ({"max_queries": MAX_QUERIES + 1}, "use-rights: bad max queries"),
        ({"usage_window": MIN_WINDOW - 1}, "use-rights: bad usage window"),
        ({"usage_window": MAX_WINDOW + 1}, "use-rights: bad usage window"),
        ({"policy_hash": ZERO_BYTES32}, "use-rights: empty policy hash"),
        ({"payment_token": make_account("not-a-token").address}, "escrow: token not a contract"),
    ],
    ids=["zero-price", "zero-queries", "too-many-queries", "short-window", "long-window", "no-policy", "eoa-token"],
)
def test_list_use_right_rejects_bad_terms(d: Deployment, overrides: dict[str, Any], message: str) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts(message):
        d.market.list_use_right(*use_right_args(d, token_id, **overrides))


def test_list_use_right_rejects_seller_not_audited(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: seller not audited"):
        d.market.list_use_right(*use_right_args(d, token_id))


def test_list_use_right_rejects_token_of_someone_else(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.bob.address), boa.reverts("use-rights: not token owner"):
        d.market.list_use_right(*use_right_args(d, token_id))


@pytest.mark.parametrize("value", [0, MANAGEMENT_FEE + 1])
def test_list_use_right_rejects_wrong_management_fee(d: Deployment, value: int) -> None:
    set_parameters(d, management_fee=MANAGEMENT_FEE)
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: wrong value"):
        d.market.list_use_right(*use_right_args(d, token_id), value=value)


# --- cancel -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["bob", "platform", "mallory"])
def test_cancel_rejects_not_seller(d: Deployment, who: str) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice))
    with d.env.prank(getattr(d, who).address), boa.reverts("use-rights: not seller"):
        d.market.cancel(listing_id)


def test_cancel_rejects_listing_not_active(d: Deployment) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice))
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
        with boa.reverts("use-rights: listing not active"):
            d.market.cancel(listing_id)


def test_cancel_works_for_suspended_seller(d: Deployment) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice))
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert d.market.listing(listing_id).state == LISTING_CANCELLED


def test_cancel_use_right_stops_new_orders_but_running_orders_continue(d: Deployment) -> None:
    token_id, listing_id, order_id = use_right_order(d, queries=3)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert_event(d.market, "ListingCancelled", listing_id=listing_id, token_id=token_id, seller=d.alice.address)
    assert d.market.listing(listing_id).state == LISTING_CANCELLED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.pending(d.alice) == 0
    with d.env.prank(d.carol.address), boa.reverts("use-rights: listing not active"):
        d.market.buy_queries(listing_id, 1, value=QUERY_PRICE)
    record(d, order_id)
    assert d.market.order(order_id).queries_left == 2
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(order_id)
    assert d.pending(d.bob) == 2 * QUERY_PRICE


# --- views and storage packing ------------------------------------------------------------------------------


def test_views_of_unknown_ids_are_empty(d: Deployment) -> None:
    for unknown in (1, FIRST_ID):
        assert tuple(d.market.listing(unknown)) == (ZERO_ADDRESS, 0, 0, 0, 0, 0, 0, ZERO_ADDRESS, 0, 0, 0)
        assert tuple(d.market.order(unknown)) == (0, ZERO_ADDRESS, 0, 0, 0, 0, 0, 0)
        assert tuple(d.market.order_parties(unknown)) == (ZERO_ADDRESS, ZERO_ADDRESS, 0, False, False)


def test_listing_packs_large_terms(d: Deployment) -> None:
    """Usage window and query count share a storage slot: the largest accepted values round-trip."""
    token_id = d.publish(d.alice)
    listing_id = d.list_use_right(d.alice, token_id, 2**255, MAX_QUERIES, MAX_WINDOW)
    expected = (d.alice.address, token_id, 2, 1, LISTING_ACTIVE, 2**255, 0, ETHER, MAX_WINDOW, 0, MAX_QUERIES)
    assert tuple(d.market.listing(listing_id)) == expected
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert tuple(d.market.listing(listing_id)) == (*expected[:4], LISTING_CANCELLED, *expected[5:])
