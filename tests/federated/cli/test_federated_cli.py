"""``datagora federated`` and ``datagora demo federated`` as a person runs them: plain errors for bad input
before anything is sent, and (slow) the demo end to end with its accuracy table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.kits.cli_fixtures import failed, invoke, ok


def test_a_node_argument_without_a_job_number_is_refused_in_plain_words(tmp_path: Path) -> None:
    args = ["federated", "run", "--node", "st-marys.csv", "--home", tmp_path, "-a", "lab"]
    failed(invoke(args), "--node takes JOB=FILE", "st-marys.csv")


def test_a_missing_data_file_is_refused_in_plain_words(tmp_path: Path) -> None:
    args = ["federated", "review", "4", "--data", tmp_path / "nothing.csv", "--home", tmp_path, "-a", "hospital"]
    failed(invoke(args), "nothing.csv")


@pytest.mark.slow
def test_the_demo_trains_across_hospitals_and_prints_the_accuracy_table(tmp_path: Path) -> None:
    out = ok(invoke(["demo", "federated", "--workdir", tmp_path], env={"COLUMNS": "160"}))
    assert "rejected the job: minimum rows: the dataset has 40 rows, fewer than the 50 a job needs" in out
    assert len(re.findall(r"round \d averaged .* recorded on the 3 accepted jobs", out)) == 3
    federated = re.search(r"federated, 3 hospitals, 3 rounds\s*│\s*([\d.]+)%", out)
    central = re.search(r"centralised on the same rows pooled\s*│\s*([\d.]+)%", out)
    assert federated and central, out
    assert float(federated.group(1)) >= float(central.group(1)) - 2.0
    assert "round hashes on chain" in out
