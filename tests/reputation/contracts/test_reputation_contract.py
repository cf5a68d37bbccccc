"""Reputation.vy: ratings between the parties of a settled Market or UseRights order (Wu et al.; Mehdi et al.:
reputation).

Default sale in these tests: Alice (Acme) sells to Bob (Beta) at 1 ether with a 0.1 ether double deposit, or
Bob prepays queries of Alice's dataset (use-right, in UseRights). The parties may rate each other only after an order in
which something was delivered, i.e. a completed one (confirmed, released, resolved for the seller or
redelivered, use-right expired after use); not after a refund (not delivered, resolved for the buyer, dispute
timeout, use-right expired unused), and never when both belong to one organisation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits import compiled_contracts
from tests.kits.contract_kit import (
    DISPUTE_WINDOW,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    RULING_FOR_BUYER,
    RULING_FOR_SELLER,
    RULING_REDELIVERED,
    STATUS_SUSPENDED,
    USE_RIGHTS_ID_OFFSET,
    Deployment,
    assert_event,
    assert_no_event,
    digest,
)

DELIVERY_WINDOW, CONFIRM_WINDOW, USAGE_WINDOW = 3_600, 7_200, 86_400
COLLATERAL = 10**17

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="session")
def reputation_deployer() -> Any:
    return compiled_contracts.deployer("Reputation.vy")


@pytest.fixture(scope="module")
def reputation(deployment: Deployment, reputation_deployer: Any) -> Any:
    """Reputation bound to the module deployment's Market, UseRights and Registry, deployed once per module by
    the platform."""
    with deployment.env.prank(deployment.platform.address):
        return reputation_deployer.deploy(
            deployment.market.address, deployment.use_rights.address, deployment.registry.address
        )


def use_rights_side(d: Deployment) -> Deployment:
    """The deployment with UseRights in the ``market`` slot, for the kit's use-right helpers."""
    return dataclasses.replace(d, market=d.use_rights)


def sale(d: Deployment) -> int:
    """A Paid ownership order: Alice sells to Bob at 1 ether with a 0.1 ether double deposit."""
    _, _, order_id = d.sale(d.alice, d.bob, collateral=COLLATERAL, delivery_window=DELIVERY_WINDOW)
    return order_id


def use_right(d: Deployment, queries: int = 3) -> int:
    """A Paid use-right order: Bob prepays ``queries`` queries of Alice's dataset."""
    d = use_rights_side(d)
    listing_id = d.list_use_right(d.alice, d.publish(d.alice), 10**16, 10, USAGE_WINDOW)
    return d.buy_queries(d.bob, listing_id, queries)


def answer(d: Deployment, order_id: int, count: int) -> None:
    """Alice records ``count`` queries of ``order_id``, each signed by Bob."""
    d = use_rights_side(d)
    for index in range(count):
        query_hash = digest(f"query-{index}")
        signature = d.sign_query(d.bob, order_id, index, query_hash)
        with d.env.prank(d.alice.address):
            d.market.record_query(order_id, query_hash, digest("result"), signature)


def deliver_and(d: Deployment, order_id: int, then: str) -> None:
    d.deliver(order_id)
    if then == "confirm":
        d.confirm(order_id)
    elif then == "release":
        d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
        d.market.release(order_id)
    else:
        with d.env.prank(d.bob.address):
            d.market.dispute(order_id, digest("reason"))
        if then == "timeout":
            d.env.time_travel(seconds=DISPUTE_WINDOW + 1)
            d.market.refund(order_id)
        else:
            with d.env.prank(d.platform.address):
                rulings = {"for-seller": RULING_FOR_SELLER, "redelivered": RULING_REDELIVERED}
                ruling = rulings.get(then, RULING_FOR_BUYER)
                d.market.resolve(order_id, ruling, digest("evidence"))


