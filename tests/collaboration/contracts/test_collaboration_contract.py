"""Collaboration.vy (Mehdi, Mazlin, Sbai, Azghiou): offers and negotiation rounds, DAOs with stakes, nested
channels, revenue split by stake with pull withdrawals, infrastructure requests, heartbeats, termination and
ratings. Each function: success with its events, every guard word for word.

Alice (Acme) is the data service provider (DSP), Bob (Beta) the first value provider (VP1), Dave (Gamma) the
second (VP2), Carol (Acme) a third; Mallory is not registered (not audited).
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.kits.contract_kit import (
    STATUS_SUSPENDED,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    digest,
    events,
    make_account,
    public_key_of,
)

DSP, VP = 1, 2
TERMS = '{"@type": "odrl:Offer"}'
TERMS_HASH = digest("terms")
HOUR = 3_600
DAY = 86_400
ETHER = 10**18


def now(d: Deployment) -> int:
    return int(d.env.evm.patch.timestamp)


def post(d: Deployment, collab: Any, who: Any, *, dao_id: int = 0, role: int = DSP, stake: int = 3_000) -> int:
    timeout = HOUR if dao_id == 0 else 0
    with d.env.prank(who.address):
        return int(collab.post_offer(dao_id, role, TERMS_HASH, stake, timeout, now(d) + DAY, TERMS))


def form(d: Deployment, collab: Any, stake: int = 3_000) -> int:
    """Alice (DSP) and Bob (VP1) form DAO 1 with Bob holding ``stake``."""
    offer_id = post(d, collab, d.alice, stake=stake)
    with d.env.prank(d.bob.address):
        return int(collab.accept(offer_id, d.bob.address, 0))


def join(d: Deployment, collab: Any, dao_id: int, who: Any, stake: int) -> None:
    offer_id = post(d, collab, d.alice, dao_id=dao_id, stake=stake)
    with d.env.prank(who.address):
        collab.accept(offer_id, who.address, 0)


def stake(collab: Any, dao_id: int, who: Any) -> int:
    return int(collab.member(dao_id, who.address).stake_bps)


@pytest.fixture
def dao(d: Deployment, collab: Any) -> int:
    return form(d, collab)


# ------------------------------------------------------------------ offers


def test_post_offer(d: Deployment, collab: Any) -> None:
    expiry = now(d) + DAY
    with d.env.prank(d.alice.address):
        assert collab.post_offer(0, DSP, TERMS_HASH, 2_500, HOUR, expiry, TERMS) == 1
    assert_event(
        collab,
        "OfferPosted",
        offer_id=1,
        poster=d.alice.address,
        dao_id=0,
        poster_role=DSP,
        terms_hash=TERMS_HASH,
        stake_bps=2_500,
        heartbeat_timeout=HOUR,
        expiry=expiry,
        terms=TERMS,
    )
    offer = collab.offer(1)
    assert (offer.poster, offer.state, offer.stake_bps) == (d.alice.address, 1, 2_500)


@pytest.mark.parametrize(
    ("who", "role", "terms_hash", "stake_bps", "timeout", "expiry_delta", "message"),
    [
        ("mallory", DSP, TERMS_HASH, 3_000, HOUR, DAY, "collaboration: not audited"),
        ("alice", 0, TERMS_HASH, 3_000, HOUR, DAY, "collaboration: bad role"),
        ("alice", 3, TERMS_HASH, 3_000, HOUR, DAY, "collaboration: bad role"),
        ("alice", DSP, ZERO_BYTES32, 3_000, HOUR, DAY, "collaboration: empty terms"),
        ("alice", DSP, TERMS_HASH, 0, HOUR, DAY, "collaboration: bad stake"),
        ("alice", DSP, TERMS_HASH, 10_000, HOUR, DAY, "collaboration: bad stake"),
        ("alice", DSP, TERMS_HASH, 3_000, HOUR, 0, "collaboration: bad expiry"),
        ("alice", DSP, TERMS_HASH, 3_000, 59, DAY, "collaboration: bad timeout"),
        ("alice", DSP, TERMS_HASH, 3_000, 365 * DAY + 1, DAY, "collaboration: bad timeout"),
    ],
    ids=["not-audited", "role-0", "role-3", "empty-terms", "stake-0", "stake-all", "expiry", "timeout-low",
         "timeout-high"],
)  # fmt: skip
def test_post_offer_guards(
    d: Deployment,
    collab: Any,
    who: str,
    role: int,
    terms_hash: bytes,
    stake_bps: int,
    timeout: int,
    expiry_delta: int,
    message: str,
) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        collab.post_offer(0, role, terms_hash, stake_bps, timeout, now(d) + expiry_delta, TERMS)


def test_post_offer_to_join_guards(d: Deployment, collab: Any, dao: int) -> None:
    expiry = now(d) + DAY
    with d.env.prank(d.alice.address):
        with boa.reverts("collaboration: bad timeout"):
            collab.post_offer(dao, DSP, TERMS_HASH, 1_000, HOUR, expiry, TERMS)
        with boa.reverts("collaboration: dao not active"):
            collab.post_offer(7, DSP, TERMS_HASH, 1_000, 0, expiry, TERMS)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: not the lead member"):
        collab.post_offer(dao, DSP, TERMS_HASH, 1_000, 0, expiry, TERMS)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: already a member"):
        collab.post_offer(dao, VP, TERMS_HASH, 1_000, 0, expiry, TERMS)


def test_a_dao_holds_sixteen_members(d: Deployment, collab: Any, dao: int) -> None:
    for i in range(14):
        newcomer = make_account(f"vp-{i}")
        d.env.set_balance(newcomer.address, ETHER)
        with d.env.prank(newcomer.address):
            d.registry.register_organisation("Beta", public_key_of(newcomer))
        with d.env.prank(d.bob.address):
            d.registry.approve_member(newcomer.address)
        join(d, collab, dao, newcomer, 100)
    assert collab.dao(dao).seats == 16
    total = sum(int(collab.member(dao, collab.seat_holder(dao, s)).stake_bps) for s in range(16))
    assert total == 10_000
    with d.env.prank(d.alice.address), boa.reverts("collaboration: dao full"):
        collab.post_offer(dao, DSP, TERMS_HASH, 100, 0, now(d) + DAY, TERMS)


def test_negotiation_rounds_until_agreement(d: Deployment, collab: Any) -> None:
    offer_id = post(d, collab, d.alice, stake=2_000)
    with d.env.prank(d.bob.address):
        collab.counter(offer_id, d.bob.address, digest("bob-terms"), 4_000, "bob asks 40 %")
    assert_event(
        collab,
        "OfferCountered",
        offer_id=offer_id,
        counterparty=d.bob.address,
        proposer=d.bob.address,
        round=1,
        terms_hash=digest("bob-terms"),
        stake_bps=4_000,
        terms="bob asks 40 %",
    )
    with d.env.prank(d.alice.address):
        collab.counter(offer_id, d.bob.address, digest("alice-terms"), 3_000, "alice offers 30 %")
    assert collab.proposal(offer_id, d.bob.address).round == 2
    with d.env.prank(d.bob.address):
        with boa.reverts("collaboration: proposal changed"):
            collab.accept(offer_id, d.bob.address, 1)
        dao_id = collab.accept(offer_id, d.bob.address, 2)
    assert_event(
        collab,
        "OfferAccepted",
        offer_id=offer_id,
        counterparty=d.bob.address,
        dao_id=0,
        round=2,
        terms_hash=digest("alice-terms"),
        stake_bps=3_000,
    )
    assert_event(
        collab, "DaoFormed", dao_id=dao_id, founder=d.alice.address, offer_id=offer_id, heartbeat_timeout=HOUR,
        terms_hash=digest("alice-terms"),
    )  # fmt: skip
    joined = events(collab, "MemberJoined")
    assert [(e.member, e.seat, e.stake_bps) for e in joined] == [
        (d.alice.address, 0, 10_000),
        (d.bob.address, 1, 3_000),
    ]
    assert (stake(collab, dao_id, d.alice), stake(collab, dao_id, d.bob)) == (7_000, 3_000)
    assert collab.offer(offer_id).state == 2


def test_a_value_provider_posts_and_the_dsp_accepts_its_counter(d: Deployment, collab: Any) -> None:
    offer_id = post(d, collab, d.bob, role=VP, stake=5_000)
    with d.env.prank(d.alice.address):
        collab.counter(offer_id, d.alice.address, TERMS_HASH, 3_500, TERMS)
    with d.env.prank(d.bob.address):
        dao_id = collab.accept(offer_id, d.alice.address, 1)
    assert collab.dao(dao_id).founder == d.alice.address
    assert (stake(collab, dao_id, d.alice), stake(collab, dao_id, d.bob)) == (6_500, 3_500)


def test_counter_and_accept_guards(d: Deployment, collab: Any) -> None:
    offer_id = post(d, collab, d.alice)
    with d.env.prank(d.alice.address):
        with boa.reverts("collaboration: no negotiation"):
            collab.counter(offer_id, d.bob.address, TERMS_HASH, 2_000, TERMS)
        with boa.reverts("collaboration: bad counterparty"):
            collab.counter(offer_id, d.alice.address, TERMS_HASH, 2_000, TERMS)
        with boa.reverts("collaboration: not your turn"):
            collab.accept(offer_id, d.bob.address, 0)
    with d.env.prank(d.bob.address):
        with boa.reverts("collaboration: bad counterparty"):
            collab.counter(offer_id, d.dave.address, TERMS_HASH, 2_000, TERMS)
        with boa.reverts("collaboration: empty terms"):
            collab.counter(offer_id, d.bob.address, ZERO_BYTES32, 2_000, TERMS)
        with boa.reverts("collaboration: bad stake"):
            collab.counter(offer_id, d.bob.address, TERMS_HASH, 10_000, TERMS)
        collab.counter(offer_id, d.bob.address, TERMS_HASH, 2_000, TERMS)
        with boa.reverts("collaboration: not your turn"):
            collab.counter(offer_id, d.bob.address, TERMS_HASH, 2_500, TERMS)
        with boa.reverts("collaboration: not your turn"):
            collab.accept(offer_id, d.bob.address, 1)
    with d.env.prank(d.mallory.address), boa.reverts("collaboration: not audited"):
        collab.counter(offer_id, d.mallory.address, TERMS_HASH, 2_000, TERMS)
    d.env.time_travel(seconds=DAY + 1)
    with d.env.prank(d.alice.address), boa.reverts("collaboration: offer expired"):
        collab.accept(offer_id, d.bob.address, 1)


def test_accept_refuses_a_poster_no_longer_audited(d: Deployment, collab: Any) -> None:
    offer_id = post(d, collab, d.alice)
    with d.env.prank(d.supervisor.address):
        d.registry.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: not audited"):
        collab.accept(offer_id, d.bob.address, 0)


def test_join_offer_parties(d: Deployment, collab: Any, dao: int) -> None:
    offer_id = post(d, collab, d.alice, dao_id=dao, stake=2_000)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: already a member"):
        collab.counter(offer_id, d.bob.address, TERMS_HASH, 2_500, TERMS)
    asked = post(d, collab, d.dave, dao_id=dao, role=VP, stake=2_000)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: not the lead member"):
        collab.accept(asked, d.bob.address, 0)
    with d.env.prank(d.dave.address):
        collab.accept(offer_id, d.dave.address, 0)
    with d.env.prank(d.alice.address), boa.reverts("collaboration: already a member"):
        collab.accept(asked, d.alice.address, 0)


def test_withdraw_offer(d: Deployment, collab: Any) -> None:
    offer_id = post(d, collab, d.alice)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: not the poster"):
        collab.withdraw_offer(offer_id)
    with d.env.prank(d.alice.address):
        collab.withdraw_offer(offer_id)
        assert_event(collab, "OfferWithdrawn", offer_id=offer_id, poster=d.alice.address)
        with boa.reverts("collaboration: offer not open"):
            collab.withdraw_offer(offer_id)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: offer not open"):
        collab.accept(offer_id, d.bob.address, 0)


# --------------------------------------------------- joins, stakes, channels


def test_a_newcomer_scales_the_group_it_joins(d: Deployment, collab: Any, dao: int) -> None:
    join(d, collab, dao, d.dave, 2_000)  # the group {alice 70 %, bob 30 %} keeps 80 %
    assert [e.stake_bps for e in events(collab, "StakeChanged")] == [5_600, 2_400]
    assert_event(collab, "MemberJoined", dao_id=dao, member=d.dave.address, seat=2, stake_bps=2_000, key_epoch=3)
    assert (stake(collab, dao, d.alice), stake(collab, dao, d.bob), stake(collab, dao, d.dave)) == (5_600, 2_400, 2_000)
    join(d, collab, dao, d.carol, 333)  # rounding goes to the lead member
    stakes = [stake(collab, dao, w) for w in (d.alice, d.bob, d.dave, d.carol)]
    assert sum(stakes) == 10_000
    assert stakes[1:] == [2_400 * 9_667 // 10_000, 2_000 * 9_667 // 10_000, 333]


def test_channels_nest(d: Deployment, collab: Any, dao: int) -> None:
    join(d, collab, dao, d.dave, 2_000)
    join(d, collab, dao, d.carol, 1_000)
    seen = {
        who: [ch for ch in range(0, 5) if collab.in_channel(dao, ch, getattr(d, who).address)]
        for who in ("alice", "bob", "dave", "carol", "mallory")
    }
    assert seen == {"alice": [1, 2, 3], "bob": [1, 2, 3], "dave": [2, 3], "carol": [3], "mallory": []}


def test_channel_key_and_post(d: Deployment, collab: Any, dao: int) -> None:
    epoch = collab.dao(dao).key_epoch
    with d.env.prank(d.bob.address):
        with boa.reverts("collaboration: channel key not published"):
            collab.post(dao, 1, digest("c"), "blob:1")
        collab.publish_channel_key(dao, 1, digest("envelope"))
        assert_event(
            collab, "ChannelKeyPublished", dao_id=dao, channel=1, publisher=d.bob.address, key_epoch=epoch,
            envelope_hash=digest("envelope"),
        )  # fmt: skip
        with boa.reverts("collaboration: key already published"):
            collab.publish_channel_key(dao, 1, digest("other"))
        with boa.reverts("collaboration: empty hash"):
            collab.publish_channel_key(dao, 1, ZERO_BYTES32)
        assert collab.post(dao, 1, digest("c"), "blob:1") == 1
        assert_event(
            collab, "ChannelPosted", dao_id=dao, channel=1, author=d.bob.address, post_id=1, key_epoch=epoch,
            content_hash=digest("c"), location="blob:1",
        )  # fmt: skip
        with boa.reverts("collaboration: empty hash"):
            collab.post(dao, 1, ZERO_BYTES32, "blob:1")
    join(d, collab, dao, d.dave, 1_000)
    assert collab.dao(dao).key_epoch == epoch + 1
    with d.env.prank(d.dave.address):
        with boa.reverts("collaboration: not in channel"):
            collab.publish_channel_key(dao, 1, digest("envelope-2"))
        with boa.reverts("collaboration: not in channel"):
            collab.post(dao, 1, digest("c2"), "blob:2")
    with d.env.prank(d.bob.address), boa.reverts("collaboration: channel key not published"):
        collab.post(dao, 1, digest("c2"), "blob:2")  # the old epoch's key no longer serves


# ------------------------------------------------------------------ revenue


def test_revenue_split_and_withdrawal(d: Deployment, collab: Any, dao: int) -> None:
    amount = ETHER + 1_234
    with d.env.prank(d.dave.address):
        collab.pay(dao, value=amount)
    assert_event(
        collab, "RevenuePaid", dao_id=dao, payer=d.dave.address, amount=amount, remainder=1_234,
        remainder_to=d.alice.address,
    )  # fmt: skip
    assert collab.claimable(dao, d.alice.address) == ETHER * 7 // 10 + 1_234
    assert collab.claimable(dao, d.bob.address) == ETHER * 3 // 10
    before = d.env.get_balance(d.bob.address)
    with d.env.prank(d.bob.address):
        collab.withdraw(dao)
        assert_event(collab, "Withdrawn", account=d.bob.address, amount=ETHER * 3 // 10)
        with boa.reverts("collaboration: nothing to withdraw"):
            collab.withdraw(dao)
    assert d.env.get_balance(d.bob.address) == before + ETHER * 3 // 10
    with d.env.prank(d.alice.address):
        collab.withdraw(dao)
    assert d.env.get_balance(collab.address) == 0


def test_pay_guards(d: Deployment, collab: Any, dao: int) -> None:
    with d.env.prank(d.dave.address):
        with boa.reverts("collaboration: no value"):
            collab.pay(dao)
        with boa.reverts("collaboration: dao not active"):
            collab.pay(9, value=1)


# ----------------------------------------------- infrastructure and heartbeats


def test_request_infrastructure(d: Deployment, collab: Any, dao: int) -> None:
    spec = '{"workload": "mean-age", "hosts": ["localhost"]}'
    with d.env.prank(d.bob.address):
        collab.request_infrastructure(dao, spec)
        assert_event(collab, "InfrastructureRequested", dao_id=dao, requester=d.bob.address, spec=spec)
        with boa.reverts("collaboration: empty spec"):
            collab.request_infrastructure(dao, "")
    with d.env.prank(d.dave.address), boa.reverts("collaboration: not a member"):
        collab.request_infrastructure(dao, spec)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: dao not active"):
        collab.request_infrastructure(dao + 1, spec)


def test_heartbeat(d: Deployment, collab: Any, dao: int) -> None:
    d.env.time_travel(seconds=100)
    with d.env.prank(d.bob.address):
        collab.heartbeat(dao)
    assert_event(collab, "Heartbeat", dao_id=dao, member=d.bob.address, timestamp=now(d))
    assert collab.last_heartbeat(dao, d.bob.address) == now(d)
    assert collab.heartbeat_timeout(dao) == HOUR
    with d.env.prank(d.dave.address), boa.reverts("collaboration: not a member"):
        collab.heartbeat(dao)


def test_terminate_after_missed_heartbeats(d: Deployment, collab: Any, dao: int) -> None:
    join(d, collab, dao, d.dave, 2_000)  # alice 5,600, bob 2,400, dave 2,000
    with d.env.prank(d.dave.address):
        collab.pay(dao, value=ETHER)
    last = collab.last_heartbeat(dao, d.bob.address)
    d.env.time_travel(seconds=HOUR)
    with d.env.prank(d.alice.address):
        collab.heartbeat(dao)
    with d.env.prank(d.dave.address):
        collab.heartbeat(dao)
    with d.env.prank(d.mallory.address), boa.reverts("collaboration: heartbeat not missed"):
        collab.terminate(dao, d.bob.address)
    d.env.time_travel(seconds=1)
    epoch = collab.dao(dao).key_epoch
    with d.env.prank(d.mallory.address):
        collab.terminate(dao, d.bob.address)
    assert_event(
        collab, "MemberTerminated", dao_id=dao, member=d.bob.address, terminated_by=d.mallory.address,
        last_heartbeat=last, stake_bps=2_400, key_epoch=epoch + 1,
    )  # fmt: skip
    # 2,400 shared pro rata between 5,600 and 2,000: +1,768 and +631, the lost basis point to the lead member.
    assert (stake(collab, dao, d.alice), stake(collab, dao, d.bob), stake(collab, dao, d.dave)) == (7_369, 0, 2_631)
    assert collab.claimable(dao, d.bob.address) == ETHER * 24 // 100  # earned before termination stays its own
    assert not collab.in_channel(dao, 1, d.bob.address)
    with d.env.prank(d.mallory.address), boa.reverts("collaboration: not a member"):
        collab.terminate(dao, d.bob.address)
    with d.env.prank(d.bob.address), boa.reverts("collaboration: not a member"):
        collab.heartbeat(dao)


def test_terminating_down_to_one_member_closes_the_dao(d: Deployment, collab: Any, dao: int) -> None:
    d.env.time_travel(seconds=HOUR + 1)
    with d.env.prank(d.alice.address):
        collab.heartbeat(dao)
        collab.terminate(dao, d.bob.address)
    assert_event(collab, "DaoClosed", dao_id=dao, closed_by=d.alice.address)
    assert collab.dao(dao).state == 2
    assert stake(collab, dao, d.alice) == 10_000
    with d.env.prank(d.alice.address), boa.reverts("collaboration: dao not active"):
        collab.terminate(dao, d.alice.address)


def test_terminating_the_lead_member_moves_the_lead(d: Deployment, collab: Any, dao: int) -> None:
    join(d, collab, dao, d.dave, 2_000)
    d.env.time_travel(seconds=HOUR + 1)
    for who in (d.bob, d.dave):
        with d.env.prank(who.address):
            collab.heartbeat(dao)
    with d.env.prank(d.dave.address):
        collab.terminate(dao, d.alice.address)
    assert collab.dao(dao).lead == d.bob.address
    assert stake(collab, dao, d.bob) + stake(collab, dao, d.dave) == 10_000


# --------------------------------------------------------- closing and rating


def test_close_and_rate(d: Deployment, collab: Any, dao: int) -> None:
    with d.env.prank(d.bob.address):
        with boa.reverts("collaboration: not the lead member"):
            collab.close(dao)
        with boa.reverts("collaboration: not ended"):
            collab.rate(dao, d.alice.address, 5)
    with d.env.prank(d.alice.address):
        collab.close(dao)
        assert_event(collab, "DaoClosed", dao_id=dao, closed_by=d.alice.address)
        with boa.reverts("collaboration: dao not active"):
            collab.close(dao)
    with d.env.prank(d.bob.address):
        collab.rate(dao, d.alice.address, 5)
        assert_event(collab, "Rated", dao_id=dao, rater=d.bob.address, ratee=d.alice.address, score=5)
        with boa.reverts("collaboration: already rated"):
            collab.rate(dao, d.alice.address, 4)
        with boa.reverts("collaboration: bad score"):
            collab.rate(dao, d.alice.address, 0)
        with boa.reverts("collaboration: bad score"):
            collab.rate(dao, d.alice.address, 6)
        with boa.reverts("collaboration: bad ratee"):
            collab.rate(dao, d.bob.address, 3)
        with boa.reverts("collaboration: bad ratee"):
            collab.rate(dao, d.dave.address, 3)
    with d.env.prank(d.dave.address), boa.reverts("collaboration: not a member"):
        collab.rate(dao, d.alice.address, 1)
    assert collab.reputation(d.alice.address) == (5, 1)


def test_a_terminated_member_can_be_rated_at_once(d: Deployment, collab: Any, dao: int) -> None:
    join(d, collab, dao, d.dave, 2_000)
    d.env.time_travel(seconds=HOUR + 1)
    with d.env.prank(d.alice.address):
        collab.heartbeat(dao)
    with d.env.prank(d.dave.address):
        collab.heartbeat(dao)
        collab.terminate(dao, d.bob.address)
    with d.env.prank(d.alice.address):
        collab.rate(dao, d.bob.address, 1)
    assert collab.reputation(d.bob.address) == (1, 1)
