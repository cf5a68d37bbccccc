"""Stateful fuzzing of Collaboration.vy's revenue against a Python model (hypothesis ``RuleBasedStateMachine``).

Up to six audited accounts form one DAO and then interleave at random: revenue paid in (any wei amount, from any
account, so remainders under 10,000 wei occur), withdrawals (by members, former members and strangers), joins
(newcomers with any stake), heartbeats, time passing and terminations (on time and too early), and closing.
Every call's outcome is predicted by the model: the stakes after each join and termination, each account's
claimable wei, or the exact revert message.

Invariants after every step: stakes of the active members sum to 10,000 basis points; every account's
``claimable`` equals the model's; the contract's balance equals the sum of what is claimable (no wei stuck, none
created); ether is conserved: paid in = withdrawn + balance. The slow run explores longer and more often.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.kits.contract_kit import Deployment, digest, make_account, public_key_of

BPS = 10_000
TIMEOUT = 600
DSP = 1


class Model:
    """Stakes, heartbeats and what each account is owed, computed the contract's documented way."""

    def __init__(self) -> None:
        self.order: list[str] = []  # seats
        self.stakes: dict[str, int] = {}
        self.active: set[str] = set()
        self.owed: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self.paid = 0
        self.withdrawn = 0
        self.closed = False

    def lead(self) -> str:
        return next(a for a in self.order if a in self.active)

    def seat(self, account: str, stake: int, now: int) -> None:
        kept = BPS - stake
        given = 0
        for a in self.order:
            new = self.stakes[a] * kept // BPS
            given += new
            self.stakes[a] = new
        if self.order:
            self.stakes[self.lead()] += kept - given
        self.order.append(account)
        self.stakes[account] = stake
        self.active.add(account)
        self.last[account] = now

    def pay(self, amount: int) -> None:
        per = amount // BPS
        for a in self.order:
            self.owed[a] = self.owed.get(a, 0) + self.stakes[a] * per
        lead = self.lead()
        self.owed[lead] = self.owed.get(lead, 0) + amount % BPS
        self.paid += amount

    def terminate(self, account: str) -> None:
        freed = self.stakes[account]
        self.stakes[account] = 0
        self.active.discard(account)
        held = BPS - freed
        given = 0
        if held:
            for a in self.order:
                extra = freed * self.stakes[a] // held
                self.stakes[a] += extra
                given += extra
        self.stakes[self.lead()] += freed - given
        if len(self.active) < 2:
            self.closed = True


