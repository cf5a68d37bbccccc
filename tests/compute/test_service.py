"""Compute-to-data end to end on the embedded chain: the requester's job travels to the owner's node, only its
result comes back (Wang and Liu, EntDSM).

Module setup: the seller publishes scikit-learn's diabetes table (442 rows). Each test runs in a chain snapshot
and sets the owner's compute policy it needs. Must show: a job outside the policy is refused with the rule it
broke and refunded; the requester never receives a raw row (every byte handed to it is recorded and searched);
a sandboxed job over its CPU, memory or wall-time limit, or opening a socket, or reading outside its input, fails
on chain and is refunded (killed, for a limit); the supervisor's audit trail shows each step of a job; a
differentially private job's answers differ run to run and the privacy budget is enforced. A job the policy
accepts runs while its accept is mined, and a failed accept leaves nothing posted."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datagora.compute.runner import load_table, rows_found
from datagora.compute.spec import JobSpec
from datagora.crypto.envelope import decrypt_bytes
from datagora.domain.canonical import canonical_json
from datagora.domain.compute import JobState
from datagora.domain.errors import AccessDenied, TransactionReverted, ValidationError
from datagora.services import audit, compute, publishing
from datagora.services.attestation import NoveltyAttestor
from datagora.services.sample_data import write_diabetes_csv
from tests.world import World

pytestmark = pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")

PRICE = 10**16
FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


class RecordingExchange(compute.DirectoryExchange):
    """The shared folder, recording every blob fetched from it (the tests clear it before the requester's turn:
    the result is all the requester ever receives from the owner)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.fetched: list[bytes] = []

    def get(self, uri: str) -> bytes:
        data = super().get(uri)
        self.fetched.append(data)
        return data


@dataclass
class Setup:
    token_id: int
    table: Path


