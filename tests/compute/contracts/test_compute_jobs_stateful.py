"""Stateful fuzzing of ComputeJobs.vy against a Python model (hypothesis ``RuleBasedStateMachine``): escrow is
conserved.

Requesters (Bob and Carol, audited; Dave, not audited) submit single or federated jobs on Alice's dataset with
random amounts and values; Alice (or a stranger) accepts, rejects, posts results or fails them, in time or late;
requesters confirm, anyone releases or refunds, the requester records federated rounds (right or wrong number),
everyone withdraws, time passes. The model predicts every outcome: its effects or its exact revert message.

Invariants after every step: ether is conserved across the actors and the contract (gas price is 0); the
contract's balance equals ``escrowed`` plus every pending withdrawal; ``escrowed`` equals the amounts of the open
jobs; states and pending amounts are the model's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from datagora.domain.compute import JobState
from tests.compute.contracts.conftest import ComputeChain
from tests.kits.contract_kit import ETHER, Deployment, digest

RUN, CONFIRM = 3_600, 7_200
SUBMITTED, ACCEPTED, REJECTED, RESULT_POSTED, FAILED, COMPLETED, REFUNDED = (int(s) for s in JobState)
OPEN = (SUBMITTED, ACCEPTED, RESULT_POSTED)
AMOUNTS = st.sampled_from([0, 1, 10**15, 10**18, 3 * 10**18])


@dataclass
class ModelJob:
    requester: str
    kind: int
    amount: int
    state: int
    deadline: int
    confirm_deadline: int = 0
    rounds: int = 0


@dataclass
class Model:
    jobs: dict[int, ModelJob] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)


class JobsMachine(RuleBasedStateMachine):
    cc: ClassVar[ComputeChain]
    outcomes: ClassVar[Counter[str]]

    def __init__(self) -> None:
        super().__init__()
        self.d: Deployment = self.cc.d
        self.jobs = self.cc.jobs
        self._anchor = self.d.env.anchor()
        self._anchor.__enter__()
        d = self.d
        self.requesters = [d.bob, d.carol, d.dave]
        self.everyone = [a.address for a in d.actors]
        self.model = Model()
        self.total = sum(d.balance(a) for a in self.everyone) + d.balance(self.jobs)
        self.base_count = int(self.jobs.job_count())

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @property
    def now(self) -> int:
        return int(self.d.env.timestamp)

    def _credit(self, who: str, amount: int) -> None:
        self.model.pending[who] = self.model.pending.get(who, 0) + amount

    def _pick(self, index: int) -> int:
        return self.base_count + 1 + index % max(1, len(self.model.jobs))

    @initialize(amount=st.sampled_from([1, 10**18]))
    def two_jobs(self, amount: int) -> None:
        """Most runs need open jobs to get past the first guards: Bob submits a single and a federated one."""
        self.submit(0, 0, amount, False)
        self.submit(0, 1, amount, False)

    # --- rules --------------------------------------------------------------------------------------------------

    @rule(who=st.integers(0, 2), kind=st.integers(0, 2), amount=AMOUNTS, short=st.booleans())
    def submit(self, who: int, kind: int, amount: int, short: bool) -> None:
        requester = self.requesters[who]
        value = amount - 1 if short and amount else amount
        expected = None
        if requester is self.d.dave:
            expected = "compute: requester not audited"
        elif kind > 1:
            expected = "compute: bad kind"
        elif amount == 0:
            expected = "compute: bad amount"
        elif value != amount:
            expected = "compute: wrong value"
        with self.d.env.prank(requester.address):
            if expected:
                with boa.reverts(expected):
                    self.jobs.submit(
                        self.cc.token_id, kind, digest("spec"), "", ETHER, amount, RUN, CONFIRM, value=value
                    )
                return
            job_id = int(
                self.jobs.submit(self.cc.token_id, kind, digest("spec"), "", ETHER, amount, RUN, CONFIRM, value=value)
            )
        self.model.jobs[job_id] = ModelJob(requester.address, kind, amount, SUBMITTED, self.now + RUN)
        self.outcomes["submitted"] += 1

    @rule(index=st.integers(0, 20), stranger=st.booleans())
    def accept(self, index: int, stranger: bool) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        who = self.d.mallory if stranger else self.d.alice
        if job is None or job.state != SUBMITTED:
            expected: str | None = "compute: job not submitted"
        elif stranger:
            expected = "compute: not owner"
        elif self.now > job.deadline:
            expected = "compute: deadline passed"
        else:
            expected = None
        with self.d.env.prank(who.address):
            if expected:
                with boa.reverts(expected):
                    self.jobs.accept(job_id)
                return
            self.jobs.accept(job_id)
        assert job is not None
        job.state = ACCEPTED
        self.outcomes["accepted"] += 1

    @rule(index=st.integers(0, 20))
    def reject(self, index: int) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        with self.d.env.prank(self.d.alice.address):
            if job is None or job.state != SUBMITTED:
                with boa.reverts("compute: job not submitted"):
                    self.jobs.reject(job_id, "not allowed")
                return
            self.jobs.reject(job_id, "not allowed")
        job.state = REJECTED
        self._credit(job.requester, job.amount)
        self.outcomes["rejected"] += 1

    @rule(index=st.integers(0, 20))
    def post_result(self, index: int) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        with self.d.env.prank(self.d.alice.address):
            if job is None or job.state != ACCEPTED:
                with boa.reverts("compute: job not accepted"):
                    self.jobs.post_result(job_id, digest("result"), "")
                return
            if self.now > job.deadline:
                with boa.reverts("compute: deadline passed"):
                    self.jobs.post_result(job_id, digest("result"), "")
                return
            self.jobs.post_result(job_id, digest("result"), "")
        job.state = RESULT_POSTED
        job.confirm_deadline = self.now + CONFIRM
        self.outcomes["result"] += 1

    @rule(index=st.integers(0, 20))
    def fail(self, index: int) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        with self.d.env.prank(self.d.alice.address):
            if job is None or job.state != ACCEPTED:
                with boa.reverts("compute: job not accepted"):
                    self.jobs.fail(job_id, "killed")
                return
            self.jobs.fail(job_id, "killed")
        job.state = FAILED
        self._credit(job.requester, job.amount)
        self.outcomes["failed"] += 1

    @rule(index=st.integers(0, 20), by_owner=st.booleans())
    def confirm(self, index: int, by_owner: bool) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        if job is None or job.state != RESULT_POSTED:
            with self.d.env.prank(self.d.bob.address), boa.reverts("compute: no result posted"):
                self.jobs.confirm(job_id)
            return
        who = self.d.alice.address if by_owner else job.requester
        with self.d.env.prank(who):
            if by_owner:
                with boa.reverts("compute: not requester"):
                    self.jobs.confirm(job_id)
                return
            self.jobs.confirm(job_id)
        job.state = COMPLETED
        self._credit(self.d.alice.address, job.amount)
        self.outcomes["confirmed"] += 1

    @rule(index=st.integers(0, 20))
    def release(self, index: int) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        with self.d.env.prank(self.d.mallory.address):
            if job is None or job.state != RESULT_POSTED:
                with boa.reverts("compute: no result posted"):
                    self.jobs.release(job_id)
                return
            if self.now <= job.confirm_deadline:
                with boa.reverts("compute: confirmation window open"):
                    self.jobs.release(job_id)
                return
            self.jobs.release(job_id)
        job.state = COMPLETED
        self._credit(self.d.alice.address, job.amount)
        self.outcomes["released"] += 1

    @rule(index=st.integers(0, 20))
    def refund(self, index: int) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        with self.d.env.prank(self.d.mallory.address):
            if job is None or job.state not in (SUBMITTED, ACCEPTED):
                with boa.reverts("compute: job not open"):
                    self.jobs.refund(job_id)
                return
            if self.now <= job.deadline:
                with boa.reverts("compute: deadline not passed"):
                    self.jobs.refund(job_id)
                return
            self.jobs.refund(job_id)
        job.state = REFUNDED
        self._credit(job.requester, job.amount)
        self.outcomes["refunded"] += 1

    @rule(index=st.integers(0, 20), skip=st.booleans())
    def record_round(self, index: int, skip: bool) -> None:
        job_id = self._pick(index)
        job = self.model.jobs.get(job_id)
        requester = job.requester if job else self.d.bob.address
        rnd = (job.rounds if job else 0) + (2 if skip else 1)
        expected = None
        if job is None or job.state != ACCEPTED:
            expected = "compute: job not accepted"
        elif job.kind != 1:
            expected = "compute: not federated"
        elif skip:
            expected = "compute: wrong round"
        with self.d.env.prank(requester):
            if expected:
                with boa.reverts(expected):
                    self.jobs.record_round(job_id, rnd, digest("aggregate"))
                return
            self.jobs.record_round(job_id, rnd, digest("aggregate"))
        assert job is not None
        job.rounds = rnd
        self.outcomes["round"] += 1

    @rule(who=st.sampled_from(["alice", "bob", "carol"]))
    def withdraw(self, who: str) -> None:
        address = getattr(self.d, who).address
        owed = self.model.pending.get(address, 0)
        with self.d.env.prank(address):
            if owed == 0:
                with boa.reverts("escrow: nothing to withdraw"):
                    self.jobs.withdraw(ETHER)
                return
            self.jobs.withdraw(ETHER)
        self.model.pending[address] = 0

    @rule(seconds=st.sampled_from([60, RUN, CONFIRM + 1]))
    def time_passes(self, seconds: int) -> None:
        self.d.env.time_travel(seconds=seconds)

    # --- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def escrow_is_conserved(self) -> None:
        d = self.d
        assert sum(d.balance(a) for a in self.everyone) + d.balance(self.jobs) == self.total
        pending = sum(int(self.jobs.pending_withdrawals(a, ETHER)) for a in self.everyone)
        assert d.balance(self.jobs) == int(self.jobs.escrowed(ETHER)) + pending
        assert int(self.jobs.escrowed(ETHER)) == sum(j.amount for j in self.model.jobs.values() if j.state in OPEN)

    @invariant()
    def chain_agrees_with_the_model(self) -> None:
        for who in self.everyone:
            assert int(self.jobs.pending_withdrawals(who, ETHER)) == self.model.pending.get(who, 0)
        for job_id, job in self.model.jobs.items():
            chain = self.jobs.job(job_id)
            assert (chain.state, chain.rounds, chain.amount) == (job.state, job.rounds, job.amount)


@pytest.mark.slow
def test_compute_jobs_state_machine(cc: ComputeChain) -> None:
    """20 runs of up to 40 steps, derandomized (the same runs every time)."""
    machine = type("BoundJobsMachine", (JobsMachine,), {"cc": cc, "outcomes": Counter()})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=40,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    settled = sum(machine.outcomes[e] for e in ("confirmed", "released", "refunded", "rejected", "failed"))
    assert machine.outcomes["submitted"] > 0 and machine.outcomes["accepted"] > 0 and settled > 0, machine.outcomes
