"""Stateful fuzzing of Consent.vy against a Python model (hypothesis ``RuleBasedStateMachine``): reward tokens
are conserved.

A customer (Erin), a stranger (Mallory) and Alice grant consents to Acme, Beta or Gamma (not audited) for two
categories and two DPV purposes with random expiries and rewards, and revoke them (or try to revoke others');
Bob (Beta), Carol (Acme) and Dave (Gamma) deposit and take back RewardTokens and ask for access to two stream
items, by the reverting ``record_access`` or the recording ``request_access``, with the right or a wrong
category, purpose, consent or item; the shop erases items, the supervisor suspends and restores organisations,
everyone withdraws, and time passes. The model predicts every outcome: the reward paid, the refusal reason (and
for ``record_access`` its exact revert message).

Invariants after every step: the RewardToken's total supply equals the sum of every holder's balance (the
actors and the Consent contract; tokens are conserved); Consent's token balance equals ``escrowed`` plus every
account's pending withdrawal; ``escrowed`` equals the sum of the deposits; the chain's deposits and pending
amounts are the model's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import boa
import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.kits.contract_kit import STATUS_AUDITED, STATUS_SUSPENDED, Deployment, digest
from tests.kits.shopchain_fixtures import (
    REFUSED_DEPOSIT_TOO_LOW,
    REFUSED_EXPIRED,
    REFUSED_ITEM_ERASED,
    REFUSED_NO_CONSENT,
    REFUSED_NO_ITEM,
    REFUSED_NOT_CONSUMER,
    REFUSED_REVOKED,
    REFUSED_WRONG_CATEGORY,
    REFUSED_WRONG_PURPOSE,
    ShopChain,
)

CATEGORIES = ["purchase-history", "contact"]
PURPOSES = ["https://w3id.org/dpv#Marketing", "https://w3id.org/dpv#ResearchAndDevelopment"]
MESSAGES = {
    REFUSED_NO_CONSENT: "consent: no such consent",
    REFUSED_NOT_CONSUMER: "consent: not the consumer",
    REFUSED_WRONG_CATEGORY: "consent: wrong category",
    REFUSED_WRONG_PURPOSE: "consent: wrong purpose",
    REFUSED_REVOKED: "consent: revoked",
    REFUSED_EXPIRED: "consent: expired",
    REFUSED_NO_ITEM: "consent: no such item",
    REFUSED_ITEM_ERASED: "consent: item erased",
    REFUSED_DEPOSIT_TOO_LOW: "consent: deposit too low",
}
AMOUNTS = st.sampled_from([0, 1, 10**18, 5 * 10**18, 10**20])


@dataclass
class ModelConsent:
    subject: str
    organisation: int
    category: bytes
    purpose: bytes
    expiry: int
    reward: int
    revoked: bool = False


@dataclass
class Model:
    consents: dict[int, ModelConsent] = field(default_factory=dict)
    latest: dict[tuple[str, bytes, int, bytes], int] = field(default_factory=dict)
    deposits: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    erased: set[int] = field(default_factory=set)
    audited: set[int] = field(default_factory=set)


class ConsentMachine(RuleBasedStateMachine):
    sc: ClassVar[ShopChain]
    outcomes: ClassVar[Counter[str]]

    def __init__(self) -> None:
        super().__init__()
        self.d: Deployment = self.sc.d
        self._anchor = self.d.env.anchor()
        self._anchor.__enter__()
        d, sc = self.d, self.sc
        with d.env.prank(d.alice.address):
            sc.streams.create_stream("acme-shop/customers")
            self.items = [int(sc.streams.publish(1, f"customer-{i}", digest(f"item {i}"), "blob")) for i in (1, 2)]
        self.subjects = [d.erin.address, d.mallory.address, d.alice.address]
        self.consumers = [d.bob.address, d.carol.address, d.dave.address]
        self.everyone = [a.address for a in d.actors]
        self.organisation_of = {
            d.alice.address: d.acme_id,
            d.carol.address: d.acme_id,
            d.bob.address: d.beta_id,
            d.dave.address: d.gamma_id,
        }
        self.model = Model(audited={d.acme_id, d.beta_id})
        self.supply = int(sc.token.totalSupply())

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @property
    def now(self) -> int:
        return int(self.d.env.timestamp)

    def _live(self, consent_id: int) -> bool:
        c = self.model.consents[consent_id]
        return not c.revoked and self.now <= c.expiry

    @initialize(reward=AMOUNTS)
    def seed(self, reward: int) -> None:
        """Most runs start from a live consent of Erin to Beta and a funded deposit of Bob (Beta)."""
        d, sc = self.d, self.sc
        with d.env.prank(d.erin.address):
            sc.consent.grant(CATEGORIES[0], d.beta_id, PURPOSES[0], self.now + 86_400, reward)
        self.model.consents[1] = ModelConsent(
            d.erin.address, d.beta_id, keccak(text=CATEGORIES[0]), keccak(text=PURPOSES[0]), self.now + 86_400, reward
        )
        self.model.latest[(d.erin.address, keccak(text=CATEGORIES[0]), d.beta_id, keccak(text=PURPOSES[0]))] = 1
        with d.env.prank(d.bob.address):
            sc.token.approve(sc.consent.address, 10**20)
            sc.consent.deposit(10**20)
        self.model.deposits[d.bob.address] = 10**20

    # --- rules --------------------------------------------------------------------------------------------------

    @rule(
        subject=st.integers(0, 2),
        organisation=st.sampled_from(["acme", "beta", "gamma", "none"]),
        category=st.integers(0, 1),
        purpose=st.integers(0, 1),
        lifetime=st.sampled_from([0, 1, 600, 86_400]),
        reward=AMOUNTS,
    )
    def grant(self, subject: int, organisation: str, category: int, purpose: int, lifetime: int, reward: int) -> None:
        d, sc, who = self.d, self.sc, self.subjects[subject]
        org = {"acme": d.acme_id, "beta": d.beta_id, "gamma": d.gamma_id, "none": 0}[organisation]
        category_hash, purpose_hash = keccak(text=CATEGORIES[category]), keccak(text=PURPOSES[purpose])
        key = (who, category_hash, org, purpose_hash)
        expiry = self.now + lifetime
        error = None
        if org == 0:
            error = "consent: bad organisation"
        elif lifetime == 0:
            error = "consent: expiry in the past"
        elif key in self.model.latest and self._live(self.model.latest[key]):
            error = "consent: already granted"
        with d.env.prank(who):
            if error:
                with boa.reverts(error):
                    sc.consent.grant(CATEGORIES[category], org, PURPOSES[purpose], expiry, reward)
                return
            consent_id = int(sc.consent.grant(CATEGORIES[category], org, PURPOSES[purpose], expiry, reward))
        assert consent_id == len(self.model.consents) + 1
        self.model.consents[consent_id] = ModelConsent(who, org, category_hash, purpose_hash, expiry, reward)
        self.model.latest[key] = consent_id

    @rule(pick=st.integers(0, 20), by_subject=st.booleans())
    def revoke(self, pick: int, by_subject: bool) -> None:
        consent_id = pick % (len(self.model.consents) + 1) + 1  # sometimes one past the last: unknown
        c = self.model.consents.get(consent_id)
        mallory, erin = self.d.mallory.address, self.d.erin.address
        other = erin if c is not None and c.subject == mallory else mallory
        who = c.subject if c is not None and by_subject else other
        error = None
        if c is None or who != c.subject:
            error = "consent: not the data subject"
        elif c.revoked:
            error = "consent: already revoked"
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.consent.revoke(consent_id)
                return
            self.sc.consent.revoke(consent_id)
        c.revoked = True

    @rule(consumer=st.integers(0, 2), amount=AMOUNTS)
    def deposit(self, consumer: int, amount: int) -> None:
        who = self.consumers[consumer]
        with self.d.env.prank(who):
            self.sc.token.approve(self.sc.consent.address, amount)
            if amount == 0:
                with boa.reverts("consent: zero amount"):
                    self.sc.consent.deposit(amount)
                return
            self.sc.consent.deposit(amount)
        self.model.deposits[who] = self.model.deposits.get(who, 0) + amount

    @rule(consumer=st.integers(0, 2), amount=AMOUNTS, everything=st.booleans())
    def withdraw_deposit(self, consumer: int, amount: int, everything: bool) -> None:
        who = self.consumers[consumer]
        held = self.model.deposits.get(who, 0)
        amount = held if everything and held else amount
        error = "consent: zero amount" if amount == 0 else "consent: deposit too low" if amount > held else None
        with self.d.env.prank(who):
            if error:
                with boa.reverts(error):
                    self.sc.consent.withdraw_deposit(amount)
                return
            self.sc.consent.withdraw_deposit(amount)
        self.model.deposits[who] = held - amount
        self.model.pending[who] = self.model.pending.get(who, 0) + amount

    @rule(
        pick=st.integers(0, 20),
        consumer=st.sampled_from([-1, -1, 0, 1, 2]),
        wrong=st.sampled_from(["none"] * 5 + ["category", "purpose", "item"]),
        item=st.integers(0, 1),
        recording=st.booleans(),
    )
    def access(self, pick: int, consumer: int, wrong: str, item: int, recording: bool) -> None:
        consent_id = pick % (len(self.model.consents) + 1) + 1
        c = self.model.consents.get(consent_id)
        members = [a for a in self.consumers if c is not None and self.organisation_of[a] == c.organisation]
        who = members[0] if consumer < 0 and members else self.consumers[consumer]
        category = c.category if c else keccak(text=CATEGORIES[0])
        purpose = c.purpose if c else keccak(text=PURPOSES[0])
        item_id = self.items[item]
        if wrong == "category":
            category = keccak(text="no such category")
        elif wrong == "purpose":
            purpose = keccak(text="https://w3id.org/dpv#Unknown")
        elif wrong == "item":
            item_id = 99
        reason = self._reason(c, who, category, purpose, item_id)
        assert self.sc.consent.check(consent_id, who, category, purpose, item_id) == reason
        with self.d.env.prank(who):
            if recording:
                assert self.sc.consent.request_access(consent_id, category, purpose, item_id) == (reason == 0)
            elif reason:
                with boa.reverts(MESSAGES[reason]):
                    self.sc.consent.record_access(consent_id, category, purpose, item_id)
                return
            else:
                self.sc.consent.record_access(consent_id, category, purpose, item_id)
        self.outcomes["refused" if reason else "paid"] += 1
        if reason == 0:
            assert c is not None
            self.model.deposits[who] -= c.reward
            self.model.pending[c.subject] = self.model.pending.get(c.subject, 0) + c.reward

    def _reason(self, c: ModelConsent | None, who: str, category: bytes, purpose: bytes, item_id: int) -> int:
        if c is None:
            return REFUSED_NO_CONSENT
        if self.organisation_of.get(who) != c.organisation or c.organisation not in self.model.audited:
            return REFUSED_NOT_CONSUMER
        if category != c.category:
            return REFUSED_WRONG_CATEGORY
        if purpose != c.purpose:
            return REFUSED_WRONG_PURPOSE
        if c.revoked:
            return REFUSED_REVOKED
        if self.now > c.expiry:
            return REFUSED_EXPIRED
        if item_id not in self.items:
            return REFUSED_NO_ITEM
        if item_id in self.model.erased:
            return REFUSED_ITEM_ERASED
        if self.model.deposits.get(who, 0) < c.reward:
            return REFUSED_DEPOSIT_TOO_LOW
        return 0

    @rule(item=st.integers(0, 1))
    def erase(self, item: int) -> None:
        item_id = self.items[item]
        with self.d.env.prank(self.d.alice.address):
            if item_id in self.model.erased:
                with boa.reverts("streams: item already erased"):
                    self.sc.streams.erase(item_id)
                return
            self.sc.streams.erase(item_id)
        self.model.erased.add(item_id)

    @rule(organisation=st.sampled_from(["acme", "beta"]))
    def toggle_audit(self, organisation: str) -> None:
        org = self.d.acme_id if organisation == "acme" else self.d.beta_id
        status = STATUS_SUSPENDED if org in self.model.audited else STATUS_AUDITED
        with self.d.env.prank(self.d.supervisor.address):
            self.d.registry.set_status(org, status)
        self.model.audited ^= {org}

    @rule(account=st.integers(0, 7))
    def withdraw(self, account: int) -> None:
        who = self.everyone[account]
        owed = self.model.pending.get(who, 0)
        before = int(self.sc.token.balanceOf(who))
        with self.d.env.prank(who):
            if owed == 0:
                with boa.reverts("escrow: nothing to withdraw"):
                    self.sc.consent.withdraw(self.sc.token.address)
                return
            self.sc.consent.withdraw(self.sc.token.address)
        self.model.pending[who] = 0
        assert int(self.sc.token.balanceOf(who)) == before + owed

    @rule(seconds=st.sampled_from([1, 599, 3_600, 86_400]))
    def wait(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    # --- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def tokens_are_conserved(self) -> None:
        sc = self.sc
        token = sc.token.address
        held = sum(int(sc.token.balanceOf(a)) for a in self.everyone) + int(sc.token.balanceOf(sc.consent.address))
        assert held == int(sc.token.totalSupply()) == self.supply
        pending = sum(int(sc.consent.pending_withdrawals(a, token)) for a in self.everyone)
        assert int(sc.token.balanceOf(sc.consent.address)) == int(sc.consent.escrowed(token)) + pending
        assert int(sc.consent.escrowed(token)) == sum(self.model.deposits.values())

    @invariant()
    def chain_agrees_with_the_model(self) -> None:
        sc = self.sc
        for who in self.everyone:
            assert int(sc.consent.deposits(who)) == self.model.deposits.get(who, 0)
            assert int(sc.consent.pending_withdrawals(who, sc.token.address)) == self.model.pending.get(who, 0)
        assert int(sc.consent.consent_count()) == len(self.model.consents)


def _run_consent_machine(sc: ShopChain, examples: int) -> None:
    """``examples`` runs of up to 40 steps, derandomized (the same runs every time)."""
    machine = type("BoundConsentMachine", (ConsentMachine,), {"sc": sc, "outcomes": Counter()})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    paid, refused = machine.outcomes["paid"], machine.outcomes["refused"]
    assert paid > 0 and refused > 0, machine.outcomes  # both paths were reached, not only guards


def test_consent_state_machine(sc: ShopChain) -> None:
    """6 runs in the default suite; the slow run below makes 40."""
    _run_consent_machine(sc, examples=6)


@pytest.mark.slow
def test_consent_state_machine_long(sc: ShopChain) -> None:
    _run_consent_machine(sc, examples=40)
