"""Batch anchoring end to end on each backend (the embedded EVM and Anvil): records anchored in batches through the
fast client path, every record verifiable with its stored proof in Python, by pymerkle and by the contract; a record
outside a batch and a changed record fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.crypto import merkle
from datagora.domain.errors import NotFoundError, TransactionReverted, ValidationError
from datagora.services import anchoring
from datagora.storage.anchoring import AnchorStore
from tests.world import World


def readings(n: int, sensor: int = 12) -> list[bytes]:
    return [f'{{"sensor": {sensor}, "seq": {i}, "celsius": {18 + (i * 7) % 9}.25}}'.encode() for i in range(n)]


@pytest.fixture
def store(tmp_path: Path) -> AnchorStore:
    s = AnchorStore(tmp_path / "anchors.sqlite")
    yield s
    s.close()


def test_records_anchored_in_batches_each_verify(world: World, store: AnchorStore) -> None:
    records = readings(23)
    batches = anchoring.anchor_records(
        world.contracts, world.seller.account, records, label="sensor-12", store=store, batch_size=10
    )
    assert [b.size for b in batches] == [10, 10, 3]
    assert [b.batch_id for b in batches] == [1, 2, 3]
    assert world.contracts.anchors.batch_count() == 3
    on_chain = world.contracts.anchors.batch(2)
    assert on_chain.root == batches[1].root and on_chain.size == 10
    assert on_chain.organisation_id == world.orgs["seller"]
    for i, record in enumerate(records):
        result = anchoring.verify_record(world.contracts, store, merkle.leaf_hash(record))
        assert result.ok, i
        assert (result.proof.batch_id, result.proof.index) == (1 + i // 10, i % 10)


def test_a_record_outside_the_batch_and_a_changed_record_fail(world: World, store: AnchorStore) -> None:
    records = readings(8)
    (batch,) = anchoring.anchor_records(world.contracts, world.seller.account, records, label="s", store=store)
    proof = store.proof_at(world.chain.chain_id, batch.batch_id, 5)
    assert proof is not None
    changed = records[5].replace(b"seq", b"SEQ")
    result = anchoring.verify_record(world.contracts, store, merkle.leaf_hash(changed), proof)
    assert not result.ok
    assert (result.in_python, result.by_pymerkle, result.on_chain) == (False, False, False)
    outsider = readings(1, sensor=99)[0]
    result = anchoring.verify_record(world.contracts, store, merkle.leaf_hash(outsider), proof)
    assert not result.on_chain and not result.in_python
    with pytest.raises(NotFoundError, match="in no batch this node anchored"):
        anchoring.verify_record(world.contracts, store, merkle.leaf_hash(changed))


def test_a_proof_document_round_trips_and_checks_without_the_store(world: World, store: AnchorStore) -> None:
    records = readings(5)
    anchoring.anchor_records(world.contracts, world.seller.account, records, label="s", store=store)
    (proof,) = store.proofs(world.chain.chain_id, merkle.leaf_hash(records[3]))
    doc = anchoring.proof_document(world.contracts, proof)
    assert anchoring.parse_proof_document(doc) == proof
    assert anchoring.verify(world.contracts, merkle.leaf_hash(records[3]), proof).ok
    with pytest.raises(ValidationError, match="not a proof document"):
        anchoring.parse_proof_document({"batch_id": 1})


def test_only_audited_organisations_anchor(world: World, store: AnchorStore) -> None:
    with pytest.raises(TransactionReverted, match="anchors: not audited"):
        anchoring.anchor_records(world.contracts, world.outsider.account, readings(2), label="s", store=store)
    assert world.contracts.anchors.batch_count() == 0
    assert store.batches(world.chain.chain_id) == []


@pytest.mark.parametrize(
    ("records", "label", "size", "message"),
    [
        ([], "s", 10, "no records"),
        ([b"a"], " ", 10, "label"),
        ([b"a"], "x" * 65, 10, "at most 64 bytes"),
        ([b"a"], "s", 0, "batch size"),
    ],
    ids=["no-records", "blank-label", "long-label", "zero-batch"],
)
def test_bad_input_is_refused_before_sending(
    world: World, store: AnchorStore, records: list[bytes], label: str, size: int, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        anchoring.anchor_records(
            world.contracts, world.seller.account, records, label=label, store=store, batch_size=size
        )


def test_the_audit_trail_reads_an_anchored_batch(world: World, store: AnchorStore) -> None:
    from datagora.services.audit import audit_trail

    (batch,) = anchoring.anchor_records(
        world.contracts, world.seller.account, readings(3), label="sensor-12", store=store
    )
    rows = [r for r in audit_trail(world.contracts) if r.contract == "Anchors"]
    assert len(rows) == 1
    assert rows[0].actor == world.seller.address and rows[0].action == "Anchored"
    assert rows[0].detail == (
        f"anchored batch #1 of 3 records 'sensor-12' for organisation #{world.orgs['seller']} "
        f"(Merkle root {batch.root.hex()[:16]}…)"
    )
