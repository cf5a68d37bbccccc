"""An owner's terms for federated jobs (its ODRL compute policy plus a maximum of rounds) and the job spec whose
hash goes on chain."""

from __future__ import annotations

import pytest

from datagora.domain.errors import ValidationError
from datagora.services.federated import FederatedSpec, default_terms

SPEC = FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5)
COLUMNS = ["mean radius", "mean texture", "diagnosis"]
OWNER = "0x" + "ab" * 20


def test_the_spec_hash_covers_every_setting() -> None:
    assert SPEC.hash == FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5).hash
    others = [
        FederatedSpec(label="outcome", positive_label="malignant", rounds=5),
        FederatedSpec(label="diagnosis", positive_label="benign", rounds=5),
        FederatedSpec(label="diagnosis", positive_label="malignant", rounds=6),
        FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5, local_epochs=11),
        FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5, secure_aggregation=True),
    ]
    assert len({SPEC.hash, *(s.hash for s in others)}) == 1 + len(others)
    assert SPEC.uri.endswith(SPEC.hash.hex())


def test_the_job_reads_every_column_but_the_label() -> None:
    job = SPEC.job_spec(7, COLUMNS)
    assert (job.token_id, job.estimator, job.label) == (7, "LogisticRegression", "diagnosis")
    assert job.features == ("mean radius", "mean texture")
    assert job.params == {"max_iter": SPEC.local_epochs}
    with pytest.raises(ValidationError, match="no column 'outcome'"):
        FederatedSpec(label="outcome").job_spec(7, COLUMNS)


@pytest.mark.parametrize(
    ("spec", "rows", "terms", "rule"),
    [
        (SPEC, 100, {}, None),
        (SPEC, 49, {}, "minimum rows: the dataset has 49 rows, fewer than the 50 a job needs"),
        (SPEC, 100, {"max_rounds": 4}, "rounds: 5 rounds asked, at most 4 allowed"),
        (SPEC, 100, {"allowed_algorithms": {"Ridge"}}, "algorithm: the algorithm LogisticRegression is not allowed"),
        (SPEC, 100, {"allowed_outputs": {"metrics"}}, "output: the output parameters is not allowed"),
        (SPEC, 100, {"prohibited_columns": {"Mean Radius"}}, "column: the column mean radius may not be read"),
        (SPEC, 100, {"dp_required": True}, "differential privacy: every job on this dataset must be"),
    ],
)
def test_the_broken_rule_is_named(spec: FederatedSpec, rows: int, terms: dict[str, object], rule: str | None) -> None:
    found = default_terms(OWNER, 7, **terms).broken_rule(spec, 7, rows, COLUMNS)  # type: ignore[arg-type]
    if rule is None:
        assert found is None
    else:
        assert found is not None and found.startswith(rule), found
