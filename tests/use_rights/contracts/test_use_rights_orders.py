"""UseRights.vy: use-right orders: buy_queries (the credit prepaid into escrow), record_query with the buyer's
EIP-712 QueryRequest, expire (the unused credit back to the buyer) and withdraw (pull payments, books kept apart
from the Market's) (Wu et al. section II).

Default sale and fixtures: see kit.py and conftest.py in this directory. Every external state-changing function
has a success test (event with every argument, and its effects) and one failure test per guard (exact revert
message); the hypothesis tests fuzz the arithmetic.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    LISTING_ACTIVE,
    MAX_FEE_BPS,
    MAX_MANAGEMENT_FEE,
    ORDER_COMPLETED,
    ORDER_PAID,
    ORDER_REFUNDED,
    OUTCOME_USE_RIGHT_EXPIRED,
    QUERY_REQUEST_TYPES,
    STATUS_SUSPENDED,
    Deployment,
    assert_event,
    digest,
)
from tests.market.contracts.market_helpers import FUZZ, Currency
from tests.use_rights.contracts.kit import (
    FIRST_ID,
    ID_OFFSET,
    MAX_Q,
    POLICY_HASH,
    PRICE,
    QUERY_FEE,
    QUERY_HASH,
    QUERY_PRICE,
    RESULT_HASH,
    USAGE_WINDOW,
    record,
    set_parameters,
    use_right_order,
)

# --- buy_queries --------------------------------------------------------------------------------------------


def test_buy_queries_prepays_the_credit(d: Deployment, cur: Currency) -> None:
    token_id = d.publish(d.alice)
    listing_id = d.list_use_right(d.alice, token_id, QUERY_PRICE, MAX_Q, USAGE_WINDOW, cur.address, POLICY_HASH)
    bob_before = cur.held(d.bob)
    with d.env.prank(d.bob.address):
        order_id = d.market.buy_queries(listing_id, 10, value=cur.value(10 * QUERY_PRICE))

    deadline = d.env.timestamp + USAGE_WINDOW
    assert_event(
        d.market,
        "OrderPaid",
        order_id=FIRST_ID,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=10 * QUERY_PRICE,
        fee_bps=FEE_BPS,
        collateral=0,
        queries=10,
        deadline=deadline,
    )
    assert order_id == FIRST_ID
    assert tuple(d.market.order(FIRST_ID)) == (
        listing_id,
        d.bob.address,
        10 * QUERY_PRICE,
        ORDER_PAID,
        FEE_BPS,
        deadline,
        10,
        10,
    )
    assert d.market.listing(listing_id).state == LISTING_ACTIVE  # others may buy too
    assert d.buy_queries(d.carol, listing_id, MAX_Q) == FIRST_ID + 1
    assert cur.held(d.bob) == bob_before - 10 * QUERY_PRICE
    assert cur.escrowed() == (10 + MAX_Q) * QUERY_PRICE
    assert d.catalog.ownerOf(token_id) == d.alice.address
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("stage", ["unknown", "market-listing"])
def test_buy_queries_rejects_listing_not_here(d: Deployment, deployment: Deployment, stage: str) -> None:
    """Ids of the Market's listings mean nothing to UseRights (its ids start above ID_OFFSET)."""
    listing_id = FIRST_ID + 98 if stage == "unknown" else deployment.publish_and_list(d.alice)[1]
    with d.env.prank(d.bob.address), boa.reverts("use-rights: listing not active"):
        d.market.buy_queries(listing_id, 1, value=QUERY_PRICE)


@pytest.mark.parametrize("stage", ["sold", "escrowed"])
def test_buy_queries_rejects_listing_whose_seller_no_longer_owns_the_token(
    d: Deployment, deployment: Deployment, stage: str
) -> None:
    """Holding the data NFT is owning the data (Catalog): once Alice sold the dataset itself to Bob, or put it in
    the market's custody for an ownership sale, her use-right listing must stop selling queries to Carol."""
    token_id = d.publish(d.alice)
    use_listing = d.list_use_right(d.alice, token_id, QUERY_PRICE)
    m = deployment  # the Market side
    with d.env.prank(d.alice.address):
        d.catalog.setApprovalForAll(m.market.address, True)
    sale_listing = m.list_token(d.alice, token_id, PRICE)
    if stage == "sold":
        order_id = m.buy(d.bob, sale_listing)
        m.deliver(order_id)
        m.confirm(order_id)
        assert d.catalog.ownerOf(token_id) == d.bob.address
    else:
        assert d.catalog.ownerOf(token_id) == m.market.address
    with d.env.prank(d.carol.address), boa.reverts("use-rights: seller not token owner"):
        d.market.buy_queries(use_listing, 1, value=QUERY_PRICE)


