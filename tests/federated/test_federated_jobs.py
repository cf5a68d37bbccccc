"""Federated jobs on chain, without starting Flower: owners accept or reject under their terms, only accepted jobs
of the same requester and spec count, and a run nobody approved starts no process."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import pytest
from eth_account import Account

from datagora.domain.compute import JobKind, JobState
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.federated.credentials import write_node_key
from datagora.federated.environment import FlowerEnvironment
from datagora.services import federated, publishing
from datagora.services.participant import Participant
from tests.world import World

SPEC = federated.FederatedSpec(label="label", rounds=3)
PAY = 10**16


def _partition(path: Path, rows: int, seed: int) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label"])
        for i in range(rows):
            w.writerow([seed * 1000 + i, (i * 7 + seed) % 13, i % 2])
    return path


def _publish(world: World, owner: Participant, path: Path) -> int:
    assert world.attestor is not None
    token_id, _, _ = publishing.publish(world.contracts, owner, publishing.prepare(owner, path), world.attestor)
    return token_id


@pytest.fixture
def jobs(world: World, tmp_path: Path) -> dict[str, tuple[int, Path]]:
    """The seller owns a 60-row and a 20-row partition (its default compute policy needs 50 rows); the buyer (the
    requester) submitted a job for each."""
    big = _partition(tmp_path / "big.csv", 60, 1)
    small = _partition(tmp_path / "small.csv", 20, 2)
    tokens = [_publish(world, world.seller, big), _publish(world, world.seller, small)]
    ids, txs = federated.submit(world.contracts, world.buyer.account, tokens, SPEC, PAY)
    assert len(txs) == 2
    return {"big": (ids[tokens[0]], big), "small": (ids[tokens[1]], small)}


def test_owners_accept_within_their_terms_and_reject_naming_the_rule(
    world: World, jobs: dict[str, tuple[int, Path]]
) -> None:
    c = world.contracts
    (big, big_file), (small, small_file) = jobs["big"], jobs["small"]
    job = c.compute_jobs.job(big)
    assert (job.kind, job.spec_hash, job.amount) == (JobKind.FEDERATED, SPEC.hash, PAY)
    accepted = federated.review(c, world.seller.account, big, SPEC, big_file)
    assert accepted.accepted and c.compute_jobs.job(big).state == JobState.ACCEPTED
    rejected = federated.review(c, world.seller.account, small, SPEC, small_file)
    assert not rejected.accepted
    assert rejected.reason == "minimum rows: the dataset has 20 rows, fewer than the 50 a job needs"
    assert c.compute_jobs.job(small).state == JobState.REJECTED
    assert [e.args["reason"] for e in rejected.tx.events if e.name == "JobRejected"] == [rejected.reason]
    invitations = [
        federated.Invitation(big, world.seller.address, big_file),
        federated.Invitation(small, world.seller.address, small_file),
    ]
    assert federated.approved(c, world.buyer.address, invitations, SPEC) == [big]
    assert federated.approved(c, world.outsider.address, invitations, SPEC) == []  # not this requester's jobs
    other = federated.FederatedSpec(label="label", rounds=4)
    assert federated.approved(c, world.buyer.address, invitations, other) == []


def test_only_the_owner_reviews_and_only_the_spec_it_was_submitted_with(
    world: World, jobs: dict[str, tuple[int, Path]]
) -> None:
    big, big_file = jobs["big"]
    with pytest.raises(AccessDenied, match="not " + world.buyer.address):
        federated.review(world.contracts, world.buyer.account, big, SPEC, big_file)
    with pytest.raises(ValidationError, match="another spec"):
        federated.review(world.contracts, world.seller.account, big, federated.FederatedSpec(label="x"), big_file)

    # a spec with non-ASCII text, as the owner reads it from JSON text, is the one the job was submitted with
    c, token_id = world.contracts, world.contracts.compute_jobs.job(big).token_id
    spec = federated.FederatedSpec(label="Zürich café — 東京", positive_label="oui — 是", rounds=2)
    ids, _ = federated.submit(c, world.buyer.account, [token_id], spec, PAY)
    owners_copy = federated.FederatedSpec(**json.loads(json.dumps(asdict(spec))))
    review = federated.review(c, world.seller.account, ids[token_id], owners_copy, big_file)
    assert c.compute_jobs.job(ids[token_id]).spec_hash == owners_copy.hash == spec.hash
    assert not review.accepted and "Zürich café — 東京" in review.reason  # past the spec check: the table lacks it


def test_a_run_without_accepted_jobs_is_refused_before_starting_anything(
    world: World, jobs: dict[str, tuple[int, Path]], tmp_path: Path
) -> None:
    big, big_file = jobs["big"]
    missing = FlowerEnvironment(tmp_path / "no-flower")  # would fail at once if a process were started
    with pytest.raises(AccessDenied, match="0 of the 1 invited owners accepted"):
        federated.run(
            world.contracts,
            world.buyer.account,
            [federated.Invitation(big, world.seller.address, big_file)],
            SPEC,
            tmp_path / "run",
            env=missing,
        )
    assert not (tmp_path / "run").exists()


def test_a_requester_outside_an_audited_organisation_cannot_submit(world: World, tmp_path: Path) -> None:
    from datagora.domain.errors import TransactionReverted

    token = _publish(world, world.seller, _partition(tmp_path / "p.csv", 60, 3))
    stranger = Account.create()
    world.chain.fund(stranger.address, 10**18)
    with pytest.raises(TransactionReverted, match="compute: requester not audited"):
        federated.submit(world.contracts, stranger, [token], SPEC, PAY)
    # refused before anything is sent: no transaction mined, no gas spent
    assert world.chain.w3.eth.get_transaction_count(stranger.address) == 0
    assert world.chain.balance(stranger.address) == 10**18


def test_each_round_is_recorded_once_per_run_and_every_job_of_the_run_finds_it(
    world: World, jobs: dict[str, tuple[int, Path]], tmp_path: Path
) -> None:
    c, seller, buyer = world.contracts, world.seller.account, world.buyer.account
    (big, big_file), (small, _) = jobs["big"], jobs["small"]
    big_token = c.compute_jobs.job(big).token_id

    def another_job() -> int:
        """A second job on the big dataset (as if another owner held the same rows), accepted."""
        ids, _ = federated.submit(c, buyer, [big_token], SPEC, PAY)
        assert federated.review(c, seller, ids[big_token], SPEC, big_file).accepted
        return ids[big_token]

    assert federated.review(c, seller, big, SPEC, big_file).accepted
    c.compute_jobs.reject(seller, small, "not this time")
    first = [big, small, another_job()]
    hashes = [bytes([n]) * 32 for n in (1, 2, 3)]
    recorded = [federated.record_round(c, buyer, [first[2], first[0]], n, hashes[n - 1]) for n in (1, 2)]
    assert [(r.job_id, len(r.txs)) for r in recorded] == [(first[0], 1), (first[0], 1)]  # the lowest accepted id
    assert [e.args["job_id"] for r in recorded for e in r.txs[0].events if e.name == "FederatedRound"] == [big, big]
    expected = [(1, hashes[0]), (2, hashes[1])]
    assert federated.recorded_rounds(c, first[0]) == expected
    assert federated.recorded_rounds(c, first[2]) == expected  # the other owner's job of the run sees them too
    assert federated.recorded_rounds(c, first[1]) == []  # a rejected job took no part
    assert c.compute_jobs.job(first[2]).rounds == 0  # nothing was sent for it
    # The API's single-job route counts the run's rounds for every job of the run, the list the contract's counter.
    from datagora.api.routers.compute import job as job_route
    from datagora.services.node import open_node

    node = open_node(c, world.seller, f"sqlite:///{tmp_path}/index.db")
    try:
        assert [job_route(j, node, None).rounds for j in first] == [2, 0, 2]  # type: ignore[arg-type]
    finally:
        node.close()

    second = [another_job(), another_job()]  # the same spec again: its jobs find the later run's rounds only
    federated.record_round(c, buyer, second, 1, hashes[2])
    assert federated.recorded_rounds(c, second[1]) == [(1, hashes[2])]
    assert federated.recorded_rounds(c, first[2]) == expected
    with pytest.raises(ValidationError, match="at least one accepted job"):
        federated.record_round(c, buyer, [], 2, hashes[2])


def test_an_owners_own_node_key_counts_only_with_the_owners_signature(
    world: World, jobs: dict[str, tuple[int, Path]], tmp_path: Path
) -> None:
    c, seller, buyer = world.contracts, world.seller.account, world.buyer.account
    big, big_file = jobs["big"]
    key = write_node_key(tmp_path / "owner", "supernode")
    signed = federated.sign_node_key(c, seller, big, key)
    assert federated.node_key_signer(c, big, key.public_line, signed) == seller.address
    assert federated.node_key_signer(c, big + 1, key.public_line, signed) != seller.address  # another job
    other = write_node_key(tmp_path / "other", "supernode")
    assert federated.node_key_signer(c, big, other.public_line, signed) != seller.address  # another key
    assert federated.node_key_signer(c, big, key.public_line, b"\x01" * 10) == ""
    assert federated.node_key_signer(c, big, key.public_line, b"\xff" * 65) == ""  # no valid recovery
    assert federated.review(c, seller, big, SPEC, big_file).accepted
    missing = FlowerEnvironment(tmp_path / "no-flower")  # would fail at once if a process were started
    forged = federated.Invitation(big, seller.address, big_file, key, federated.sign_node_key(c, buyer, big, key))
    with pytest.raises(AccessDenied, match=f"key given for job {big} is not signed by the job's owner"):
        federated.run(c, buyer, [forged], SPEC, tmp_path / "run", env=missing)
    assert not (tmp_path / "run").exists()
