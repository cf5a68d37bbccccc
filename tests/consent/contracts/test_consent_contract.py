"""Consent.vy and RewardToken.vy: consent per data category, consumer organisation and W3C DPV purpose, with a
reward per access paid from the consumer's pre-funded RewardToken deposit (Shrestha, Joshi, Vassileva).

Default consent in these tests: Erin (customer) lets Beta (Bob's organisation) use her purchase history for
marketing for one day, 5 DGR per access; Alice's shop published her item in its stream; Bob deposited 100 DGR.
Every state-changing function has a success test with its event, one failure test per guard (exact message),
and the refusal path records each reason instead of reverting.
"""

from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    STATUS_SUSPENDED,
    TOKEN_START_BALANCE,
    ZERO_ADDRESS,
    assert_event,
    assert_no_event,
    digest,
)
from tests.kits.shopchain_fixtures import (
    CATEGORY,
    CATEGORY_HASH,
    CONSENT_ACTIVE,
    CONSENT_REVOKED,
    DAY,
    MARKETING,
    MARKETING_HASH,
    REFUSED_DEPOSIT_TOO_LOW,
    REFUSED_EXPIRED,
    REFUSED_ITEM_ERASED,
    REFUSED_NO_CONSENT,
    REFUSED_NO_ITEM,
    REFUSED_NOT_CONSUMER,
    REFUSED_REVOKED,
    REFUSED_WRONG_CATEGORY,
    REFUSED_WRONG_PURPOSE,
    RESEARCH,
    RESEARCH_HASH,
    REWARD,
    ShopChain,
)

DEPOSIT = 100 * 10**18


@dataclass
class Granted:
    consent_id: int
    item_id: int
    expiry: int


def publish_item(sc: ShopChain, key: str = "customer-7/purchase-history") -> int:
    d = sc.d
    with d.env.prank(d.alice.address):
        if sc.streams.stream_count() == 0:
            sc.streams.create_stream("acme-shop/customers")
        return int(sc.streams.publish(1, key, digest(key), "https://shop.example/blobs/1"))


def deposit(sc: ShopChain, who: object = None, amount: int = DEPOSIT) -> None:
    account = who or sc.d.bob
    with sc.d.env.prank(account.address):  # type: ignore[attr-defined]
        sc.token.approve(sc.consent.address, amount)
        sc.consent.deposit(amount)


@pytest.fixture
def g(sc: ShopChain) -> Granted:
    d = sc.d
    item_id = publish_item(sc)
    expiry = sc.now() + DAY
    with d.env.prank(d.erin.address):
        consent_id = sc.consent.grant(CATEGORY, d.beta_id, MARKETING, expiry, REWARD)
    deposit(sc)
    return Granted(consent_id, item_id, expiry)


# --- RewardToken ------------------------------------------------------------------------------------------------


def test_reward_token_is_an_erc20_the_owner_mints(sc: ShopChain) -> None:
    d = sc.d
    assert (sc.token.name(), sc.token.symbol(), sc.token.decimals()) == ("Datagora Reward", "DGR", 18)
    assert sc.token.owner() == d.platform.address
    assert sc.token.balanceOf(d.bob.address) == TOKEN_START_BALANCE
    with d.env.prank(d.mallory.address), boa.reverts("erc20: access is denied"):
        sc.token.mint(d.mallory.address, 1)


# --- grant ------------------------------------------------------------------------------------------------------


def test_grant(sc: ShopChain) -> None:
    d = sc.d
    expiry = sc.now() + DAY
    with d.env.prank(d.erin.address):
        consent_id = sc.consent.grant(CATEGORY, d.beta_id, MARKETING, expiry, REWARD)
    assert consent_id == 1
    assert_event(
        sc.consent,
        "ConsentGranted",
        consent_id=1,
        subject=d.erin.address,
        organisation_id=d.beta_id,
        category=CATEGORY,
        purpose=MARKETING,
        category_hash=CATEGORY_HASH,
        purpose_hash=MARKETING_HASH,
        expiry=expiry,
        reward=REWARD,
    )
    assert tuple(sc.consent.consent(1)) == (
        d.erin.address,
        d.beta_id,
        CATEGORY_HASH,
        MARKETING_HASH,
        expiry,
        REWARD,
        CONSENT_ACTIVE,
    )
    assert sc.consent.consent_count() == 1
    assert sc.consent.latest_consent(d.erin.address, CATEGORY_HASH, d.beta_id, MARKETING_HASH) == 1


