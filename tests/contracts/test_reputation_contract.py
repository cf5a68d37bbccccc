"""Reputation.vy: ratings between the parties of a settled Market order (Wu et al.; Mehdi et al.: reputation).

Default sale in these tests: Alice (Acme) sells to Bob (Beta) at 1 ether; a completed order is delivered and
confirmed, a refunded one is left undelivered past its delivery window and refunded.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.contract_kit import (
    CONTRACTS_DIR,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    Deployment,
    assert_event,
    assert_no_event,
)

DELIVERY_WINDOW = 3_600

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="session")
def reputation_deployer() -> Any:
    return boa.load_partial(str(CONTRACTS_DIR / "Reputation.vy"))


@pytest.fixture(scope="module")
def reputation(deployment: Deployment, reputation_deployer: Any) -> Any:
    """Reputation bound to the module deployment's Market, deployed once per module by the platform."""
    with deployment.env.prank(deployment.platform.address):
        return reputation_deployer.deploy(deployment.market.address)


def completed(d: Deployment) -> int:
    """A completed order (Alice sells to Bob); returns its id."""
    _, _, order_id = d.sale(d.alice, d.bob, delivery_window=DELIVERY_WINDOW)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.market.orders(order_id).state == ORDER_COMPLETED
    return order_id


def refunded(d: Deployment) -> int:
    """A refunded order (Alice sold to Bob, never delivered); returns its id."""
    _, _, order_id = d.sale(d.alice, d.bob, delivery_window=DELIVERY_WINDOW)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    d.market.refund(order_id)
    assert d.market.orders(order_id).state == ORDER_REFUNDED
    return order_id


def rate(d: Deployment, reputation: Any, who: Any, order_id: int, score: int) -> None:
    with d.env.prank(who.address):
        reputation.rate(order_id, score)


# --- deployment ---------------------------------------------------------------------------------------------


def test_deployment_binds_the_market(d: Deployment, reputation: Any) -> None:
    assert reputation.MARKET() == d.market.address
    assert (reputation.MIN_SCORE(), reputation.MAX_SCORE()) == (1, 5)
    assert reputation.reputation(d.alice.address) == (0, 0)
    assert reputation.average_x100(d.alice.address) == 0


# --- rate: success ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("settle", [completed, refunded], ids=["completed", "refunded"])
def test_buyer_rates_seller_and_seller_rates_buyer(d: Deployment, reputation: Any, settle: Any) -> None:
    order_id = settle(d)

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


def test_averages_over_several_orders(d: Deployment, reputation: Any) -> None:
    scores = [5, 4, 4]
    for score in scores:
        rate(d, reputation, d.bob, completed(d), score)
    assert reputation.reputation(d.alice.address) == (13, 3)
    assert reputation.average_x100(d.alice.address) == 433  # 4.333… rounded down
    assert reputation.average_x100(d.carol.address) == 0


# --- rate: guards -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [0, 6, 255])
def test_score_out_of_range_reverts(d: Deployment, reputation: Any, score: int) -> None:
    order_id = completed(d)
    with boa.reverts("reputation: bad score"):
        rate(d, reputation, d.bob, order_id, score)


@pytest.mark.parametrize("stage", ["unknown", "paid", "delivered"])
def test_unsettled_order_reverts(d: Deployment, reputation: Any, stage: str) -> None:
    if stage == "unknown":
        order_id = 999
    else:
        _, _, order_id = d.sale(d.alice, d.bob)
        if stage == "delivered":
            d.deliver(order_id)
    with boa.reverts("reputation: order not settled"):
        rate(d, reputation, d.bob, order_id, 5)
    assert_no_event(reputation, "Rated")


@pytest.mark.parametrize("outsider", ["carol", "mallory", "platform"])
def test_non_party_reverts(d: Deployment, reputation: Any, outsider: str) -> None:
    order_id = completed(d)
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


@FUZZ
@given(scores=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6))
def test_average_fuzz(d: Deployment, reputation: Any, scores: list[int]) -> None:
    """average_x100 == sum * 100 // count over any sequence of ratings."""
    with d.env.anchor():
        for score in scores:
            rate(d, reputation, d.bob, completed(d), score)
        assert reputation.reputation(d.alice.address) == (sum(scores), len(scores))
        assert reputation.average_x100(d.alice.address) == sum(scores) * 100 // len(scores)
