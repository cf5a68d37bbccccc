"""``datagora federated`` and ``datagora demo federated`` as a person runs them: plain errors for bad input
before anything is sent, and (slow) the demo end to end with its accuracy table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.kits.cli_fixtures import CliWorld, failed, invoke, ok, refused


def test_a_node_argument_without_a_job_number_is_refused_in_plain_words(tmp_path: Path) -> None:
    args = ["federated", "run", "--node", "st-marys.csv", "--home", tmp_path, "-a", "lab"]
    failed(invoke(args), "--node takes JOB=FILE", "st-marys.csv")


def test_a_node_key_argument_is_checked_before_anything_is_sent(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("a,label\n1,0\n")
    base = ["federated", "run", "--node", f"4={data}", "--home", tmp_path, "-a", "lab"]
    failed(invoke([*base, "--node-key", "my-node"]), "--node-key takes JOB=FOLDER", "my-node")
    failed(invoke([*base, "--node-key", f"4={tmp_path / 'nowhere'}"]), "supernode.key")
    folder = tmp_path / "node"
    folder.mkdir()
    for suffix in (".key", ".pub", ".sig"):
        (folder / f"supernode{suffix}").write_text("x")
    failed(invoke([*base, "--node-key", f"5={folder}"]), "job #5, which has no --node")


def test_a_missing_data_file_is_refused_in_plain_words(tmp_path: Path) -> None:
    args = ["federated", "review", "4", "--data", tmp_path / "nothing.csv", "--home", tmp_path, "-a", "hospital"]
    failed(invoke(args), "nothing.csv")


@pytest.mark.slow
def test_the_demo_trains_across_hospitals_and_prints_the_accuracy_table(tmp_path: Path) -> None:
    out = ok(invoke(["demo", "federated", "--workdir", tmp_path], env={"COLUMNS": "160"}))
    assert "rejected the job: minimum rows: the dataset has 40 rows, fewer than the 50 a job needs" in out
    assert len(re.findall(r"round \d averaged .* recorded once for the run, on job #1\b", out)) == 3
    assert "refused by Flower (node key not registered):" in out
    federated = re.search(r"federated, 3 hospitals, 3 rounds\s*│\s*([\d.]+)%", out)
    central = re.search(r"centralised on the same rows pooled\s*│\s*([\d.]+)%", out)
    assert federated and central, out
    assert float(federated.group(1)) >= float(central.group(1)) - 2.0
    assert "round hashes on chain" in out


@pytest.mark.slow
def test_an_owner_makes_and_signs_its_node_key_and_only_the_owner_can(w: CliWorld) -> None:
    from datagora.chain.client import RpcChain
    from datagora.chain.contracts import Contracts
    from datagora.services import federated

    out = ok(w.run("federated", "submit", "3", "--pay", "0.01", "-a", "buyer"))  # #3 is not listed: the seller holds it
    job = int(re.search(r"job #(\d+)", out).group(1))  # type: ignore[union-attr]
    folder = w.home / "node"
    assert "your node's key for job" in ok(w.run("federated", "node-key", job, "--out", folder, "-a", "seller"))
    public = (folder / "supernode.pub").read_text().strip()
    signature = bytes.fromhex((folder / "supernode.sig").read_text().strip().removeprefix("0x"))
    contracts = Contracts.attach(RpcChain(w.url), w.home / "deployments")
    assert federated.node_key_signer(contracts, job, public, signature) == w.addresses["seller"]
    refused(w, ("federated", "node-key", job, "--out", w.home / "other", "-a", "buyer"), "is for the owner")
    assert not (w.home / "other").exists()