def parties_of(d: Deployment, order_id: int) -> tuple[str, str, int, bool, bool]:
    """``order_parties`` from the contract that holds ``order_id`` (UseRights above its offset)."""
    return (d.use_rights if order_id > USE_RIGHTS_ID_OFFSET else d.market).order_parties(order_id)  # type: ignore[no-any-return]


def settle(d: Deployment, kind: str) -> int:
    """An order settled the ``kind`` way (a key of SETTLEMENTS); returns its id."""
    if kind.startswith("use-right"):
        order_id = use_right(d)
        answer(d, order_id, 0 if kind == "use-right-unused" else 2)
        d.env.time_travel(seconds=USAGE_WINDOW + 1)
        d.use_rights.expire(order_id)
        return order_id
    order_id = sale(d)
    if kind == "not-delivered":
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        d.market.refund(order_id)
    else:
        deliver_and(d, order_id, kind)
    return order_id


# Settlement kind -> the order's final state (states.vy ORDER_COMPLETED = 4, ORDER_REFUNDED = 5) and whether
# something was delivered under it (order_parties' fourth value).
SETTLEMENTS = {
    "confirm": (ORDER_COMPLETED, True),
    "release": (ORDER_COMPLETED, True),
    "for-seller": (ORDER_COMPLETED, True),
    "redelivered": (ORDER_COMPLETED, True),
    "not-delivered": (ORDER_REFUNDED, False),
    "for-buyer": (ORDER_REFUNDED, True),
    "timeout": (ORDER_REFUNDED, True),
    "use-right-used": (ORDER_COMPLETED, True),
    "use-right-unused": (ORDER_REFUNDED, False),
}


COMPLETED = [kind for kind, (state, _) in SETTLEMENTS.items() if state == ORDER_COMPLETED]
REFUNDED_AFTER_DELIVERY = [kind for kind, (state, done) in SETTLEMENTS.items() if state == ORDER_REFUNDED and done]
NOTHING_DELIVERED = [kind for kind, (_, delivered) in SETTLEMENTS.items() if not delivered]
RATEABLE = COMPLETED + REFUNDED_AFTER_DELIVERY


def completed(d: Deployment) -> int:
    """A completed order (Alice sells to Bob, delivered and confirmed); returns its id."""
    return settle(d, "confirm")


def rate(d: Deployment, reputation: Any, who: Any, order_id: int, score: int) -> None:
    with d.env.prank(who.address):
        reputation.rate(order_id, score)


# --- deployment ---------------------------------------------------------------------------------------------


def test_deployment_binds_the_market(d: Deployment, reputation: Any) -> None:
    assert (reputation.MARKET(), reputation.USE_RIGHTS()) == (d.market.address, d.use_rights.address)
    assert reputation.REGISTRY() == d.registry.address
    assert reputation.summary(d.alice.address) == (0, 0)
    assert (reputation.MIN_SCORE(), reputation.MAX_SCORE()) == (1, 5)
    assert reputation.reputation(d.alice.address) == (0, 0)
    assert reputation.average_x100(d.alice.address) == 0


# --- rate: success ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", RATEABLE)
def test_buyer_rates_seller_and_seller_rates_buyer_after_each_completion(
    d: Deployment, reputation: Any, kind: str
) -> None:
    order_id = settle(d, kind)
    source = d.use_rights if kind.startswith("use-right") else d.market
    assert tuple(source.order_parties(order_id)) == (d.bob.address, d.alice.address, *SETTLEMENTS[kind], True)

    rate(d, reputation, d.bob, order_id, 4)
    assert_event(reputation, "Rated", order_id=order_id, rater=d.bob.address, ratee=d.alice.address, score=4)
    assert reputation.rated(order_id, d.bob.address)
    assert not reputation.rated(order_id, d.alice.address)
    assert reputation.reputation(d.alice.address) == (4, 1)
    assert reputation.reputation(d.bob.address) == (0, 0)

    rate(d, reputation, d.alice, order_id, 2)
    assert_event(reputation, "Rated", order_id=order_id, rater=d.alice.address, ratee=d.bob.address, score=2)
    assert reputation.rated(order_id, d.alice.address)
    assert reputation.reputation(d.bob.address) == (2, 1)
    assert reputation.average_x100(d.bob.address) == 200
    assert reputation.average_x100(d.alice.address) == 400
    assert reputation.summary(d.alice.address) == (400, 1)