@pytest.fixture(scope="module")
def published(world_base: World, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    home = tmp_path_factory.mktemp("compute")
    table = write_diabetes_csv(home / "diabetes.csv")
    attestor = NoveltyAttestor(world_base.contracts, world_base.platform.account, home / "dc.sqlite")
    prepared = publishing.prepare(world_base.seller, table, name="Diabetes progression", domain="health")
    token_id, _, _ = publishing.publish(world_base.contracts, world_base.seller, prepared, attestor)
    return Setup(token_id, table)


@pytest.fixture
def exchange(tmp_path: Path) -> RecordingExchange:
    return RecordingExchange(tmp_path / "exchange")


@pytest.fixture(autouse=True)
def _fresh_policy(world: World, published: Setup) -> Iterator[None]:
    yield
    world.seller.paths.record(compute.POLICY_RECORDS, str(published.token_id)).unlink(missing_ok=True)
    world.seller.paths.privacy_ledger.unlink(missing_ok=True)


def set_policy(world: World, token_id: int, **terms: Any) -> None:
    policy = compute.default_policy(world.seller.address, token_id, world.chain.chain_id, **terms)
    compute.set_compute_policy(world.seller, token_id, policy)


def ridge(token_id: int, **overrides: Any) -> JobSpec:
    fields: dict[str, Any] = {
        "token_id": token_id,
        "estimator": "Ridge",
        "features": FEATURES,
        "label": "progression",
        "params": {"alpha": 1.0},
        "outputs": ("parameters", "metrics"),
    }
    fields.update(overrides)
    return JobSpec(**fields)


def python_job(token_id: int, code: str) -> JobSpec:
    return JobSpec(token_id=token_id, estimator="python", features=("age", "bmi", "progression"), code=code)


def submit_and_decide(world: World, spec: JobSpec, exchange: compute.Exchange) -> tuple[int, compute.Decision]:
    job = compute.submit_job(world.contracts, world.buyer, spec, PRICE, exchange)
    return job.job_id, compute.decide(world.contracts, world.seller, job.job_id, exchange)


def test_a_job_inside_the_policy_runs_and_pays_the_owner(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    c = world.contracts
    job_id, decision = submit_and_decide(world, ridge(published.token_id), exchange)
    assert decision.outcome == "accepted" and decision.review.rows == 442
    ran = compute.run_job(c, world.seller, job_id, exchange)
    assert ran.ok, ran.reason
    assert c.compute_jobs.job(job_id).result_hash == ran.result_hash
    exchange.fetched.clear()  # from here on, what the requester receives
    got = compute.fetch_result(c, world.buyer, job_id, exchange)
    assert got["result"]["rows_trained"] + got["result"]["rows_held_out"] == 442
    assert len(got["result"]["parameters"]["coef"]) == len(FEATURES)
    assert 0.2 < got["result"]["metrics"]["r2"] < 0.7
    nonce = c.chain.w3.eth.get_transaction_count(world.seller.address)
    with pytest.raises(AccessDenied, match="was requested by"):  # refused before anything is sent
        compute.confirm_result(c, world.seller, job_id)
    assert c.chain.w3.eth.get_transaction_count(world.seller.address) == nonce
    compute.confirm_result(c, world.buyer, job_id)
    assert c.compute_jobs.job(job_id).state == JobState.COMPLETED
    assert c.compute_jobs.pending(world.seller.address) == PRICE
    nonce = c.chain.w3.eth.get_transaction_count(world.buyer.address)
    with pytest.raises(ValidationError, match="no result waiting for confirmation \\(it is completed\\)"):
        compute.confirm_result(c, world.buyer, job_id)  # twice: refused without a transaction (no gas spent)
    assert c.chain.w3.eth.get_transaction_count(world.buyer.address) == nonce

    # The requester never receives a raw row: search every byte it was handed, decrypted.
    table = load_table(published.table)
    with published.table.open(newline="") as fh:
        lines = [",".join(row) for row in list(csv.reader(fh))[1:]]
    assert exchange.fetched, "the requester fetched nothing"
    for blob in exchange.fetched:
        plain = decrypt_bytes(blob, world.buyer.private_key)
        assert rows_found(json.loads(plain), table, table.columns) == 0
        assert canonical_json(json.loads(plain)) == plain  # the owner encrypted the result's canonical JSON
        text = plain.decode()
        assert not any(line in text for line in lines)


def test_a_job_the_policy_accepts_runs_while_its_accept_is_mined(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    c = world.contracts
    job = compute.submit_job(c, world.buyer, ridge(published.token_id), PRICE, exchange)
    decision, ran = compute.handle_job(c, world.seller, job.job_id, exchange)
    assert decision.outcome == "accepted" and decision.tx is not None
    assert ran is not None and ran.ok, ran
    assert ran.tx.block_number > decision.tx.block_number  # the result was posted after the accept was mined
    assert c.compute_jobs.job(job.job_id).state == JobState.RESULT_POSTED
    got = compute.fetch_result(c, world.buyer, job.job_id, exchange)
    assert len(got["result"]["parameters"]["coef"]) == len(FEATURES)
    # The supervisor's audit trail shows every step of the job.
    details = [r.detail for r in audit.audit_trail(c, account=world.buyer.address)]
    steps = [f"(job {job.job_id}, spec", f"accepted compute job {job.job_id}", f"result of compute job {job.job_id}"]
    found = [next((k for k, d in enumerate(details) if step in d), -1) for step in steps]
    assert -1 not in found and found == sorted(found), details


def test_a_failed_accept_leaves_no_result_posted(
    world: World, published: Setup, exchange: RecordingExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = world.contracts
    job = compute.submit_job(c, world.buyer, ridge(published.token_id), PRICE, exchange)
    blobs = set(exchange.root.iterdir())

    def accept_fails(*_: object) -> None:
        time.sleep(0.05)  # still sending while the job runs
        raise TransactionReverted("compute: job not submitted", "accept")

    monkeypatch.setattr(c.compute_jobs, "accept", accept_fails)
    with pytest.raises(TransactionReverted, match="job not submitted"):
        compute.handle_job(c, world.seller, job.job_id, exchange)
    assert c.compute_jobs.job(job.job_id).state == JobState.SUBMITTED
    assert set(exchange.root.iterdir()) == blobs  # no result was handed over either


def test_a_job_outside_the_policy_is_refused_with_the_rule_and_refunded(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    c = world.contracts
    job_id, decision = submit_and_decide(world, ridge(published.token_id, outputs=("predictions",)), exchange)
    assert decision.outcome == "rejected"
    assert decision.reason.startswith("raw rows: the output predictions gives one value per row")
    assert c.compute_jobs.job(job_id).state == JobState.REJECTED
    assert c.compute_jobs.pending(world.buyer.address) == PRICE
    assert c.compute_jobs.event_of("JobRejected", job_id)["reason"] == decision.reason
    with pytest.raises(AccessDenied, match="breaks the policy"):
        compute.approve_job(c, world.seller, job_id, exchange)


def test_a_job_inside_a_manual_policy_waits_for_review(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    set_policy(world, published.token_id, auto_approve=False)
    job_id, decision = submit_and_decide(world, ridge(published.token_id), exchange)
    assert decision.outcome == "waiting"
    assert world.contracts.compute_jobs.job(job_id).state == JobState.SUBMITTED
    compute.approve_job(world.contracts, world.seller, job_id, exchange)
    assert world.contracts.compute_jobs.job(job_id).state == JobState.ACCEPTED


def test_a_result_json_cannot_carry_fails_the_job_and_is_refunded(
    world: World, published: Setup, exchange: RecordingExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datagora.compute import runner

    real = runner.run_estimator

    def with_nan(spec: JobSpec, table: Any) -> runner.RunResult:
        ran = real(spec, table)
        return runner.RunResult({**ran.result, "metrics": {"r2": float("nan")}}, ran.epsilon_spent)

    monkeypatch.setattr(runner, "run_estimator", with_nan)
    job_id, decision = submit_and_decide(world, ridge(published.token_id), exchange)
    assert decision.outcome == "accepted"
    ran = compute.run_job(world.contracts, world.seller, job_id, exchange)
    assert not ran.ok and ran.reason.startswith("the result cannot be delivered: ")
    assert "NaN at $.result.metrics.r2" in ran.reason
    assert world.contracts.compute_jobs.job(job_id).state == JobState.FAILED
    assert world.contracts.compute_jobs.pending(world.buyer.address) == PRICE


def test_python_code_returning_rows_fails_and_is_refunded(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    set_policy(world, published.token_id, allowed_algorithms=frozenset({"python"}))
    code = "def run(t):\n    return [[float(t[c][i]) for c in t] for i in range(5)]\n"
    job_id, decision = submit_and_decide(world, python_job(published.token_id, code), exchange)
    assert decision.outcome == "accepted"
    ran = compute.run_job(world.contracts, world.seller, job_id, exchange)
    assert not ran.ok and ran.reason.startswith("raw rows: the result holds 5 row(s) of the data")
    assert world.contracts.compute_jobs.job(job_id).state == JobState.FAILED
    assert world.contracts.compute_jobs.pending(world.buyer.address) == PRICE


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "limits", "reason"),
    [
        ("def run(t):\n    while True:\n        pass\n", {"cpu_seconds": 1}, "over its CPU time limit of 1 s"),
        ("def run(t):\n    x = bytearray(3 << 30)\n", {"memory_bytes": 512 << 20}, "over its memory limit of 512 MiB"),
        ("import time\ndef run(t):\n    time.sleep(60)\n", {"wall_seconds": 2}, "over its time limit of 2 s"),
        ("import socket\ndef run(t):\n    socket.socket()\n", {}, "(network socket)"),
        ("def run(t):\n    return open('/etc/passwd').read()\n", {}, "outside its input"),
    ],
    ids=["cpu", "memory", "wall time", "socket", "read outside"],
)
def test_a_sandboxed_job_over_its_limits_fails_and_is_refunded(
    world: World, published: Setup, exchange: RecordingExchange, code: str, limits: dict[str, int], reason: str
) -> None:
    set_policy(world, published.token_id, allowed_algorithms=frozenset({"python"}), **limits)
    job_id, _ = submit_and_decide(world, python_job(published.token_id, code), exchange)
    ran = compute.run_job(world.contracts, world.seller, job_id, exchange)
    assert not ran.ok and reason in ran.reason
    assert ran.killed == bool(limits)  # a limit kills the process; a refused call ends it by itself
    assert reason in world.contracts.compute_jobs.event_of("JobFailed", job_id)["reason"]
    assert world.contracts.compute_jobs.job(job_id).state == JobState.FAILED
    assert world.contracts.compute_jobs.pending(world.buyer.address) == PRICE


@pytest.mark.slow
def test_a_private_job_differs_run_to_run_and_the_budget_is_enforced(
    world: World, published: Setup, exchange: RecordingExchange
) -> None:
    c = world.contracts
    set_policy(world, published.token_id, dp_required=True, epsilon_per_job=1.0, privacy_budget=2.0)
    spec = ridge(published.token_id, features=("bmi", "bp"), outputs=("aggregates",), epsilon=1.0, seed=3)
    answers = []
    for _ in range(2):
        job_id, decision = submit_and_decide(world, spec, exchange)
        assert decision.outcome == "accepted"
        assert compute.run_job(c, world.seller, job_id, exchange).ok
        answers.append(compute.fetch_result(c, world.buyer, job_id, exchange)["result"]["aggregates"])
    assert answers[0] != answers[1]
    assert abs(answers[0]["bmi"]["mean"] - 26.4) < 5  # noisy, yet near the true mean (26.38)
    job_id, decision = submit_and_decide(world, spec, exchange)
    assert decision.outcome == "rejected"
    assert decision.reason.startswith("privacy budget: the job would spend epsilon 1, but the requester has spent 2")
    _, decision = submit_and_decide(world, ridge(published.token_id), exchange)
    assert decision.reason.startswith("differential privacy: every job on this dataset must be differentially private")