@pytest.mark.parametrize("queries", [0, MAX_Q + 1])
def test_buy_queries_rejects_bad_query_count(d: Deployment, queries: int) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, MAX_Q)
    with d.env.prank(d.bob.address), boa.reverts("use-rights: bad query count"):
        d.market.buy_queries(listing_id, queries, value=queries * QUERY_PRICE)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("alice", "use-rights: own listing"),
        ("erin", "use-rights: buyer not audited"),
        ("dave", "use-rights: buyer not audited"),
    ],
)
def test_buy_queries_rejects_ineligible_buyer(d: Deployment, who: str, message: str) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE)
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        d.market.buy_queries(listing_id, 1, value=QUERY_PRICE)


def test_buy_queries_rejects_seller_suspended(d: Deployment) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("use-rights: seller not audited"):
        d.market.buy_queries(listing_id, 1, value=QUERY_PRICE)


@pytest.mark.parametrize("value", [0, 2 * QUERY_PRICE - 1, 2 * QUERY_PRICE + 1])
def test_buy_queries_rejects_wrong_value(d: Deployment, value: int) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE)
    with d.env.prank(d.bob.address), boa.reverts("use-rights: wrong value"):
        d.market.buy_queries(listing_id, 2, value=value)


def test_buy_queries_rejects_ether_for_a_token_listing(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, payment_token=demo_token.address)
    with d.env.prank(d.bob.address), boa.reverts("use-rights: wrong value"):
        d.market.buy_queries(listing_id, 1, value=QUERY_PRICE)


def test_buy_queries_rejects_fee_on_transfer_token(d: Deployment, fee_token: Any) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, payment_token=fee_token.address)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer short"):
        d.market.buy_queries(listing_id, 1)


def test_buy_queries_rejects_token_returning_false(d: Deployment, false_token: Any) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, payment_token=false_token.address)
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.buy_queries(listing_id, 1)
    assert d.market.escrowed(false_token.address) == 0


def test_order_amount_above_the_packed_width_is_refused(d: Deployment) -> None:
    """Orders keep their amount in 160 bits (Market.vy storage packing): a larger amount — only possible with an
    ERC-20 of absurd supply — is refused instead of being truncated."""
    token_id = d.publish(d.alice)
    listing_id = d.list_use_right(d.alice, token_id, 2**150, 2**10)
    with d.env.prank(d.bob.address):
        d.env.set_balance(d.bob.address, 2**200)
        with boa.reverts("use-rights: amount too large"):
            d.market.buy_queries(listing_id, 2**10, value=2**160)
    with d.env.prank(d.bob.address):
        d.market.buy_queries(listing_id, 2**10 - 1, value=2**150 * (2**10 - 1))
    assert d.market.order(ID_OFFSET + d.market.order_count()).amount == 2**150 * (2**10 - 1)


