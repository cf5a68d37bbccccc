"""Federated rounds with secure aggregation (Flower's SecAgg+; slow: real SuperLink and SuperNode processes): the
owners' updates reach the aggregator masked, four message exchanges a round, and the model is as good as
training on the pooled rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.federated import federation
from datagora.scenarios import federated as story
from datagora.services import federated as service
from datagora.services.sample_data import write_breast_cancer_csv

pytestmark = pytest.mark.slow

ROUNDS = 2


def test_securely_aggregated_rounds_give_a_model_within_two_points_of_centralised(tmp_path: Path) -> None:
    files = story.split_rows(write_breast_cancer_csv(tmp_path / "source.csv"), tmp_path / "data")
    owners = [federation.Owner(f"0x{i:040x}", files[h]) for i, h in enumerate(story.HOSPITALS, start=1)]
    runs: list[federation.Federation] = []
    spec = service.FederatedSpec(label="diagnosis", positive_label="malignant", rounds=ROUNDS, secure_aggregation=True)
    result = federation.run(
        owners,
        [o.address for o in owners],
        tmp_path / "run",
        rounds=ROUNDS,
        positive_label="malignant",
        secure_aggregation=True,
        timeout=900,
        on_started=runs.append,
    )
    assert [r.number for r in result.rounds] == list(range(1, ROUNDS + 1))
    federated = service.accuracy(result.final, result.mean, result.scale, files["test"], spec)
    central = service.centralised_accuracy([files[h] for h in story.HOSPITALS], files["test"], spec)
    assert federated >= central - 0.02
    # SecAgg+: setup, share keys, collect masked vectors, unmask: four train messages per round at every owner
    for node in runs[0].nodes.values():
        assert node.log.read_text().count("Receiving: train message") == 4 * ROUNDS
    assert runs[0].leftovers() == []
