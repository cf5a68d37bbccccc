"""Differentially private LogisticRegression (output perturbation, Chaudhuri, Monteleoni and Sarwate 2011): the
sensitivity the noise is calibrated to holds (replacing one row moves the exact minimiser by at most 2 C), answers
differ run to run yet stay near the exact model, several classes work one-vs-rest, and estimators without a
private version are refused under differential privacy with the reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from datagora.compute import runner
from datagora.compute.policy import default_policy
from datagora.compute.runner import Table, load_table, logistic_minimiser, run_estimator, unit_ball_rows
from datagora.compute.spec import DP_ESTIMATORS, JobSpec
from datagora.domain.errors import ValidationError
from datagora.services.sample_data import write_breast_cancer_csv

OWNER = "0x" + "11" * 20


@pytest.fixture(scope="module")
def tumours(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return load_table(write_breast_cancer_csv(tmp_path_factory.mktemp("dp") / "tumours.csv"))


def _features(table: Table) -> tuple[str, ...]:
    return tuple(c for c in table.columns if c.startswith("mean"))


def _spec(table: Table, **extra: object) -> JobSpec:
    fields: dict[str, object] = {
        "token_id": 1,
        "estimator": "LogisticRegression",
        "features": _features(table),
        "label": "diagnosis",
        "outputs": ("parameters",),
        "epsilon": 1.0,
    }
    return JobSpec(**(fields | extra))  # type: ignore[arg-type]


def test_replacing_one_row_moves_the_exact_minimiser_by_at_most_2c(tumours: Table) -> None:
    x = np.column_stack([np.asarray(tumours.data[f]) for f in _features(tumours)])
    low, high = x.min(axis=0), x.max(axis=0)
    z = unit_ball_rows(x, low, high, intercept=True)
    assert np.linalg.norm(z, axis=1).max() <= 1 + 1e-12
    signs = np.where(np.asarray(tumours.data["diagnosis"]) == "malignant", 1.0, -1.0)
    assert len(set(signs.tolist())) == 2
    rng = np.random.default_rng(5)
    for c in (0.1, 1.0):
        base = logistic_minimiser(z, signs, c)
        worst = 0.0
        for row in rng.choice(len(z), size=3, replace=False):
            other_z = z.copy()
            other_z[row] = -z[row]  # the farthest replacement inside the ball: the opposite point, same label
            worst = max(worst, float(np.linalg.norm(logistic_minimiser(other_z, signs, c) - base)))
        assert 0 < worst <= 2 * c  # corollary 8: the bound the noise is calibrated to
        assert worst > 0.05 * c  # and the bound is not vacuous: one row does move it


def test_private_answers_differ_run_to_run_and_stay_near_the_exact_model(
    tumours: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tumours, epsilon=10.0, params={"C": 0.1})
    first, second = (run_estimator(spec, tumours).result["parameters"] for _ in range(2))
    assert first["coef"] != second["coef"]
    assert first["classes"] == ["benign", "malignant"] and len(first["coef"][0]) == len(_features(tumours))
    monkeypatch.setattr(runner, "noisy_vector", lambda values, sensitivity, epsilon: np.asarray(values))
    exact = run_estimator(spec, tumours).result["parameters"]
    # Noise of scale 2 C sqrt(11) / 10 = 0.066 per weight in the unit-ball space: the coefficients of the features
    # with narrow ranges move little; every coefficient is within a few noise scales of the exact one.
    x = np.column_stack([np.asarray(tumours.data[f]) for f in _features(tumours)])
    bounds = [runner._round_out(float(col.min()), float(col.max())) for col in x.T]
    half = np.array([(hi - lo) / 2 for lo, hi in bounds])
    scale = 2 * 0.1 * math.sqrt(11) / 10 / math.sqrt(11) / half
    gap = np.abs(np.array(first["coef"][0]) - np.array(exact["coef"][0]))
    assert (gap <= 12 * scale).all()
    assert (gap > 0).all()


def test_several_classes_are_released_one_versus_rest(tumours: Table) -> None:
    data = dict(tumours.data)
    radius = np.asarray(data["mean radius"])
    data["size"] = ["small" if r < 12 else "medium" if r < 16 else "large" for r in radius]
    table = Table((*tumours.columns, "size"), data, tumours.rows)
    spec = _spec(table, label="size", features=("mean radius", "mean texture"), epsilon=5.0, params={"C": 1.0})
    released = run_estimator(spec, table).result["parameters"]
    assert released["classes"] == ["large", "medium", "small"]
    assert np.asarray(released["coef"]).shape == (3, 2) and len(released["intercept"]) == 3


@pytest.mark.parametrize(
    ("estimator", "label", "why"),
    [
        ("RandomForestClassifier", "diagnosis", "one row can change its trees' splits entirely"),
        ("DecisionTreeClassifier", "diagnosis", "one row can change a tree's splits entirely"),
        ("KMeans", None, "one row can move a cluster centre without bound"),
        ("Lasso", "mean area", "its L1 penalty is not strongly convex"),
    ],
)
def test_estimators_without_a_private_version_are_refused_with_the_reason(
    tumours: Table, estimator: str, label: str | None, why: str
) -> None:
    features = tuple(f for f in _features(tumours) if f != label)
    spec = JobSpec(token_id=1, estimator=estimator, features=features, label=label, epsilon=1.0)
    policy = default_policy(OWNER, 1, 1, allowed_algorithms=frozenset({estimator}))
    refusals = [r for r in policy.check(spec, tumours.rows, tumours.columns) if r.rule == "differential privacy"]
    assert len(refusals) == 1 and why in str(refusals[0])
    assert "LogisticRegression" in str(refusals[0]) and "LogisticRegression" in DP_ESTIMATORS
    with pytest.raises(ValidationError, match="cannot release its parameters privately"):
        run_estimator(spec, tumours)
    # Metrics alone can still be private (noisy accuracy), so they are not refused.
    metrics_only = JobSpec(
        token_id=1, estimator=estimator, features=features, label=label, outputs=("metrics",), epsilon=1.0
    )
    assert not [r for r in policy.check(metrics_only, tumours.rows, tumours.columns) if "privately" in str(r)]


def test_a_private_logistic_regression_passes_the_policy(tumours: Table) -> None:
    policy = default_policy(OWNER, 1, 1, dp_required=True, epsilon_per_job=1.0)
    assert policy.check(_spec(tumours), tumours.rows, tumours.columns) == []