def test_market_and_use_rights_orders_are_rated_apart(d: Deployment, reputation: Any) -> None:
    """An id names one order across both sale contracts: UseRights' ids start above its offset, so rating a
    use-right order reads UseRights and never marks the Market order with the same counter as rated."""
    market_order = settle(d, "confirm")
    use_right_order = settle(d, "use-right-used")
    assert (market_order, use_right_order) == (1, USE_RIGHTS_ID_OFFSET + 1)
    rate(d, reputation, d.bob, use_right_order, 3)
    assert not reputation.rated(market_order, d.bob.address)
    rate(d, reputation, d.bob, market_order, 5)
    assert reputation.reputation(d.alice.address) == (8, 2)


def test_averages_over_several_orders(d: Deployment, reputation: Any) -> None:
    scores = [5, 4, 4]
    for score in scores:
        rate(d, reputation, d.bob, completed(d), score)
    assert reputation.reputation(d.alice.address) == (13, 3)
    assert reputation.average_x100(d.alice.address) == 433  # 4.333… rounded down
    assert reputation.summary(d.alice.address) == (433, 3)  # the average beside the volume
    assert reputation.average_x100(d.carol.address) == 0


# --- rate: guards -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 6, 255])
def test_score_out_of_range_reverts(d: Deployment, reputation: Any, score: int) -> None:
    order_id = completed(d)
    with boa.reverts("reputation: bad score"):
        rate(d, reputation, d.bob, order_id, score)


@pytest.mark.parametrize(
    "stage",
    [
        "unknown",
        "unknown-use-right",
        "paid",
        "delivered",
        "disputed",
        "use-right-paid",
        "use-right-used-up",
        "use-right-in-window",
    ],
)
def test_unsettled_order_reverts(d: Deployment, reputation: Any, stage: str) -> None:
    if stage == "unknown":
        order_id = 999
    elif stage == "unknown-use-right":
        order_id = USE_RIGHTS_ID_OFFSET + 999
    elif stage.startswith("use-right"):
        order_id = use_right(d, queries=2)
        if stage == "use-right-used-up":  # every query answered, but the order only settles at expiry
            answer(d, order_id, 2)
        elif stage == "use-right-in-window":
            d.env.time_travel(seconds=USAGE_WINDOW)
    else:
        order_id = sale(d)
        if stage != "paid":
            d.deliver(order_id)
        if stage == "disputed":
            with d.env.prank(d.bob.address):
                d.market.dispute(order_id, digest("reason"))
    for rater in (d.bob, d.alice):
        with boa.reverts("reputation: order not completed"):
            rate(d, reputation, rater, order_id, 5)
    assert_no_event(reputation, "Rated")


@pytest.mark.parametrize("kind", NOTHING_DELIVERED)
def test_refunded_order_cannot_be_rated(d: Deployment, reputation: Any, kind: str) -> None:
    """Nothing delivered, nothing to rate: e.g. buy one query, never use it, let it expire, rate 1 star."""
    order_id = settle(d, kind)
    assert parties_of(d, order_id)[2:4] == (ORDER_REFUNDED, False)
    for rater in (d.bob, d.alice):
        with boa.reverts("reputation: order not completed"):
            rate(d, reputation, rater, order_id, 1)
    assert reputation.summary(d.alice.address) == reputation.summary(d.bob.address) == (0, 0)