@FUZZ
@given(
    management_fee=st.integers(min_value=0, max_value=MAX_MANAGEMENT_FEE),
    price=st.integers(min_value=1, max_value=10**20),
    queries=st.integers(min_value=1, max_value=MAX_Q),
    delta=st.integers(min_value=-2, max_value=2),
)
def test_listing_and_prepayment_value_fuzz(
    d: Deployment, management_fee: int, price: int, queries: int, delta: int
) -> None:
    """Listing needs exactly the management fee (owed to the platform at once), prepaying exactly price ×
    queries (escrowed); any other msg.value is refused and nothing changes."""
    with d.env.anchor():
        set_parameters(d, management_fee=management_fee)
        token_id = d.publish(d.alice)
        terms = (token_id, price, MAX_Q, USAGE_WINDOW, ETHER, POLICY_HASH)
        if delta != 0 and management_fee + delta >= 0:
            with d.env.prank(d.alice.address), boa.reverts("use-rights: wrong value"):
                d.market.list_use_right(*terms, value=management_fee + delta)
        with d.env.prank(d.alice.address):
            listing_id = d.market.list_use_right(*terms, value=management_fee)
        assert (d.pending(d.platform), d.market.escrowed(ETHER)) == (management_fee, 0)
        if delta != 0 and price * queries + delta >= 0:
            with d.env.prank(d.bob.address), boa.reverts("use-rights: wrong value"):
                d.market.buy_queries(listing_id, queries, value=price * queries + delta)
            assert d.market.order_count() == 0
        with d.env.prank(d.bob.address):
            order_id = d.market.buy_queries(listing_id, queries, value=price * queries)
        assert order_id == FIRST_ID
        assert d.market.escrowed(ETHER) == price * queries == d.market.order(order_id).amount
        d.assert_solvent()


# --- record_query -------------------------------------------------------------------------------------------


def test_record_query_pays_the_seller_per_query(d: Deployment, cur: Currency) -> None:
    _, _, order_id = use_right_order(d, 3, cur)
    for index in range(3):
        query_hash = digest(f"query-{index}")
        signature = d.sign_query(d.bob, order_id, index, query_hash)
        with d.env.prank(d.alice.address):
            d.market.record_query(order_id, query_hash, RESULT_HASH, signature)
        assert_event(
            d.market,
            "QueryAnswered",
            order_id=order_id,
            index=index,
            query_hash=query_hash,
            result_hash=RESULT_HASH,
            seller_amount=QUERY_PRICE - QUERY_FEE,
            fee=QUERY_FEE,
        )
        order = d.market.order(order_id)
        assert (order.amount, order.queries_left, order.queries_total, order.state) == (
            (2 - index) * QUERY_PRICE,
            2 - index,
            3,
            ORDER_PAID,
        )
        assert cur.pending(d.alice) == (index + 1) * (QUERY_PRICE - QUERY_FEE)
        assert cur.pending(d.platform) == (index + 1) * QUERY_FEE
        assert cur.escrowed() == (2 - index) * QUERY_PRICE
        d.assert_solvent(*cur.tokens)


def test_record_query_accepts_compact_eip2098_signature(d: Deployment) -> None:
    _, _, order_id = use_right_order(d, 2)
    signature = d.sign_query(d.bob, order_id, 0, QUERY_HASH)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    compact = r + ((v - 27) << 255 | s).to_bytes(32, "big")
    with d.env.prank(d.alice.address):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, compact)
        with boa.reverts("use-rights: bad buyer signature"):  # nor can the compact form be replayed
            d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, compact)
    assert d.market.order(order_id).queries_left == 1


def test_record_query_rejects_replayed_signature(d: Deployment) -> None:
    """The signed index is the number of queries used so far: once recorded, the signature is spent."""
    _, _, order_id = use_right_order(d, 3)
    signature = d.sign_query(d.bob, order_id, 0, QUERY_HASH)
    with d.env.prank(d.alice.address):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)
        with boa.reverts("use-rights: bad buyer signature"):
            d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)
    assert d.market.order(order_id).queries_left == 2
    assert d.pending(d.alice) == QUERY_PRICE - QUERY_FEE


@pytest.mark.parametrize("tamper", ["wrong-signer", "wrong-order", "wrong-query", "future-index", "other-market"])
def test_record_query_rejects_bad_buyer_signature(d: Deployment, use_rights_deployer: Any, tamper: str) -> None:
    _, _, order_id = use_right_order(d, 3)
    _, _, other_order = use_right_order(d, 3)
    signer, signed_order, index, query_hash = d.bob, order_id, 0, QUERY_HASH
    if tamper == "wrong-signer":
        signer = d.carol
    elif tamper == "wrong-order":
        signed_order = other_order
    elif tamper == "wrong-query":
        query_hash = digest("another query")
    elif tamper == "future-index":
        index = 1
    signature = d.sign_query(signer, signed_order, index, query_hash)
    if tamper == "other-market":  # same order id, index and query, but another UseRights' domain
        with d.env.prank(d.platform.address):
            other = use_rights_deployer.deploy(d.registry.address, d.catalog.address, FEE_BPS)
        message = {
            "types": QUERY_REQUEST_TYPES,
            "primaryType": "QueryRequest",
            "domain": {
                "name": "Datagora UseRights",
                "version": "1",
                "chainId": d.chain_id,
                "verifyingContract": other.address,
            },
            "message": {"orderId": order_id, "index": 0, "queryHash": QUERY_HASH},
        }
        signature = bytes(Account.sign_message(encode_typed_data(full_message=message), d.bob.key).signature)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: bad buyer signature"):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)


