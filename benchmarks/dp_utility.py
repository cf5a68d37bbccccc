"""Utility of differentially private use-right answers: for the same queries, the exact answer, one
differentially private answer and the relative error, on scikit-learn's diabetes table (442 rows) and on a
100,000-row table drawn from it, side by side, at the default epsilon per query.

    python benchmarks/dp_utility.py [--rows 100000] [--runs 200] [--seed 17] [--epsilon 1.0] [--json out.json]

Both tables are answered by the owner's runner (``datagora.query.QueryRunner``) under the node's default policy
(aggregates only, groups of at least 5 rows) with the value ranges a listing derives from the table (each numeric
column's extent rounded outward to two significant digits). The large table is reproducible: ``--seed`` draws
its rows from the diabetes rows with replacement (NumPy's PCG64) and jitters the measured columns by a tenth of
their standard deviation, so the same queries mean the same thing on both tables. The relative error is
``|DP - exact| / |exact|`` for one answer, and its mean over ``--runs`` answers (the noise cannot be seeded:
OpenDP draws it from the operating system's random source).

Then the compute jobs' private parameters (``datagora.compute.runner``): a LogisticRegression on the breast cancer
table (output perturbation, Chaudhuri, Monteleoni and Sarwate 2011; C = 0.1) and a Ridge on the diabetes table
(sufficient-statistics perturbation), each released at several epsilons, scored on the owner's hold-out rows
(accuracy; R²) against the exact model: the mean and the worst of ``--model-runs`` releases. ``--models-only``
skips the queries.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from datagora.query import QueryRunner, QuerySpec, UsagePolicy
from datagora.query.policy import DEFAULT_EPSILON_PER_QUERY
from datagora.services.sample_data import write_diabetes_csv
from datagora.services.use_rights import rounded_ranges

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("count(*)", {"select": [{"aggregate": "count"}]}),
    ("sum(progression)", {"select": [{"aggregate": "sum", "column": "progression"}]}),
    ("avg(bmi)", {"select": [{"aggregate": "avg", "column": "bmi"}]}),
    (
        "sum(progression) where bmi <= 29.9",
        {"select": [{"aggregate": "sum", "column": "progression"}], "where": [["bmi", "<=", 29.9]]},
    ),
    (
        "avg(progression) where age >= 50",
        {"select": [{"aggregate": "avg", "column": "progression"}], "where": [["age", ">=", 50]]},
    ),
    ("count(*) by sex", {"select": ["sex", {"aggregate": "count"}], "group_by": ["sex"], "order_by": ["sex"]}),
    (
        "avg(progression) by sex",
        {"select": ["sex", {"aggregate": "avg", "column": "progression"}], "group_by": ["sex"], "order_by": ["sex"]},
    ),
]
INTEGER_COLUMNS = ("age", "sex", "s1", "s6", "progression")


def write_large_table(source: Path, target: Path, rows: int, seed: int) -> Path:
    """``rows`` rows drawn with replacement from ``source`` (seeded), measured columns jittered by 0.1 sd."""
    with source.open() as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        data = np.array([[float(row[name]) for name in header] for row in reader])
    rng = np.random.default_rng(seed)
    drawn = data[rng.integers(0, len(data), size=rows)]
    for index, name in enumerate(header):
        if name == "sex":
            continue
        jittered = drawn[:, index] + rng.normal(0.0, 0.1 * data[:, index].std(), size=rows)
        low, high = data[:, index].min(), data[:, index].max()
        drawn[:, index] = np.clip(jittered, low, high)
    with target.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in drawn:
            writer.writerow(
                [str(round(v)) if name in INTEGER_COLUMNS else f"{v:.4f}" for name, v in zip(header, row, strict=True)]
            )
    return target


def policy_for(runner: QueryRunner, epsilon: float) -> tuple[UsagePolicy, UsagePolicy]:
    """The default listing policy (differentially private, ranges derived as a listing does) and its exact twin."""
    private = UsagePolicy.aggregates_only(
        uid="urn:datagora:policy:benchmark",
        assigner="did:example:owner",
        target="urn:datagora:dataset:benchmark",
        epsilon_per_query=epsilon,
        privacy_budget=max(epsilon, 10.0),
        value_ranges=rounded_ranges(runner.numeric_extents()),
    )
    exact = UsagePolicy.aggregates_only(
        uid=private.uid, assigner=private.assigner, target=private.target, exact_answers=True
    )
    return private, exact


def measure(path: Path, runs: int, epsilon: float) -> dict[str, list[dict[str, Any]]]:
    """Per query, per output row: the exact value, one DP value, its relative error, the mean relative error."""
    out: dict[str, list[dict[str, Any]]] = {}
    with QueryRunner(path) as runner:
        private, exact = policy_for(runner, epsilon)
        for title, doc in QUERIES:
            spec = QuerySpec.from_dict(doc)
            truth = {row[:-1]: float(row[-1]) for row in runner.run(spec, exact).rows}  # type: ignore[arg-type]
            errors: dict[tuple[Any, ...], list[float]] = {key: [] for key in truth}
            first: dict[tuple[Any, ...], float] = {}
            for _ in range(runs):
                for row in runner.run(spec, private).rows:
                    key, value = row[:-1], float(row[-1])  # type: ignore[arg-type]
                    if key in truth:
                        first.setdefault(key, value)
                        errors[key].append(abs(value - truth[key]) / abs(truth[key]))
            out[title] = [
                {
                    "group": list(key),
                    "exact": truth[key],
                    "dp": first.get(key),
                    "relative_error": None if key not in first else abs(first[key] - truth[key]) / abs(truth[key]),
                    "mean_relative_error": statistics.fmean(errors[key]) if errors[key] else None,
                    "shown": len(errors[key]) / runs,
                }
                for key in truth
            ]
    return out


MODEL_EPSILONS = (0.5, 1.0, 2.0, 5.0)


def measure_models(runs: int, work: Path) -> list[dict[str, Any]]:
    """Per estimator and epsilon: the exact model's hold-out score and the mean and worst score of ``runs``
    private releases (only the parameters are asked, so the whole epsilon goes to them)."""
    from sklearn.model_selection import train_test_split

    from datagora.compute.runner import load_table, run_estimator
    from datagora.compute.spec import JobSpec
    from datagora.services.sample_data import write_breast_cancer_csv

    tumours = load_table(write_breast_cancer_csv(work / "tumours.csv"))
    diabetes = load_table(write_diabetes_csv(work / "diabetes-models.csv"))
    cases = [
        (
            "LogisticRegression, 569 x 10",
            tumours,
            tuple(c for c in tumours.columns if c.startswith("mean")),
            "diagnosis",
            {"C": 0.1},
        ),
        (
            "Ridge, 442 x 10",
            diabetes,
            tuple(c for c in diabetes.columns if c != "progression"),
            "progression",
            {"alpha": 1.0},
        ),
    ]
    out = []
    for title, table, features, label, params in cases:
        classify = label == "diagnosis"
        x = np.column_stack([np.asarray(table.data[f], dtype=float) for f in features])
        y = np.asarray([str(v) for v in table.data[label]]) if classify else np.asarray(table.data[label], dtype=float)
        _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y if classify else None)

        def score(
            parameters: dict[str, Any], x_test: Any = x_test, y_test: Any = y_test, classify: bool = classify
        ) -> float:
            coef, intercept = np.asarray(parameters["coef"], dtype=float), parameters["intercept"]
            if classify:
                classes = parameters["classes"]
                guess = np.where(x_test @ coef[0] + float(intercept[0]) > 0, classes[1], classes[0])
                return float(np.mean(guess == y_test))
            predicted = x_test @ coef + float(intercept)
            return float(1 - np.sum((y_test - predicted) ** 2) / np.sum((y_test - y_test.mean()) ** 2))

        def spec(
            epsilon: float | None,
            title: str = title,
            features: tuple[str, ...] = features,
            label: str = label,
            params: dict[str, Any] = params,
        ) -> JobSpec:
            return JobSpec(
                token_id=1,
                estimator=title.split(",")[0],
                features=features,
                label=label,
                params=params,
                outputs=("parameters",),
                epsilon=epsilon,
            )

        exact = score(run_estimator(spec(None), table).result["parameters"])
        for epsilon in MODEL_EPSILONS:
            scores = [score(run_estimator(spec(epsilon), table).result["parameters"]) for _ in range(runs)]
            out.append(
                {
                    "model": title,
                    "metric": "accuracy" if classify else "R2",
                    "epsilon": epsilon,
                    "exact": exact,
                    "mean": statistics.fmean(scores),
                    "worst": min(scores),
                }
            )
    return out


def _fmt(value: float | None, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.3g} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large table")
    parser.add_argument("--runs", type=int, default=200, help="DP answers per query for the mean relative error")
    parser.add_argument("--seed", type=int, default=17, help="seed of the large table")
    parser.add_argument("--epsilon", type=float, default=DEFAULT_EPSILON_PER_QUERY, help="epsilon per query")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--model-runs", type=int, default=50, help="private releases per model and epsilon")
    parser.add_argument("--models-only", action="store_true", help="only the compute jobs' private parameters")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        models = measure_models(args.model_runs, Path(tmp))
    print(f"Private parameters of compute jobs, scored on the owner's hold-out rows ({args.model_runs} releases)")
    print(f"{'model':<30} {'metric':>8} {'epsilon':>8} {'exact':>8} {'DP mean':>8} {'DP worst':>9}")
    for m in models:
        print(
            f"{m['model']:<30} {m['metric']:>8} {m['epsilon']:>8g} {m['exact']:>8.3f} {m['mean']:>8.3f} "
            f"{m['worst']:>9.3f}"
        )
    if args.models_only:
        if args.json:
            args.json.write_text(json.dumps({"models": models}, indent=1))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        small = write_diabetes_csv(Path(tmp) / "diabetes.csv")
        large = write_large_table(small, Path(tmp) / "large.csv", args.rows, args.seed)
        figures = {
            "442": measure(small, args.runs, args.epsilon),
            str(args.rows): measure(large, args.runs, args.epsilon),
        }

    print(f"epsilon {args.epsilon:g} per query; relative error of one answer, and its mean over {args.runs} answers")
    head = f"{'query':<36} {'group':>5} | {'exact':>12} {'DP':>12} {'error':>9} {'mean':>9}"
    print(f"{'':<42} | {'442 rows':^43} | {f'{args.rows:,} rows':^43}")
    print(head + " | " + head.split("| ")[1])
    for title, _ in QUERIES:
        for small_row, large_row in zip(figures["442"][title], figures[str(args.rows)][title], strict=False):
            group = ",".join(str(g) for g in small_row["group"]) or ""
            cells = []
            for row in (small_row, large_row):
                cells.append(
                    f"{_fmt(row['exact']):>12} {_fmt(row['dp']):>12} {_pct(row['relative_error']):>9} "
                    f"{_pct(row['mean_relative_error']):>9}"
                )
            print(f"{title:<36} {group:>5} | {cells[0]} | {cells[1]}")
    if args.json:
        document = {"epsilon": args.epsilon, "runs": args.runs, "tables": figures, "models": models}
        args.json.write_text(json.dumps(document, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
