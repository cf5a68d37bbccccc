"""``datagora anchor`` and ``datagora verify`` on the session Anvil node: readings anchored from a file of lines,
one verified by its id and by a file, its proof saved and checked by another account; a changed record and a
record outside the batch fail in plain words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.chain.client import RpcChain
from datagora.services.anchoring import record_id
from tests.kits.cli_fixtures import CliWorld, failed, make_keystores, ok

NAMES = ("supervisor", "platform", "seller", "outsider")


@pytest.fixture(scope="module")
def cw(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliWorld]:
    chain = RpcChain(anvil_url)
    snap = chain.snapshot()
    home = tmp_path_factory.mktemp("anchoring-cli")
    w = CliWorld(home, anvil_url, chain, make_keystores(home, *NAMES))
    try:
        for name in NAMES:
            ok(w.run("account", "fund", name, "--ether", "10"))
        ok(w.run("deploy", "--supervisor", "supervisor", "--platform", "platform"))
        ok(w.run("org", "register", "Seller Org", "-a", "seller"))
        ok(w.run("org", "register", "Outsider Org", "-a", "outsider"))
        ok(w.run("org", "status", "Seller Org", "audited", "-a", "supervisor"))
        readings = home / "readings.jsonl"
        readings.write_text("".join(f'{{"sensor": 12, "seq": {i}, "celsius": 21.{i}}}\n' for i in range(25)))
        w.files["readings"] = readings
        out = ok(w.run("anchor", readings, "--lines", "--label", "sensor 12", "--batch-size", "10", "-a", "seller"))
        assert "anchored 25 records in 3 batches (#1, #2, #3)" in out
        yield w
    finally:
        chain.revert(snap)


def line(w: CliWorld, i: int) -> bytes:
    return w.files["readings"].read_bytes().splitlines()[i]


def test_a_record_verifies_by_id_with_the_date_and_batch(cw: CliWorld) -> None:
    out = ok(cw.run("verify", record_id(line(cw, 13)), "-a", "seller"))
    assert "anchored in batch 2 (record 4 of 10) on " in out
    assert "proof checked against the chain" in out


def test_a_record_file_verifies_and_its_proof_travels(cw: CliWorld, tmp_path: Path) -> None:
    record = tmp_path / "reading-22.json"
    record.write_bytes(line(cw, 22))
    proof = tmp_path / "proof.json"
    out = ok(cw.run("verify", record, "--save-proof", proof, "-a", "seller"))
    assert "anchored in batch 3 (record 3 of 5) on " in out
    doc = json.loads(proof.read_text())
    assert (doc["batch_id"], doc["index"], doc["size"]) == (3, 2, 5)
    # Anyone (here an account whose node anchored nothing) checks the record with the proof file alone.
    assert "anchored in batch 3" in ok(cw.run("verify", record, "--proof", proof, "-a", "outsider"))
    record.write_bytes(line(cw, 22).replace(b"21.22", b"29.22"))
    failed(cw.run("verify", record, "--proof", proof, "-a", "outsider"), "does not match batch 3", "changed")


def test_a_record_outside_every_batch_fails(cw: CliWorld, tmp_path: Path) -> None:
    record = tmp_path / "other.json"
    record.write_bytes(b'{"sensor": 99, "seq": 0, "celsius": 5.0}')
    failed(cw.run("verify", record, "-a", "seller"), "in no batch this node anchored")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("verify", "0x1234", "-a", "seller"), ("not a record id",)),
        (("anchor", "missing.jsonl", "--label", "x", "-a", "seller"), ("no such record file",)),
        (("anchor", "{readings}", "--label", "x" * 65, "-a", "seller"), ("at most 64 bytes",)),
        (("anchor", "{readings}", "--label", "x", "-a", "outsider"), ("anchors: not audited",)),
    ],
    ids=["bad-id", "missing-file", "long-label", "not-audited"],
)
def test_mistakes_read_as_one_plain_line(cw: CliWorld, args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    args = tuple(str(cw.files["readings"]) if a == "{readings}" else a for a in args)
    failed(cw.run(*args), *fragments)