@pytest.mark.parametrize(
    ("category", "organisation", "purpose", "expiry_offset", "reward", "message"),
    [
        ("", 2, MARKETING, DAY, REWARD, "consent: empty category"),
        (CATEGORY, 2, "", DAY, REWARD, "consent: empty purpose"),
        (CATEGORY, 0, MARKETING, DAY, REWARD, "consent: bad organisation"),
        (CATEGORY, 2**48, MARKETING, DAY, REWARD, "consent: bad organisation"),
        (CATEGORY, 2, MARKETING, 0, REWARD, "consent: expiry in the past"),
        (CATEGORY, 2, MARKETING, 2**40, REWARD, "consent: expiry too far"),
        (CATEGORY, 2, MARKETING, DAY, 2**128, "consent: reward too large"),
    ],
    ids=["empty-category", "empty-purpose", "no-org", "org-too-big", "past", "too-far", "reward-too-large"],
)
def test_grant_guards(
    sc: ShopChain, category: str, organisation: int, purpose: str, expiry_offset: int, reward: int, message: str
) -> None:
    with sc.d.env.prank(sc.d.erin.address), boa.reverts(message):
        sc.consent.grant(category, organisation, purpose, sc.now() + expiry_offset, reward)


def test_grant_twice_while_live_is_refused_and_allowed_after_revoke_or_expiry(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    with d.env.prank(d.erin.address):
        with boa.reverts("consent: already granted"):
            sc.consent.grant(CATEGORY, d.beta_id, MARKETING, g.expiry + DAY, REWARD)
        other = sc.consent.grant(CATEGORY, d.beta_id, RESEARCH, g.expiry, REWARD)  # another purpose: a new consent
        assert other == 2
        sc.consent.revoke(g.consent_id)
        assert sc.consent.grant(CATEGORY, d.beta_id, MARKETING, g.expiry, 0) == 3
    d.env.time_travel(seconds=DAY + 1)
    with d.env.prank(d.erin.address):
        assert sc.consent.grant(CATEGORY, d.beta_id, RESEARCH, sc.now() + DAY, REWARD) == 4
    assert sc.consent.latest_consent(d.erin.address, CATEGORY_HASH, d.beta_id, MARKETING_HASH) == 3
    assert sc.consent.latest_consent(d.erin.address, CATEGORY_HASH, d.beta_id, RESEARCH_HASH) == 4


# --- revoke -----------------------------------------------------------------------------------------------------


def test_revoke(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    with d.env.prank(d.erin.address):
        sc.consent.revoke(g.consent_id)
    assert_event(
        sc.consent, "ConsentRevoked", consent_id=g.consent_id, subject=d.erin.address, organisation_id=d.beta_id
    )
    assert sc.consent.consent(g.consent_id).state == CONSENT_REVOKED


@pytest.mark.parametrize("who", ["bob", "alice", "mallory"])
def test_revoke_by_anyone_but_the_subject_is_refused(sc: ShopChain, g: Granted, who: str) -> None:
    with sc.d.env.prank(getattr(sc.d, who).address), boa.reverts("consent: not the data subject"):
        sc.consent.revoke(g.consent_id)


def test_revoke_twice_or_unknown_is_refused(sc: ShopChain, g: Granted) -> None:
    with sc.d.env.prank(sc.d.erin.address):
        sc.consent.revoke(g.consent_id)
        with boa.reverts("consent: already revoked"):
            sc.consent.revoke(g.consent_id)
        with boa.reverts("consent: not the data subject"):
            sc.consent.revoke(99)


# --- deposits ---------------------------------------------------------------------------------------------------


def test_deposit_and_withdraw_deposit(sc: ShopChain) -> None:
    d = sc.d
    deposit(sc, d.bob, 30)
    assert_event(sc.consent, "Deposited", consumer=d.bob.address, amount=30, balance=30)
    assert sc.consent.deposits(d.bob.address) == 30
    assert sc.token.balanceOf(sc.consent.address) == 30
    assert sc.consent.escrowed(sc.token.address) == 30
    with d.env.prank(d.bob.address):
        sc.consent.withdraw_deposit(12)
        assert_event(sc.consent, "DepositWithdrawn", consumer=d.bob.address, amount=12, balance=18)
        assert sc.consent.pending_withdrawals(d.bob.address, sc.token.address) == 12
        sc.consent.withdraw(sc.token.address)
        assert_event(sc.consent, "Withdrawn", account=d.bob.address, payment_token=sc.token.address, amount=12)
    assert sc.token.balanceOf(d.bob.address) == TOKEN_START_BALANCE - 18
    assert sc.consent.escrowed(sc.token.address) == 18


def test_deposit_guards(sc: ShopChain) -> None:
    d = sc.d
    with d.env.prank(d.bob.address):
        with boa.reverts("consent: zero amount"):
            sc.consent.deposit(0)
        with boa.reverts():  # no allowance: snekmate's erc20 refuses the transferFrom
            sc.consent.deposit(1)
        with boa.reverts("consent: zero amount"):
            sc.consent.withdraw_deposit(0)
        with boa.reverts("consent: deposit too low"):
            sc.consent.withdraw_deposit(1)
        with boa.reverts("escrow: nothing to withdraw"):
            sc.consent.withdraw(sc.token.address)


def test_constructor_refuses_a_token_that_is_not_a_contract(sc: ShopChain, consent_deployer: object) -> None:
    with boa.reverts("consent: token not a contract"):
        consent_deployer.deploy(sc.d.registry.address, sc.streams.address, sc.d.mallory.address)  # type: ignore[attr-defined]


# --- record_access ----------------------------------------------------------------------------------------------


def test_record_access_pays_the_reward(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    with d.env.prank(d.bob.address):
        sc.consent.record_access(g.consent_id, CATEGORY_HASH, MARKETING_HASH, g.item_id)
    assert_event(
        sc.consent,
        "AccessRecorded",
        consent_id=g.consent_id,
        consumer=d.bob.address,
        subject=d.erin.address,
        item_id=g.item_id,
        purpose_hash=MARKETING_HASH,
        reward=REWARD,
    )
    assert sc.consent.deposits(d.bob.address) == DEPOSIT - REWARD
    assert sc.consent.pending_withdrawals(d.erin.address, sc.token.address) == REWARD
    assert sc.consent.access_count() == 1
    with d.env.prank(d.erin.address):
        sc.consent.withdraw(sc.token.address)
    assert sc.token.balanceOf(d.erin.address) == REWARD


def test_any_audited_member_of_the_consumer_organisation_may_access(sc: ShopChain) -> None:
    """Consent is given to an organisation: Carol (Acme) uses a consent to Acme from her own deposit."""
    d = sc.d
    item_id = publish_item(sc)
    with d.env.prank(d.erin.address):
        consent_id = sc.consent.grant(CATEGORY, d.acme_id, MARKETING, sc.now() + DAY, REWARD)
    deposit(sc, d.carol)
    with d.env.prank(d.carol.address):
        sc.consent.record_access(consent_id, CATEGORY_HASH, MARKETING_HASH, item_id)
    assert sc.consent.deposits(d.carol.address) == DEPOSIT - REWARD


def _refusal_setup(sc: ShopChain, g: Granted, case: str) -> tuple[str, int, bytes, bytes, int]:
    """Makes ``case`` true and returns (consumer, consent id, category hash, purpose hash, item id) to ask with."""
    d = sc.d
    consumer, consent_id, category, purpose, item = (
        d.bob.address,
        g.consent_id,
        CATEGORY_HASH,
        MARKETING_HASH,
        g.item_id,
    )
    if case == "no-consent":
        consent_id = 99
    elif case == "other-organisation":
        consumer = d.alice.address
    elif case == "not-audited":
        consumer = d.dave.address
    elif case == "stranger":
        consumer = d.mallory.address
    elif case == "wrong-category":
        category = digest("contact")
    elif case == "wrong-purpose":
        purpose = RESEARCH_HASH
    elif case == "revoked":
        with d.env.prank(d.erin.address):
            sc.consent.revoke(consent_id)
    elif case == "expired":
        d.env.time_travel(seconds=DAY + 1)
    elif case == "no-item":
        item = 99
    elif case == "erased":
        with d.env.prank(d.alice.address):
            sc.streams.erase(item)
    elif case == "deposit-too-low":
        with d.env.prank(d.bob.address):
            sc.consent.withdraw_deposit(DEPOSIT - REWARD + 1)
    return consumer, consent_id, category, purpose, item


REFUSALS = [
    ("no-consent", REFUSED_NO_CONSENT, "consent: no such consent"),
    ("other-organisation", REFUSED_NOT_CONSUMER, "consent: not the consumer"),
    ("not-audited", REFUSED_NOT_CONSUMER, "consent: not the consumer"),
    ("stranger", REFUSED_NOT_CONSUMER, "consent: not the consumer"),
    ("wrong-category", REFUSED_WRONG_CATEGORY, "consent: wrong category"),
    ("wrong-purpose", REFUSED_WRONG_PURPOSE, "consent: wrong purpose"),
    ("revoked", REFUSED_REVOKED, "consent: revoked"),
    ("expired", REFUSED_EXPIRED, "consent: expired"),
    ("no-item", REFUSED_NO_ITEM, "consent: no such item"),
    ("erased", REFUSED_ITEM_ERASED, "consent: item erased"),
    ("deposit-too-low", REFUSED_DEPOSIT_TOO_LOW, "consent: deposit too low"),
]


@pytest.mark.parametrize(("case", "reason", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_record_access_guards(sc: ShopChain, g: Granted, case: str, reason: int, message: str) -> None:
    consumer, consent_id, category, purpose, item = _refusal_setup(sc, g, case)
    assert sc.consent.check(consent_id, consumer, category, purpose, item) == reason
    with sc.d.env.prank(consumer), boa.reverts(message):
        sc.consent.record_access(consent_id, category, purpose, item)


@pytest.mark.parametrize(("case", "reason", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_request_access_records_each_refusal_and_pays_nothing(
    sc: ShopChain, g: Granted, case: str, reason: int, message: str
) -> None:
    consumer, consent_id, category, purpose, item = _refusal_setup(sc, g, case)
    deposits_before = sc.consent.deposits(consumer)
    with sc.d.env.prank(consumer):
        assert sc.consent.request_access(consent_id, category, purpose, item) is False
    subject = ZERO_ADDRESS if case == "no-consent" else sc.d.erin.address
    assert_event(
        sc.consent,
        "AccessRefused",
        consent_id=consent_id,
        consumer=consumer,
        subject=subject,
        item_id=item,
        purpose_hash=purpose,
        reason=reason,
    )
    assert_no_event(sc.consent, "AccessRecorded")
    assert sc.consent.deposits(consumer) == deposits_before
    assert sc.consent.pending_withdrawals(sc.d.erin.address, sc.token.address) == 0
    assert sc.consent.access_count() == 0


def test_request_access_with_a_valid_consent_pays(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    assert sc.consent.check(g.consent_id, d.bob.address, CATEGORY_HASH, MARKETING_HASH, g.item_id) == 0
    with d.env.prank(d.bob.address):
        assert sc.consent.request_access(g.consent_id, CATEGORY_HASH, MARKETING_HASH, g.item_id) is True
    assert_no_event(sc.consent, "AccessRefused")
    assert [e.reward for e in sc.consent.get_logs() if type(e).__name__ == "AccessRecorded"] == [REWARD]
    assert sc.consent.pending_withdrawals(d.erin.address, sc.token.address) == REWARD


def test_the_consent_holds_until_its_expiry_second(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    d.env.time_travel(seconds=g.expiry - sc.now())
    with d.env.prank(d.bob.address):
        sc.consent.record_access(g.consent_id, CATEGORY_HASH, MARKETING_HASH, g.item_id)
    d.env.time_travel(seconds=1)
    with d.env.prank(d.bob.address), boa.reverts("consent: expired"):
        sc.consent.record_access(g.consent_id, CATEGORY_HASH, MARKETING_HASH, g.item_id)


def test_suspending_the_consumer_organisation_stops_its_access(sc: ShopChain, g: Granted) -> None:
    d = sc.d
    with d.env.prank(d.supervisor.address):
        d.registry.set_status(d.beta_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("consent: not the consumer"):
        sc.consent.record_access(g.consent_id, CATEGORY_HASH, MARKETING_HASH, g.item_id)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reward=st.integers(0, 10**21), accesses=st.integers(0, 6), funded=st.integers(0, 10**22))
def test_rewards_paid_never_exceed_the_deposit(sc: ShopChain, reward: int, accesses: int, funded: int) -> None:
    d = sc.d
    with d.env.anchor():
        item_id = publish_item(sc)
        with d.env.prank(d.erin.address):
            consent_id = sc.consent.grant(CATEGORY, d.beta_id, MARKETING, sc.now() + DAY, reward)
        if funded:
            deposit(sc, d.bob, funded)
        paid = 0
        for _ in range(accesses):
            with d.env.prank(d.bob.address):
                ok = sc.consent.request_access(consent_id, CATEGORY_HASH, MARKETING_HASH, item_id)
            assert ok == (funded - paid >= reward)
            paid += reward if ok else 0
        assert sc.consent.pending_withdrawals(d.erin.address, sc.token.address) == paid
        assert sc.consent.deposits(d.bob.address) == funded - paid
        assert sc.token.balanceOf(sc.consent.address) == funded
