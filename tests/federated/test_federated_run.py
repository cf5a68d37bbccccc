"""Federated runs with real Flower processes (slow: a SuperLink and a SuperNode per owner on 127.0.0.1).

One run of the hospitals story (three hospitals accept, a practice rejects; 4 SuperNodes, over TLS, with only the
hospitals' node keys registered) gives the accuracy, the round hashes on chain and the refused owner; a second run
loses an owner's SuperNode in the middle and must fail cleanly, leaving no process behind."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from datagora.chain.client import EmbeddedChain
from datagora.crypto.hashing import keccak256
from datagora.domain.compute import JobState
from datagora.domain.errors import ComputationFailed
from datagora.federated import federation
from datagora.federated.parameters import decode
from datagora.scenarios import federated as story
from datagora.services import federated as service
from datagora.services.sample_data import write_breast_cancer_csv

pytestmark = pytest.mark.slow


class Watched:
    """The processes of the run, collected when its federation stopped."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.started: set[int] = set()
        self.leftovers: list[int] = [-1]

    def stopped(self, fed: federation.Federation) -> None:
        self.seen = set(fed.seen)
        self.started = {p.popen.pid for p in fed.processes}
        self.leftovers = fed.leftovers()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[story.FederatedDemo, Watched]:
    watched = Watched()
    original = service.run

    def run_watched(*args: object, **kwargs: object) -> service.FederatedRun:
        return original(*args, on_stopped=watched.stopped, **kwargs)  # type: ignore[arg-type]

    mp = pytest.MonkeyPatch()
    mp.setattr(service, "run", run_watched)
    try:
        result = story.run(EmbeddedChain(), tmp_path_factory.mktemp("hospitals"))
    finally:
        mp.undo()
    return result, watched


def test_federated_accuracy_is_within_two_points_of_centralised_training(
    demo: tuple[story.FederatedDemo, Watched],
) -> None:
    result, _ = demo
    assert result.scenario.outcome == "TRAINED"
    assert result.federated_accuracy >= result.centralised_accuracy - 0.02
    assert result.federated_accuracy > 0.9  # a real model, not a constant guess (the majority class is ~63 %)


def test_each_rounds_hash_on_chain_is_the_hash_of_that_rounds_aggregate(
    demo: tuple[story.FederatedDemo, Watched],
) -> None:
    result, _ = demo
    spec = importlib.util.spec_from_file_location("fedavg_task", federation.APP_DIR / "datagora_fedavg" / "task.py")
    assert spec is not None and spec.loader is not None
    task = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(task)
    files = {r.number: r.file for r in result.run.outcome.rounds}
    assert sorted(files) == list(range(1, story.SPEC.rounds + 1))
    # once per round for the whole run, on the lowest accepted job, not once per owner
    lead = min(result.jobs[h] for h in story.HOSPITALS)
    rounds = [e for e in result.contracts.events() if e.name == "FederatedRound"]
    assert [(int(e.args["job_id"]), int(e.args["round"])) for e in rounds] == [
        (lead, n) for n in range(1, story.SPEC.rounds + 1)
    ]
    assert all(len(r.txs) == 1 and r.job_id == lead for r in result.run.rounds)
    for label in story.HOSPITALS:
        on_chain = service.recorded_rounds(result.contracts, result.jobs[label])
        assert [n for n, _ in on_chain] == sorted(files)
        for number, recorded in on_chain:
            params = decode(files[number].read_bytes())
            # re-encoded by the Flower app's own encoder from the arrays: the same bytes, the same hash
            arrays = [np.array(params.values[n]).reshape(params.shapes[n]) for n in params.names]
            assert keccak256(task.encode(arrays)) == recorded
    final = result.run.model
    assert final.hash == result.run.rounds[-1].hash
    assert all(result.contracts.compute_jobs.job(result.jobs[h]).result_hash == final.hash for h in story.HOSPITALS)


def test_an_owner_that_did_not_approve_cannot_join(demo: tuple[story.FederatedDemo, Watched]) -> None:
    result, _ = demo
    practice = result.contracts.compute_jobs.job(result.jobs[story.PRACTICE[0]])
    assert practice.state == JobState.REJECTED
    assert practice.owner.lower() in result.run.refused
    # refused by Flower itself: its node key was never registered, so the SuperLink turned its SuperNode away
    logs = result.run.outcome.workdir / "logs"
    assert "Failed to activate SuperNode" in (logs / f"supernode-{practice.owner.lower()}.log").read_text()
    assert (logs / "superlink.log").read_text().count("No SuperNode found with the given public key") >= 1
    assert practice.owner.lower() not in result.run.outcome.owners
    assert len(result.run.outcome.owners) == len(story.HOSPITALS)
    assert service.recorded_rounds(result.contracts, result.jobs[story.PRACTICE[0]]) == []


def test_every_process_is_stopped_after_the_run(demo: tuple[story.FederatedDemo, Watched]) -> None:
    _, watched = demo
    # the SuperLink, 4 SuperNodes and each SuperNode's warm SuperExec
    assert len(watched.started) == 1 + 2 * (len(story.HOSPITALS) + 1)
    assert len(watched.seen) > len(watched.started)  # Flower's own ServerApp/ClientApp processes were seen too
    assert watched.leftovers == []


def test_a_killed_supernode_fails_the_run_cleanly_within_the_timeout(tmp_path: Path) -> None:
    data = tmp_path / "data"
    files = story.split_rows(write_breast_cancer_csv(tmp_path / "source.csv"), data)
    owners = [federation.Owner(f"0x{i:040x}", files[label]) for i, label in enumerate(story.HOSPITALS, start=1)]
    victim = owners[1].address
    runs: list[federation.Federation] = []
    killed_at: list[float] = []

    def kill_after_first_round(aggregate: federation.RoundAggregate) -> None:
        if aggregate.number == 1:
            runs[0].stop_owner(victim)
            killed_at.append(time.monotonic())

    with pytest.raises(ComputationFailed, match=f"SuperNode of owner {victim} stopped after 1 of 10 rounds"):
        federation.run(
            owners,
            [o.address for o in owners],
            tmp_path / "run",
            rounds=10,
            positive_label="malignant",
            timeout=300,
            on_started=runs.append,
            on_round=kill_after_first_round,
        )
    assert killed_at and time.monotonic() - killed_at[0] < 30  # failed promptly, not at the timeout
    fed = runs[0]
    assert all(p.popen.poll() is not None for p in fed.processes)
    assert fed.leftovers() == []
    shutil.rmtree(tmp_path / "run", ignore_errors=True)
