"""ComputeJobs.vy: compute-to-data jobs (Wang and Liu, EntDSM) with the payment in escrow.

Bob (Beta, audited) asks Alice (Acme, audited), the owner of dataset ``cc.token_id``, to run a job for 1 ether
(run window 3,600 s, confirmation window 7,200 s). Each function: success with its event and effects, and every
guard word for word. The stateful fuzz is in test_compute_jobs_stateful.py.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from datagora.domain.compute import JobOutcome, JobState
from tests.compute.contracts.conftest import ComputeChain
from tests.kits.contract_kit import ETHER, MAX_WINDOW, MIN_WINDOW, ZERO_BYTES32, assert_event, digest

PRICE = 10**18
RUN, CONFIRM = 3_600, 7_200
SPEC = digest("job spec: LogisticRegression on tumours")
RESULT = digest("result: coefficients")
URI = "blob:spec-1"
SINGLE, FEDERATED = 0, 1
SUBMITTED, ACCEPTED, REJECTED, RESULT_POSTED, FAILED, COMPLETED, REFUNDED = (int(s) for s in JobState)
CONFIRMED, RELEASED, OUT_REJECTED, OUT_FAILED, TIMED_OUT = (int(o) for o in JobOutcome)


def submit(cc: ComputeChain, kind: int = SINGLE, who: Any = None, amount: int = PRICE, spec: bytes = SPEC) -> int:
    who = who or cc.d.bob
    with cc.d.env.prank(who.address):
        return int(cc.jobs.submit(cc.token_id, kind, spec, URI, ETHER, amount, RUN, CONFIRM, value=amount))


def accept(cc: ComputeChain, job_id: int) -> None:
    with cc.d.env.prank(cc.d.alice.address):
        cc.jobs.accept(job_id)


def post(cc: ComputeChain, job_id: int) -> None:
    with cc.d.env.prank(cc.d.alice.address):
        cc.jobs.post_result(job_id, RESULT, "blob:result-1")


def state(cc: ComputeChain, job_id: int) -> int:
    return int(cc.jobs.job(job_id).state)


def solvent(cc: ComputeChain) -> None:
    owed = sum(cc.jobs.pending_withdrawals(a.address, ETHER) for a in cc.d.actors)
    assert cc.d.balance(cc.jobs) == cc.jobs.escrowed(ETHER) + owed


def warp(cc: ComputeChain, seconds: int) -> None:
    cc.d.env.time_travel(seconds=seconds)


# --- submit -----------------------------------------------------------------------------------------------------


def test_submit_escrows_the_payment(cc: ComputeChain) -> None:
    d = cc.d
    before = d.balance(d.bob)
    job_id = submit(cc)
    deadline = cc.now() + RUN
    assert_event(
        cc.jobs,
        "JobSubmitted",
        job_id=1,
        requester=d.bob.address,
        owner=d.alice.address,
        token_id=cc.token_id,
        kind=SINGLE,
        spec_hash=SPEC,
        spec_uri=URI,
        payment_token=ETHER,
        amount=PRICE,
        deadline=deadline,
    )
    assert job_id == 1 and cc.jobs.job_count() == 1
    job = cc.jobs.job(job_id)
    assert (job.requester, job.owner, job.state, job.amount, job.deadline) == (
        d.bob.address,
        d.alice.address,
        SUBMITTED,
        PRICE,
        deadline,
    )
    assert d.balance(d.bob) == before - PRICE
    assert cc.jobs.escrowed(ETHER) == PRICE
    solvent(cc)


@pytest.mark.parametrize(
    ("who", "kind", "spec", "amount", "run", "confirm", "value", "message"),
    [
        ("dave", SINGLE, SPEC, PRICE, RUN, CONFIRM, PRICE, "compute: requester not audited"),
        ("erin", SINGLE, SPEC, PRICE, RUN, CONFIRM, PRICE, "compute: requester not audited"),
        ("bob", 2, SPEC, PRICE, RUN, CONFIRM, PRICE, "compute: bad kind"),
        ("bob", SINGLE, ZERO_BYTES32, PRICE, RUN, CONFIRM, PRICE, "compute: empty spec hash"),
        ("bob", SINGLE, SPEC, 0, RUN, CONFIRM, 0, "compute: bad amount"),
        ("bob", SINGLE, SPEC, 2**160, RUN, CONFIRM, 0, "compute: bad amount"),
        ("bob", SINGLE, SPEC, PRICE, MIN_WINDOW - 1, CONFIRM, PRICE, "compute: bad run window"),
        ("bob", SINGLE, SPEC, PRICE, MAX_WINDOW + 1, CONFIRM, PRICE, "compute: bad run window"),
        ("bob", SINGLE, SPEC, PRICE, RUN, MIN_WINDOW - 1, PRICE, "compute: bad confirm window"),
        ("bob", SINGLE, SPEC, PRICE, RUN, MAX_WINDOW + 1, PRICE, "compute: bad confirm window"),
        ("alice", SINGLE, SPEC, PRICE, RUN, CONFIRM, PRICE, "compute: own dataset"),
        ("bob", SINGLE, SPEC, PRICE, RUN, CONFIRM, PRICE - 1, "compute: wrong value"),
    ],
)
def test_submit_guards(
    cc: ComputeChain, who: str, kind: int, spec: bytes, amount: int, run: int, confirm: int, value: int, message: str
) -> None:
    with cc.d.env.prank(getattr(cc.d, who).address), boa.reverts(message):
        cc.jobs.submit(cc.token_id, kind, spec, URI, ETHER, amount, run, confirm, value=value)


def test_submit_refuses_a_payment_token_that_is_not_a_contract(cc: ComputeChain) -> None:
    with cc.d.env.prank(cc.d.bob.address), boa.reverts("escrow: token not a contract"):
        cc.jobs.submit(cc.token_id, SINGLE, SPEC, URI, cc.d.mallory.address, PRICE, RUN, CONFIRM)


def test_submit_for_an_unknown_dataset_reverts(cc: ComputeChain) -> None:
    with cc.d.env.prank(cc.d.bob.address), boa.reverts():
        cc.jobs.submit(999, SINGLE, SPEC, URI, ETHER, PRICE, RUN, CONFIRM, value=PRICE)
    assert cc.jobs.job_count() == 0


def test_submit_pays_in_an_erc20(cc: ComputeChain, demo_token: Any) -> None:
    d = cc.d
    with d.env.prank(d.bob.address):
        demo_token.approve(cc.jobs.address, PRICE)
        job_id = int(cc.jobs.submit(cc.token_id, SINGLE, SPEC, URI, demo_token.address, PRICE, RUN, CONFIRM))
    accept(cc, job_id)
    post(cc, job_id)
    with d.env.prank(d.bob.address):
        cc.jobs.confirm(job_id)
    before = demo_token.balanceOf(d.alice.address)
    with d.env.prank(d.alice.address):
        cc.jobs.withdraw(demo_token.address)
    assert demo_token.balanceOf(d.alice.address) == before + PRICE
    assert cc.jobs.escrowed(demo_token.address) == 0


# --- accept / reject --------------------------------------------------------------------------------------------


def test_accept(cc: ComputeChain) -> None:
    job_id = submit(cc)
    accept(cc, job_id)
    assert_event(cc.jobs, "JobAccepted", job_id=job_id, owner=cc.d.alice.address)
    assert state(cc, job_id) == ACCEPTED


def test_accept_guards(cc: ComputeChain) -> None:
    d = cc.d
    with d.env.prank(d.alice.address), boa.reverts("compute: job not submitted"):
        cc.jobs.accept(7)
    job_id = submit(cc)
    with d.env.prank(d.mallory.address), boa.reverts("compute: not owner"):
        cc.jobs.accept(job_id)
    warp(cc, RUN + 1)
    with d.env.prank(d.alice.address), boa.reverts("compute: deadline passed"):
        cc.jobs.accept(job_id)


def test_reject_refunds_with_the_reason(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    reason = "the algorithm MLPClassifier is not allowed"
    with d.env.prank(d.alice.address):
        cc.jobs.reject(job_id, reason)
    assert_event(cc.jobs, "JobRejected", job_id=job_id, owner=d.alice.address, reason=reason)
    assert_event(cc.jobs, "JobSettled", job_id=job_id, outcome=OUT_REJECTED, owner_credit=0, requester_credit=PRICE)
    assert state(cc, job_id) == REJECTED
    assert cc.jobs.pending_withdrawals(d.bob.address, ETHER) == PRICE
    assert cc.jobs.escrowed(ETHER) == 0
    solvent(cc)


def test_reject_guards(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    with d.env.prank(d.mallory.address), boa.reverts("compute: not owner"):
        cc.jobs.reject(job_id, "no")
    with d.env.prank(d.alice.address), boa.reverts("compute: empty reason"):
        cc.jobs.reject(job_id, "")
    accept(cc, job_id)
    with d.env.prank(d.alice.address), boa.reverts("compute: job not submitted"):
        cc.jobs.reject(job_id, "too late")


# --- result, failure --------------------------------------------------------------------------------------------


def test_post_result(cc: ComputeChain) -> None:
    job_id = submit(cc)
    accept(cc, job_id)
    post(cc, job_id)
    confirm_deadline = cc.now() + CONFIRM
    assert_event(
        cc.jobs,
        "ResultPosted",
        job_id=job_id,
        result_hash=RESULT,
        result_uri="blob:result-1",
        confirm_deadline=confirm_deadline,
    )
    job = cc.jobs.job(job_id)
    assert (job.state, job.result_hash, job.confirm_deadline) == (RESULT_POSTED, RESULT, confirm_deadline)


def test_post_result_guards(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    with d.env.prank(d.alice.address), boa.reverts("compute: job not accepted"):
        cc.jobs.post_result(job_id, RESULT, "")
    accept(cc, job_id)
    with d.env.prank(d.bob.address), boa.reverts("compute: not owner"):
        cc.jobs.post_result(job_id, RESULT, "")
    with d.env.prank(d.alice.address), boa.reverts("compute: empty result hash"):
        cc.jobs.post_result(job_id, ZERO_BYTES32, "")
    warp(cc, RUN + 1)
    with d.env.prank(d.alice.address), boa.reverts("compute: deadline passed"):
        cc.jobs.post_result(job_id, RESULT, "")


def test_fail_refunds(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    accept(cc, job_id)
    with d.env.prank(d.alice.address):
        cc.jobs.fail(job_id, "killed: over its CPU time limit")
    assert_event(cc.jobs, "JobFailed", job_id=job_id, owner=d.alice.address, reason="killed: over its CPU time limit")
    assert_event(cc.jobs, "JobSettled", job_id=job_id, outcome=OUT_FAILED, owner_credit=0, requester_credit=PRICE)
    assert state(cc, job_id) == FAILED
    before = d.balance(d.bob)
    with d.env.prank(d.bob.address):
        cc.jobs.withdraw(ETHER)
    assert d.balance(d.bob) == before + PRICE
    solvent(cc)


def test_fail_guards(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    with d.env.prank(d.alice.address), boa.reverts("compute: job not accepted"):
        cc.jobs.fail(job_id, "x")
    accept(cc, job_id)
    with d.env.prank(d.bob.address), boa.reverts("compute: not owner"):
        cc.jobs.fail(job_id, "x")
    with d.env.prank(d.alice.address), boa.reverts("compute: empty reason"):
        cc.jobs.fail(job_id, "")


# --- confirm, release, refund -----------------------------------------------------------------------------------


def test_confirm_pays_the_owner(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    accept(cc, job_id)
    post(cc, job_id)
    with d.env.prank(d.bob.address):
        cc.jobs.confirm(job_id)
    assert_event(cc.jobs, "JobSettled", job_id=job_id, outcome=CONFIRMED, owner_credit=PRICE, requester_credit=0)
    assert state(cc, job_id) == COMPLETED
    before = d.balance(d.alice)
    with d.env.prank(d.alice.address):
        cc.jobs.withdraw(ETHER)
    assert_event(cc.jobs, "Withdrawn", account=d.alice.address, payment_token=ETHER, amount=PRICE)
    assert d.balance(d.alice) == before + PRICE
    solvent(cc)


def test_confirm_guards(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    accept(cc, job_id)
    with d.env.prank(d.bob.address), boa.reverts("compute: no result posted"):
        cc.jobs.confirm(job_id)
    post(cc, job_id)
    with d.env.prank(d.alice.address), boa.reverts("compute: not requester"):
        cc.jobs.confirm(job_id)


def test_release_after_the_confirmation_window(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc)
    accept(cc, job_id)
    with d.env.prank(d.mallory.address), boa.reverts("compute: no result posted"):
        cc.jobs.release(job_id)
    post(cc, job_id)
    with d.env.prank(d.mallory.address), boa.reverts("compute: confirmation window open"):
        cc.jobs.release(job_id)
    warp(cc, CONFIRM + 1)
    with d.env.prank(d.mallory.address):
        cc.jobs.release(job_id)
    assert_event(cc.jobs, "JobSettled", job_id=job_id, outcome=RELEASED, owner_credit=PRICE, requester_credit=0)
    assert cc.jobs.pending_withdrawals(d.alice.address, ETHER) == PRICE


@pytest.mark.parametrize("accepted", [False, True])
def test_refund_after_the_deadline(cc: ComputeChain, accepted: bool) -> None:
    d = cc.d
    job_id = submit(cc)
    if accepted:
        accept(cc, job_id)
    with d.env.prank(d.mallory.address), boa.reverts("compute: deadline not passed"):
        cc.jobs.refund(job_id)
    warp(cc, RUN + 1)
    with d.env.prank(d.mallory.address):
        cc.jobs.refund(job_id)
    assert_event(cc.jobs, "JobSettled", job_id=job_id, outcome=TIMED_OUT, owner_credit=0, requester_credit=PRICE)
    assert state(cc, job_id) == REFUNDED
    with d.env.prank(d.mallory.address), boa.reverts("compute: job not open"):
        cc.jobs.refund(job_id)
    solvent(cc)


def test_refund_refuses_a_job_with_a_result(cc: ComputeChain) -> None:
    job_id = submit(cc)
    accept(cc, job_id)
    post(cc, job_id)
    warp(cc, RUN + 1)
    with cc.d.env.prank(cc.d.mallory.address), boa.reverts("compute: job not open"):
        cc.jobs.refund(job_id)


# --- federated rounds -------------------------------------------------------------------------------------------


def test_federated_run_records_rounds_in_order(cc: ComputeChain) -> None:
    d = cc.d
    job_id = submit(cc, kind=FEDERATED)
    accept(cc, job_id)
    for rnd in (1, 2, 3):
        aggregate = digest(f"aggregate {rnd}")
        with d.env.prank(d.bob.address):
            cc.jobs.record_round(job_id, rnd, aggregate)
        assert_event(cc.jobs, "FederatedRound", job_id=job_id, round=rnd, aggregate_hash=aggregate)
    assert cc.jobs.job(job_id).rounds == 3


def test_record_round_guards(cc: ComputeChain) -> None:
    d = cc.d
    single = submit(cc)
    federated = submit(cc, kind=FEDERATED)
    agg = digest("aggregate")
    with d.env.prank(d.bob.address), boa.reverts("compute: job not accepted"):
        cc.jobs.record_round(federated, 1, agg)
    accept(cc, single)
    accept(cc, federated)
    with d.env.prank(d.alice.address), boa.reverts("compute: not requester"):
        cc.jobs.record_round(federated, 1, agg)
    with d.env.prank(d.bob.address), boa.reverts("compute: not federated"):
        cc.jobs.record_round(single, 1, agg)
    with d.env.prank(d.bob.address), boa.reverts("compute: wrong round"):
        cc.jobs.record_round(federated, 2, agg)
    with d.env.prank(d.bob.address):
        cc.jobs.record_round(federated, 1, agg)
    with d.env.prank(d.bob.address), boa.reverts("compute: wrong round"):
        cc.jobs.record_round(federated, 1, agg)