class CollaborationRevenue(RuleBasedStateMachine):
    d: Deployment
    collab: Any
    accounts: list[Any]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.dao = 0

    def now(self) -> int:
        return int(self.d.env.evm.patch.timestamp)

    def _offer(self, poster: Any, dao_id: int, stake: int) -> int:
        with self.d.env.prank(poster.address):
            return int(
                self.collab.post_offer(
                    dao_id, DSP, digest("t"), stake, TIMEOUT if dao_id == 0 else 0, self.now() + 10**6, "t"
                )
            )

    @rule(stake=st.integers(1, BPS - 1))
    @precondition(lambda self: self.dao == 0)
    def form(self, stake: int) -> None:
        dsp, vp = self.accounts[0], self.accounts[1]
        offer_id = self._offer(dsp, 0, stake)
        with self.d.env.prank(vp.address):
            self.dao = int(self.collab.accept(offer_id, vp.address, 0))
        self.model.seat(dsp.address, BPS, self.now())
        self.model.seat(vp.address, stake, self.now())

    @rule(who=st.integers(0, 5), stake=st.integers(1, BPS - 1))
    @precondition(lambda self: self.dao != 0 and not self.model.closed)
    def join(self, who: int, stake: int) -> None:
        account = self.accounts[who]
        lead = self._lead_account()
        offer_id = self._offer(lead, self.dao, stake)
        with self.d.env.prank(account.address):
            if account is lead:
                with boa.reverts("collaboration: bad counterparty"):
                    self.collab.accept(offer_id, account.address, 0)
                return
            if account.address in self.model.order:
                with boa.reverts("collaboration: already a member"):
                    self.collab.accept(offer_id, account.address, 0)
                return
            self.collab.accept(offer_id, account.address, 0)
        self.model.seat(account.address, stake, self.now())

    def _lead_account(self) -> Any:
        lead = self.model.lead()
        return next(a for a in self.accounts if a.address == lead)

    @rule(who=st.integers(0, 6), amount=st.integers(0, 10**20))
    @precondition(lambda self: self.dao != 0)
    def pay(self, who: int, amount: int) -> None:
        payer = self.accounts[who]
        with self.d.env.prank(payer.address):
            if self.model.closed:
                with boa.reverts("collaboration: dao not active"):
                    self.collab.pay(self.dao, value=max(amount, 1))
            elif amount == 0:
                with boa.reverts("collaboration: no value"):
                    self.collab.pay(self.dao, value=0)
            else:
                self.collab.pay(self.dao, value=amount)
                self.model.pay(amount)

    @rule(who=st.integers(0, 6))
    @precondition(lambda self: self.dao != 0)
    def withdraw(self, who: int) -> None:
        account = self.accounts[who]
        owed = self.model.owed.get(account.address, 0)
        before = self.d.env.get_balance(account.address)
        with self.d.env.prank(account.address):
            if owed == 0:
                with boa.reverts("collaboration: nothing to withdraw"):
                    self.collab.withdraw(self.dao)
                return
            self.collab.withdraw(self.dao)
        assert self.d.env.get_balance(account.address) == before + owed
        self.model.owed[account.address] = 0
        self.model.withdrawn += owed

    @rule(who=st.integers(0, 5))
    @precondition(lambda self: self.dao != 0 and not self.model.closed)
    def heartbeat(self, who: int) -> None:
        account = self.accounts[who]
        with self.d.env.prank(account.address):
            if account.address not in self.model.active:
                with boa.reverts("collaboration: not a member"):
                    self.collab.heartbeat(self.dao)
                return
            self.collab.heartbeat(self.dao)
        self.model.last[account.address] = self.now()

    @rule(seconds=st.sampled_from([1, TIMEOUT // 2, TIMEOUT, TIMEOUT + 1]))
    def wait(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    @rule(who=st.integers(0, 5), caller=st.integers(0, 6))
    @precondition(lambda self: self.dao != 0 and not self.model.closed)
    def terminate(self, who: int, caller: int) -> None:
        account = self.accounts[who]
        with self.d.env.prank(self.accounts[caller].address):
            if account.address not in self.model.active:
                with boa.reverts("collaboration: not a member"):
                    self.collab.terminate(self.dao, account.address)
                return
            if self.now() <= self.model.last[account.address] + TIMEOUT:
                with boa.reverts("collaboration: heartbeat not missed"):
                    self.collab.terminate(self.dao, account.address)
                return
            self.collab.terminate(self.dao, account.address)
        self.model.terminate(account.address)

    @rule()
    @precondition(lambda self: self.dao != 0 and not self.model.closed)
    def close(self) -> None:
        with self.d.env.prank(self._lead_account().address):
            self.collab.close(self.dao)
        self.model.closed = True

    @invariant()
    def books_balance(self) -> None:
        if self.dao == 0:
            return
        m = self.model
        assert sum(m.stakes[a] for a in m.active) == BPS
        for a in m.order:
            assert int(self.collab.member(self.dao, a).stake_bps) == m.stakes[a]
        claimable = 0
        for account in self.accounts:
            owed = int(self.collab.claimable(self.dao, account.address))
            assert owed == m.owed.get(account.address, 0)
            claimable += owed
        balance = self.d.env.get_balance(self.collab.address)
        assert balance == claimable
        assert m.paid == m.withdrawn + balance


def _run(d: Deployment, collab: Any, examples: int, steps: int) -> None:
    accounts = [d.alice, d.bob, d.dave, d.carol]
    for i in range(2):
        extra = make_account(f"collab-fuzz-{i}")
        d.env.set_balance(extra.address, 10**24)
        with d.env.prank(extra.address):
            d.registry.register_organisation("Beta", public_key_of(extra))
        with d.env.prank(d.bob.address):
            d.registry.approve_member(extra.address)
        accounts.append(extra)
    accounts.append(d.mallory)  # a stranger: pays, withdraws nothing

    class Machine(CollaborationRevenue):
        pass

    Machine.d, Machine.collab, Machine.accounts = d, collab, accounts
    snapshots: list[Any] = []

    def factory() -> Machine:
        """A fresh machine per example, run inside its own snapshot of the module deployment."""
        anchor = d.env.anchor()
        anchor.__enter__()
        snapshots.append(anchor)
        return Machine()

    def teardown(self: Machine) -> None:
        snapshots.pop().__exit__(None, None, None)

    Machine.teardown = teardown  # type: ignore[method-assign]
    run_state_machine_as_test(
        factory,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )


def test_revenue_is_conserved(d: Deployment, collab: Any) -> None:
    _run(d, collab, examples=6, steps=25)


@pytest.mark.slow
def test_revenue_is_conserved_long(d: Deployment, collab: Any) -> None:
    _run(d, collab, examples=60, steps=50)