@pytest.mark.parametrize("buyer", ["bob", "carol"])
def test_parties_of_one_organisation_cannot_rate_each_other(d: Deployment, reputation: Any, buyer: str) -> None:
    """Alice and Carol (both Acme) trade at 1 wei with no fee and cannot rate each other; Bob (Beta) can."""
    with d.env.prank(d.platform.address):
        d.market.set_parameters(0, d.market.management_fee(), DISPUTE_WINDOW)
    _, _, order_id = d.sale(d.alice, getattr(d, buyer), price=1)
    d.deliver(order_id)
    d.confirm(order_id)
    for rater in (getattr(d, buyer), d.alice):
        if buyer == "carol":
            with boa.reverts("reputation: parties of one organisation"):
                rate(d, reputation, rater, order_id, 5)
        else:
            rate(d, reputation, rater, order_id, 5)
    expected = (0, 0) if buyer == "carol" else (500, 1)
    assert reputation.summary(d.alice.address) == expected


def order_through(d: Deployment, path: str, buyer: Any) -> int:
    """A Paid order of Alice's (Acme) bought by ``buyer`` through ``path``: a fixed price, an accepted offer, an
    accepted counter, an auction's settlement, or prepaid use-right queries; returns the order id."""
    if path == "use-right":
        d2 = use_rights_side(d)
        listing_id = d2.list_use_right(d.alice, d.publish(d.alice), 10**16, 10, USAGE_WINDOW)
        return d2.buy_queries(buyer, listing_id, 2)
    token_id, price = d.publish(d.alice), 10**18
    if path == "fixed":
        return d.buy(buyer, d.list_token(d.alice, token_id, price))
    if path == "auction":
        listing_id = d.list_auction(d.alice, token_id, price, 10**17, 86_400)
        d.bid(buyer, listing_id, price)
        d.env.time_travel(seconds=86_400)
        return int(d.market.settle(listing_id))
    listing_id = d.list_negotiable(d.alice, token_id, price)
    offer_id = d.make_offer(buyer, listing_id, price)
    if path == "offer":
        with d.env.prank(d.alice.address):
            return int(d.market.accept_offer(offer_id))
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, price // 2)
    with d.env.prank(buyer.address):
        return int(d.market.accept_counter(offer_id, price // 2))


def finish(d: Deployment, path: str, order_id: int, buyer: Any) -> None:
    """Deliver and confirm an ownership order, or answer one query of a use-right order and let it expire."""
    if path == "use-right":
        d2 = use_rights_side(d)
        signature = d2.sign_query(buyer, order_id, 0, digest("query"))
        with d.env.prank(d.alice.address):
            d.use_rights.record_query(order_id, digest("query"), digest("result"), signature)
        d.env.time_travel(seconds=USAGE_WINDOW + 1)
        d.use_rights.expire(order_id)
    else:
        d.deliver(order_id)
        d.confirm(order_id)


@pytest.mark.parametrize("path", ["fixed", "offer", "counter", "auction", "use-right"])
@pytest.mark.parametrize("buyer", ["bob", "carol"])
def test_one_organisation_rule_on_every_way_an_order_opens(
    d: Deployment, reputation: Any, path: str, buyer: str
) -> None:
    """The sale contract compares the parties' organisations when the order opens and keeps the answer
    (order_parties' fifth value), so Reputation need not ask the Registry; an auction's winner is not compared at
    settlement (False), and Reputation asks the Registry. Either way Carol (Acme, like Alice) cannot rate."""
    order_id = order_through(d, path, getattr(d, buyer))
    checked = path != "auction" and buyer == "bob"
    assert parties_of(d, order_id)[4] is checked
    finish(d, path, order_id, getattr(d, buyer))
    assert parties_of(d, order_id)[4] is checked  # kept through every later write of the order
    if buyer == "carol":
        with boa.reverts("reputation: parties of one organisation"):
            rate(d, reputation, d.carol, order_id, 5)
        assert reputation.summary(d.alice.address) == (0, 0)
    else:
        rate(d, reputation, d.bob, order_id, 5)
        assert reputation.summary(d.alice.address) == (500, 1)


def test_registry_names_the_organisation_an_account_trades_for(d: Deployment) -> None:
    """``audited_organisation``: the id for an approved member of an Audited organisation, else 0 (not
    registered, a ToAudit organisation, a suspended one), exactly when ``is_audited`` is false."""
    alice_org = d.registry.organisation_of(d.alice.address)
    assert d.registry.audited_organisation(d.alice.address) == alice_org != 0
    assert d.registry.audited_organisation(d.carol.address) == alice_org
    assert d.registry.audited_organisation(d.bob.address) not in (0, alice_org)
    for outsider in (d.mallory, d.dave, d.erin):  # not registered, ToAudit, a customer
        assert d.registry.audited_organisation(outsider.address) == 0
        assert not d.registry.is_audited(outsider.address)
    with d.env.anchor():
        listing_id = d.list_token(d.alice, d.publish(d.alice), 10**18)
        d.set_status(alice_org, STATUS_SUSPENDED)
        assert d.registry.audited_organisation(d.alice.address) == 0
        with boa.reverts("market: seller not audited"):
            d.buy(d.bob, listing_id)


@pytest.mark.parametrize("outsider", ["carol", "mallory", "platform"])
@pytest.mark.parametrize("kind", ["confirm", "use-right-used"])
def test_non_party_reverts(d: Deployment, reputation: Any, outsider: str, kind: str) -> None:
    order_id = settle(d, kind)
    with boa.reverts("reputation: not a party"):
        rate(d, reputation, getattr(d, outsider), order_id, 5)


@pytest.mark.parametrize("party", ["bob", "alice"])
def test_second_rating_by_the_same_party_reverts(d: Deployment, reputation: Any, party: str) -> None:
    order_id = completed(d)
    rate(d, reputation, getattr(d, party), order_id, 5)
    with boa.reverts("reputation: already rated"):
        rate(d, reputation, getattr(d, party), order_id, 1)
    ratee = d.alice if party == "bob" else d.bob
    assert reputation.reputation(ratee.address) == (5, 1)


# --- fuzz ---------------------------------------------------------------------------------------------------


@FUZZ
@given(buyer_score=st.integers(min_value=0, max_value=255), seller_score=st.integers(min_value=0, max_value=255))
def test_scores_fuzz(d: Deployment, reputation: Any, buyer_score: int, seller_score: int) -> None:
    """Scores 1..5 are recorded as given; anything else reverts and records nothing."""
    with d.env.anchor():
        order_id = completed(d)
        for rater, ratee, score in ((d.bob, d.alice, buyer_score), (d.alice, d.bob, seller_score)):
            if 1 <= score <= 5:
                rate(d, reputation, rater, order_id, score)
                assert reputation.reputation(ratee.address) == (score, 1)
                assert reputation.average_x100(ratee.address) == score * 100
            else:
                with boa.reverts("reputation: bad score"):
                    rate(d, reputation, rater, order_id, score)
                assert reputation.reputation(ratee.address) == (0, 0)
                assert not reputation.rated(order_id, rater.address)


@settings(FUZZ, max_examples=15)
@given(
    ratings=st.lists(
        st.tuples(st.sampled_from(RATEABLE), st.integers(min_value=1, max_value=5)), min_size=1, max_size=4
    )
)
def test_average_fuzz(d: Deployment, reputation: Any, ratings: list[tuple[str, int]]) -> None:
    """average_x100 == sum * 100 // count over any sequence of ratings, whatever way each order completed."""
    with d.env.anchor():
        for kind, score in ratings:
            rate(d, reputation, d.bob, settle(d, kind), score)
        scores = [score for _, score in ratings]
        assert reputation.reputation(d.alice.address) == (sum(scores), len(scores))
        assert reputation.average_x100(d.alice.address) == sum(scores) * 100 // len(scores)