@pytest.mark.parametrize("stage", ["unknown", "expired"])
def test_record_query_rejects_order_not_paid(d: Deployment, stage: str) -> None:
    _, _, order_id = use_right_order(d, 3)
    if stage == "unknown":
        order_id += 1
    else:
        d.env.time_travel(seconds=USAGE_WINDOW + 1)
        d.market.expire(order_id)
    signature = d.sign_query(d.bob, order_id, 0, QUERY_HASH)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: order not paid"):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_record_query_rejects_not_seller(d: Deployment, who: str) -> None:
    _, _, order_id = use_right_order(d, 3)
    signature = d.sign_query(d.bob, order_id, 0, QUERY_HASH)
    with d.env.prank(getattr(d, who).address), boa.reverts("use-rights: not seller"):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)


def test_record_query_rejects_after_the_usage_window(d: Deployment) -> None:
    _, _, order_id = use_right_order(d, 3)
    d.env.time_travel(seconds=USAGE_WINDOW)
    record(d, order_id)  # at the deadline: still usable
    d.env.time_travel(seconds=1)
    signature = d.sign_query(d.bob, order_id, 1, QUERY_HASH)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: usage window over"):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)


def test_record_query_rejects_when_no_queries_left(d: Deployment) -> None:
    _, _, order_id = use_right_order(d, 1)
    record(d, order_id)
    signature = d.sign_query(d.bob, order_id, 1, QUERY_HASH)
    with d.env.prank(d.alice.address), boa.reverts("use-rights: no queries left"):
        d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)


def test_query_digest_is_the_eip712_hash(d: Deployment) -> None:
    message = {
        "types": QUERY_REQUEST_TYPES,
        "primaryType": "QueryRequest",
        "domain": {
            "name": "Datagora UseRights",
            "version": "1",
            "chainId": d.chain_id,
            "verifyingContract": d.market.address,
        },
        "message": {"orderId": 7, "index": 3, "queryHash": QUERY_HASH},
    }
    signable = encode_typed_data(full_message=message)
    expected = keccak(b"\x19\x01" + signable.header + signable.body)
    assert d.market.query_digest(7, 3, QUERY_HASH) == expected


# --- expire -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("used", "state"), [(0, ORDER_REFUNDED), (4, ORDER_COMPLETED), (10, ORDER_COMPLETED)])
def test_expire_returns_the_unused_credit(d: Deployment, cur: Currency, used: int, state: int) -> None:
    _, listing_id, order_id = use_right_order(d, 10, cur)
    for _ in range(used):
        record(d, order_id)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    with d.env.prank(d.mallory.address):
        d.market.expire(order_id)

    refund = (10 - used) * QUERY_PRICE
    assert_event(
        d.market,
        "Settled",
        order_id=order_id,
        listing_id=listing_id,
        outcome=OUTCOME_USE_RIGHT_EXPIRED,
        seller_credit=0,
        buyer_credit=refund,
        fee=0,
    )
    order = d.market.order(order_id)
    assert (order.state, order.amount, order.queries_left) == (state, 0, 10 - used)
    assert tuple(d.market.order_parties(order_id)) == (d.bob.address, d.alice.address, state, used > 0, True)
    assert cur.pending(d.bob) == refund
    assert cur.pending(d.alice) == used * (QUERY_PRICE - QUERY_FEE)
    assert cur.escrowed() == 0
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("stage", ["unknown", "expired"])
def test_expire_rejects_order_not_paid(d: Deployment, stage: str) -> None:
    _, _, order_id = use_right_order(d, 3)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    if stage == "unknown":
        order_id += 1
    else:
        d.market.expire(order_id)
    with boa.reverts("use-rights: order not paid"):
        d.market.expire(order_id)
    assert d.pending(d.bob) == (3 * QUERY_PRICE if stage == "expired" else 0)


