"""An owner's terms for federated jobs and the job spec whose hash goes on chain."""

from __future__ import annotations

import pytest

from datagora.services.federated import FederatedSpec, OwnerTerms

SPEC = FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5)


def test_the_spec_hash_covers_every_setting() -> None:
    assert SPEC.hash == FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5).hash
    others = [
        FederatedSpec(label="outcome", positive_label="malignant", rounds=5),
        FederatedSpec(label="diagnosis", positive_label="benign", rounds=5),
        FederatedSpec(label="diagnosis", positive_label="malignant", rounds=6),
        FederatedSpec(label="diagnosis", positive_label="malignant", rounds=5, local_epochs=11),
    ]
    assert len({SPEC.hash, *(s.hash for s in others)}) == 1 + len(others)
    assert SPEC.uri.endswith(SPEC.hash.hex())


@pytest.mark.parametrize(
    ("spec", "rows", "terms", "rule"),
    [
        (SPEC, 100, OwnerTerms(), None),
        (SPEC, 49, OwnerTerms(), "the data has 49 rows, fewer than the 50 the owner requires"),
        (SPEC, 100, OwnerTerms(max_rounds=4), "5 rounds asked, at most 4 allowed"),
        (FederatedSpec(label="d", algorithm="neural-network"), 100, OwnerTerms(), "algorithm 'neural-network' is not"),
        (FederatedSpec(label="d", output="rows"), 100, OwnerTerms(), "output 'rows' is not allowed"),
    ],
)
def test_the_broken_rule_is_named(spec: FederatedSpec, rows: int, terms: OwnerTerms, rule: str | None) -> None:
    found = terms.broken_rule(spec, rows)
    if rule is None:
        assert found is None
    else:
        assert found is not None and found.startswith(rule)