def test_expire_rejects_within_the_usage_window(d: Deployment) -> None:
    _, _, order_id = use_right_order(d, 3)
    d.env.time_travel(seconds=USAGE_WINDOW)
    with boa.reverts("use-rights: usage window not over"):
        d.market.expire(order_id)


@FUZZ
@given(
    price=st.integers(min_value=1, max_value=10**20),
    bought=st.integers(min_value=1, max_value=12),
    used=st.integers(min_value=0, max_value=14),
    fee_bps=st.integers(min_value=0, max_value=MAX_FEE_BPS),
)
def test_use_right_query_counts_fuzz(d: Deployment, price: int, bought: int, used: int, fee_bps: int) -> None:
    """Recording stops at the prepaid count; after expiry the seller has used * (price - fee), the platform
    used * fee and the buyer the unused credit, with fee = price * fee_bps // 10_000 per query."""
    with d.env.anchor():
        set_parameters(d, fee_bps=fee_bps)
        token_id = d.publish(d.alice)
        listing_id = d.list_use_right(d.alice, token_id, price, 12, USAGE_WINDOW)
        order_id = d.buy_queries(d.bob, listing_id, bought)
        for index in range(used):
            if index >= bought:
                signature = d.sign_query(d.bob, order_id, index, QUERY_HASH)
                with d.env.prank(d.alice.address), boa.reverts("use-rights: no queries left"):
                    d.market.record_query(order_id, QUERY_HASH, RESULT_HASH, signature)
                break
            record(d, order_id)
        done = min(used, bought)
        fee = price * fee_bps // 10_000
        assert d.market.order(order_id).queries_left == bought - done
        d.env.time_travel(seconds=USAGE_WINDOW + 1)
        d.market.expire(order_id)
        assert d.pending(d.alice) == done * (price - fee)
        assert d.pending(d.platform) == done * fee
        assert d.pending(d.bob) == (bought - done) * price
        assert d.market.order(order_id).state == (ORDER_REFUNDED if done == 0 else ORDER_COMPLETED)
        assert d.market.escrowed(ETHER) == 0
        d.assert_solvent()


# --- withdraw -----------------------------------------------------------------------------------------------


def test_withdraw_pays_the_seller_the_platform_and_the_buyer(d: Deployment, cur: Currency) -> None:
    _, _, order_id = use_right_order(d, 3, cur)
    record(d, order_id)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(order_id)
    owed = {d.alice: QUERY_PRICE - QUERY_FEE, d.platform: QUERY_FEE, d.bob: 2 * QUERY_PRICE}
    for who, amount in owed.items():
        before = cur.held(who)
        with d.env.prank(who.address):
            d.market.withdraw(cur.address)
        assert_event(d.market, "Withdrawn", account=who.address, payment_token=cur.address, amount=amount)
        assert cur.held(who) == before + amount
        assert cur.pending(who) == 0
    assert cur.held(d.market) == 0
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("who", ["bob", "mallory"])
def test_withdraw_rejects_nothing_owed(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("escrow: nothing to withdraw"):
        d.market.withdraw(ETHER)


def test_withdraw_rejects_token_returning_false_and_keeps_the_debt(d: Deployment, false_token: Any) -> None:
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), QUERY_PRICE, payment_token=false_token.address)
    order_id = d.buy_queries(d.bob, listing_id, 1)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(order_id)
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.withdraw(false_token.address)
    assert d.pending(d.bob, false_token.address) == QUERY_PRICE


def test_market_and_use_rights_keep_separate_books(d: Deployment, deployment: Deployment) -> None:
    """Each deployable holds its own escrow: what UseRights owes is withdrawn from UseRights, not the Market."""
    _, _, order_id = use_right_order(d, 1)
    d.env.time_travel(seconds=USAGE_WINDOW + 1)
    d.market.expire(order_id)
    assert (d.pending(d.bob), deployment.pending(d.bob)) == (QUERY_PRICE, 0)
    with d.env.prank(d.bob.address), boa.reverts("escrow: nothing to withdraw"):
        deployment.market.withdraw(ETHER)
