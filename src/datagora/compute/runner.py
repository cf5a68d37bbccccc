"""Run a declarative job (an allowed scikit-learn estimator) on the owner's table and build its result.

The owner holds out ``test_fraction`` of the rows (a seeded, stratified split for classification), fits the
estimator on the rest and returns only what the spec asked and the policy allows:

- ``parameters``: the fitted parameters that describe the model, not the data: coefficients and intercepts,
  class priors, means and variances (GaussianNB), cluster centres, feature importances, tree depth and leaf count
  (never the tree's nodes, whose leaves can single out rows);
- ``metrics`` on the hold-out split: accuracy and macro F1 (classification), R², MAE and RMSE (regression),
  inertia and cluster sizes (clustering);
- ``aggregates``: count, mean and standard deviation of each feature column;
- ``predictions``: the hold-out predictions (one value per row; only where the policy allows raw-row outputs).

Differential privacy (Dwork & Roth, "The Algorithmic Foundations of Differential Privacy", 2014) when the spec
asks an epsilon: the epsilon is split evenly between the outputs asked (sequential composition, theorem 3.14) and
each is released with OpenDP's Laplace noise (:mod:`datagora.query.privacy`), on values clamped to each column's
range on the owner's data rounded outward (as the use-right queries' value ranges; the bounds themselves are not
private):

- aggregates: noisy counts and sums, and sums of squares for the standard deviation;
- linear models (LinearRegression, Ridge): sufficient-statistics perturbation (noisy XᵀX and Xᵀy of the clamped
  data, then the ridge solution; Wang, "Revisiting differentially private linear regression", 2018);
- GaussianNB: noisy per-class counts, sums and sums of squares;
- LogisticRegression: output perturbation of the L2-regularised model (Chaudhuri, Monteleoni and Sarwate, 2011):
  OpenDP's Laplace noise on the weights, calibrated to their sensitivity 2 C (see :func:`_private_logistic`);
- metrics: noisy accuracy (sensitivity 1 / hold-out rows) or noisy MAE (clamped errors).
Other estimators' parameters are refused under differential privacy, each with its reason
(:data:`~datagora.compute.spec.NO_PRIVATE_VERSION`; diffprivlib 0.6.6, which has private versions of some, does not
import with scikit-learn 1.9 here). The noise comes from the operating system's random source: two runs
of the same job give different answers.
"""

from __future__ import annotations

import contextlib
import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from datagora.compute.spec import DP_ESTIMATORS, NO_PRIVATE_VERSION, JobSpec
from datagora.domain.errors import ValidationError

DP_LOGISTIC_C: Final = 0.1
"""The inverse regularisation strength ``C`` of a differentially private LogisticRegression when the spec sets
none: the L2 sensitivity of its coefficients is 2 C, so a small C means little noise (and a strongly regularised
model; the features are scaled to the unit ball first, see :func:`_private_logistic`)."""

_RANDOM_STATE: Final = frozenset({"LogisticRegression", "DecisionTreeClassifier", "RandomForestClassifier", "KMeans"})


@dataclass(frozen=True)
class Table:
    """A table read from CSV: ``columns`` in file order, ``data`` column → values (floats for a numeric column,
    strings otherwise), ``rows``."""

    columns: tuple[str, ...]
    data: dict[str, list[Any]]
    rows: int


def load_table(path: Path, columns: tuple[str, ...] | None = None) -> Table:
    """Read a CSV file with a header row: every column, or only those named in ``columns`` (matched without
    regard to case; the others are skipped unparsed). :class:`ValidationError` when it is empty or ragged."""
    with Path(path).open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise ValidationError("the dataset is not a table with a header row")
        wanted = None if columns is None else {c.casefold() for c in columns}
        keep = [i for i, name in enumerate(header) if wanted is None or name.casefold() in wanted]
        raw: list[list[str]] = [[] for _ in keep]
        width = len(header)
        for number, row in enumerate(reader, start=2):
            if len(row) != width:
                raise ValidationError(f"the dataset's line {number} has {len(row)} fields, expected {width}")
            for slot, i in enumerate(keep):
                raw[slot].append(row[i])
    data: dict[str, list[Any]] = {}
    for name, values in zip([header[i] for i in keep], raw, strict=True):
        try:
            data[name] = [float(v) for v in values]
        except ValueError:
            data[name] = values
    rows = len(raw[0]) if raw else 0
    return Table(tuple(header[i] for i in keep), data, rows)


def table_shape(path: Path) -> tuple[int, tuple[str, ...]]:
    """``(rows, columns)`` of a CSV file with a header row, without parsing its values (what a policy check
    needs). :class:`ValidationError` when it has no header row."""
    with Path(path).open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise ValidationError("the dataset is not a table with a header row")
        rows = sum(1 for _ in reader)
    return rows, tuple(header)


def _column(table: Table, name: str) -> list[Any]:
    for column in table.columns:
        if column.casefold() == name.casefold():
            return table.data[column]
    raise ValidationError(f"the dataset has no column {name}")


def _numeric(table: Table, name: str) -> list[float]:
    values = _column(table, name)
    if values and not isinstance(values[0], float):
        raise ValidationError(f"the column {name} is not numeric")
    return values


def _sig(value: float) -> float:
    """A float rounded to 6 significant digits (JSON-friendly, no false precision)."""
    return float(f"{float(value):.6g}")


def _clean(value: Any) -> Any:
    """Numpy arrays and scalars as JSON lists and rounded floats."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    return _sig(value)


def _round_out(low: float, high: float) -> tuple[float, float]:
    """``(low, high)`` widened outward to two significant digits (``(18.0, 42.2)`` → ``(18, 43)``); a constant
    column gets a range one unit wide. The bounds the use-right queries round their value ranges to."""

    def out(value: float, direction: Any) -> float:
        if value == 0:
            return 0.0
        step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
        return float(direction(value / step) * step)

    low, high = out(low, math.floor), out(high, math.ceil)
    return (low, high) if low < high else (low, low + 1.0)


def _estimator(spec: JobSpec) -> Any:
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
    from sklearn.naive_bayes import GaussianNB
    from sklearn.tree import DecisionTreeClassifier

    classes: dict[str, Any] = {
        "LogisticRegression": LogisticRegression,
        "LinearRegression": LinearRegression,
        "Ridge": Ridge,
        "Lasso": Lasso,
        "GaussianNB": GaussianNB,
        "DecisionTreeClassifier": DecisionTreeClassifier,
        "RandomForestClassifier": RandomForestClassifier,
        "KMeans": KMeans,
    }
    params = dict(spec.params)
    if spec.estimator in _RANDOM_STATE:
        params["random_state"] = spec.seed
    if spec.estimator == "LogisticRegression":
        params.setdefault("max_iter", 1_000)
    return classes[spec.estimator](**params)


def _parameters(spec: JobSpec, model: Any) -> dict[str, Any]:
    names = {
        "LogisticRegression": ("classes_", "coef_", "intercept_"),
        "LinearRegression": ("coef_", "intercept_"),
        "Ridge": ("coef_", "intercept_"),
        "Lasso": ("coef_", "intercept_"),
        "GaussianNB": ("classes_", "class_prior_", "theta_", "var_"),
        "DecisionTreeClassifier": ("classes_", "feature_importances_"),
        "RandomForestClassifier": ("classes_", "feature_importances_"),
        "KMeans": ("cluster_centers_",),
    }[spec.estimator]
    out = {name.rstrip("_"): _clean(getattr(model, name)) for name in names}
    if spec.estimator == "DecisionTreeClassifier":
        out["depth"], out["leaves"] = int(model.get_depth()), int(model.get_n_leaves())
    out["features"] = list(spec.features)
    return out


@dataclass(frozen=True)
class RunResult:
    """A declarative job's result: ``result`` (JSON-ready: estimator, rows trained and held out, and the outputs
    asked), ``epsilon_spent`` (0 for an exact run)."""

    result: dict[str, Any]
    epsilon_spent: float


def run_estimator(spec: JobSpec, table: Table) -> RunResult:
    """Fit ``spec``'s estimator on ``table`` (minus the hold-out split) and build the result (see the module
    docstring). :class:`ValidationError` for a column the table lacks or that is not numeric, a label with a
    single class, too few rows to split, or differential privacy asked of an estimator without a private version.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    if spec.epsilon is not None and spec.estimator not in DP_ESTIMATORS and "parameters" in spec.outputs:
        why = NO_PRIVATE_VERSION.get(spec.estimator, "it has no private version here")
        raise ValidationError(
            f"{spec.estimator} cannot release its parameters privately: {why} (private parameters exist for "
            f"{', '.join(sorted(DP_ESTIMATORS))})"
        )
    x = np.column_stack([np.asarray(_numeric(table, f), dtype=float) for f in spec.features])
    y: Any = None
    if spec.label is not None:
        raw = _column(table, spec.label)
        y = np.asarray(raw, dtype=float if spec.task == "regression" else object)
        if spec.task == "regression" and raw and not isinstance(raw[0], float):
            raise ValidationError(f"the label {spec.label} is not numeric")
        if spec.task == "classification":
            y = np.asarray([str(v) for v in raw])
    keep = ~np.isnan(x).any(axis=1)
    x = x[keep]
    y = None if y is None else y[keep]
    if len(x) < 10:
        raise ValidationError("fewer than 10 usable rows")
    stratify = y if spec.task == "classification" else None
    if spec.task == "classification" and len(set(y.tolist())) < 2:
        raise ValidationError(f"the label {spec.label} has a single class")
    if y is None:
        x_train, x_test = train_test_split(x, test_size=spec.test_fraction, random_state=spec.seed)
        y_train = y_test = None
    else:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=spec.test_fraction, random_state=spec.seed, stratify=stratify
        )
    epsilon_each = (spec.epsilon / len(spec.outputs)) if spec.epsilon else None
    result: dict[str, Any] = {
        "estimator": spec.estimator,
        "params": dict(spec.params),
        "rows_trained": len(x_train),
        "rows_held_out": len(x_test),
        "differential_privacy": None if spec.epsilon is None else {"epsilon": spec.epsilon},
    }
    bounds = [_round_out(float(col.min()), float(col.max())) for col in x.T]
    model: Any = None
    if set(spec.outputs) == {"aggregates"}:
        pass  # nothing of the model is released: no fit
    elif epsilon_each is not None and "parameters" in spec.outputs:
        # Only released parameters need a private model; metrics and aggregates are noised on their own.
        model = _private_model(spec, x_train, y_train, bounds, epsilon_each, y)
    else:
        model = _estimator(spec)
        model.fit(x_train, y_train) if y_train is not None else model.fit(x_train)
    if "parameters" in spec.outputs:
        result["parameters"] = _parameters(spec, model)
    if "metrics" in spec.outputs:
        result["metrics"] = _metrics(spec, model, x_test, y_test, epsilon_each, y)
    if "aggregates" in spec.outputs:
        result["aggregates"] = _aggregates(spec, x, bounds, epsilon_each)
    if "predictions" in spec.outputs:
        result["predictions"] = _clean(model.predict(x_test))
    return RunResult(result, spec.epsilon or 0.0)


# -- differential privacy ----------------------------------------------------------------------------------------


def _private_model(spec: JobSpec, x: Any, y: Any, bounds: list[tuple[float, float]], epsilon: float, y_all: Any) -> Any:
    """A fitted model built from noisy sufficient statistics (see the module docstring)."""
    import numpy as np

    from datagora.query.privacy import noisy_sum

    low = np.array([b[0] for b in bounds])
    high = np.array([b[1] for b in bounds])
    xc = np.clip(x, low, high)
    if spec.estimator == "LogisticRegression":
        return _private_logistic(spec, xc, y, low, high, epsilon, np.unique(y_all))
    if spec.estimator in ("LinearRegression", "Ridge"):
        from sklearn.linear_model import LinearRegression

        y_low, y_high = _round_out(float(y_all.min()), float(y_all.max()))
        yc = np.clip(y.astype(float), y_low, y_high)
        design = np.column_stack([xc, np.ones(len(xc))])
        x_bound = float(np.sum(np.maximum(np.abs(low), np.abs(high)) ** 2) + 1.0)
        y_bound = max(abs(y_low), abs(y_high))
        d = design.shape[1]
        # XᵀX has d(d+1)/2 distinct entries and Xᵀy d: one row changes each by at most its bound; split epsilon.
        pairs = d * (d + 1) // 2 + d
        scale_xx = x_bound * pairs / epsilon
        xtx = design.T @ design
        noisy_xtx = np.zeros_like(xtx)
        for i in range(d):
            for j in range(i, d):
                noisy_xtx[i, j] = noisy_xtx[j, i] = noisy_sum(float(xtx[i, j]), scale_xx)
        xty = design.T @ yc
        scale_xy = math.sqrt(x_bound) * y_bound * pairs / epsilon
        noisy_xty = np.array([noisy_sum(float(v), scale_xy) for v in xty])
        alpha = float(spec.params.get("alpha", 1.0)) if spec.estimator == "Ridge" else 0.0
        ridge = alpha + 1e-6 * len(x)
        theta = np.linalg.solve(noisy_xtx + ridge * np.eye(d), noisy_xty)
        model = LinearRegression()
        model.coef_, model.intercept_ = theta[:-1], float(theta[-1])
        model.n_features_in_ = d - 1
        return model
    # GaussianNB: per class, noisy count, sums and sums of squares (parallel composition across classes).
    from sklearn.naive_bayes import GaussianNB

    from datagora.query.privacy import noisy_count

    classes = np.unique(y_all)
    span = np.maximum(np.abs(low), np.abs(high))
    n_stats = 1 + 2 * x.shape[1]
    priors, means, variances = [], [], []
    for label in classes:
        rows = xc[y == label]
        count = max(1, noisy_count(len(rows), n_stats / epsilon))
        sums = np.array(
            [noisy_sum(float(v), s * n_stats / epsilon) for v, s in zip(rows.sum(axis=0), span, strict=True)]
        )
        squares = np.array(
            [noisy_sum(float(v), s * s * n_stats / epsilon) for v, s in zip((rows**2).sum(axis=0), span, strict=True)]
        )
        mean = np.clip(sums / count, low, high)
        var = np.maximum(squares / count - mean**2, 1e-9 * (high - low) ** 2 + 1e-12)
        priors.append(count)
        means.append(mean)
        variances.append(var)
    model = GaussianNB()
    prior = np.array(priors, dtype=float)
    model.classes_ = classes
    model.class_prior_ = prior / prior.sum()
    model.class_count_ = prior
    model.theta_ = np.array(means)
    model.var_ = np.array(variances)
    model.epsilon_ = 0.0
    model.n_features_in_ = x.shape[1]
    return model


def noisy_vector(values: Any, l1_sensitivity: float, epsilon: float) -> Any:
    """``values`` (a 1-D float array) plus independent Laplace noise of scale ``l1_sensitivity / epsilon`` on each
    entry: OpenDP's vector Laplace mechanism over the L1 distance, which it proves ``epsilon``-DP for inputs at
    most ``l1_sensitivity`` apart (checked here through the measurement's privacy map)."""
    import numpy as np

    from datagora.query.privacy import _opendp

    dp = _opendp()
    scale = l1_sensitivity / epsilon
    mechanism = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), scale=scale
    )
    assert float(mechanism.map(float(l1_sensitivity))) <= epsilon * (1 + 1e-9)
    return np.asarray(mechanism([float(v) for v in values]), dtype=float)


def unit_ball_rows(xc: Any, low: Any, high: Any, intercept: bool) -> Any:
    """The rows of ``xc`` (clamped to ``[low, high]`` per column) mapped into the unit ball: each column to
    [-1, 1] by its bounds, a constant 1 appended when ``intercept``, the row divided by sqrt(its length)."""
    import numpy as np

    mid, half = (low + high) / 2, (high - low) / 2
    columns = [(xc - mid) / half] + ([np.ones((len(xc), 1))] if intercept else [])
    z = np.column_stack(columns)
    return z / math.sqrt(z.shape[1])


def logistic_minimiser(z: Any, signs: Any, c: float, max_iter: int = 1000) -> Any:
    """The weights minimising ``c * sum(log(1 + exp(-signs_i * w.z_i))) + |w|^2 / 2`` (L-BFGS, tight tolerance):
    ``z`` n x D rows in the unit ball, ``signs`` +1 / -1."""
    import numpy as np
    from scipy.optimize import minimize

    def objective(w: Any) -> tuple[float, Any]:
        margins = signs * (z @ w)
        loss = np.logaddexp(0.0, -margins)
        grad_loss = -signs / (1.0 + np.exp(margins))
        return float(c * loss.sum() + 0.5 * w @ w), c * (z.T @ grad_loss) + w

    options = {"maxiter": max_iter, "gtol": 1e-10}
    return minimize(objective, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B", options=options).x


def _private_logistic(spec: JobSpec, xc: Any, y: Any, low: Any, high: Any, epsilon: float, classes: Any) -> Any:
    """L2-regularised logistic regression released by output perturbation (Chaudhuri, Monteleoni and Sarwate,
    "Differentially Private Empirical Risk Minimization", JMLR 12, 2011, algorithm 1 and corollary 8).

    Each row is mapped into the unit ball: the clamped features ``xc`` to [-1, 1] by their bounds, a constant 1
    appended for the intercept (unless ``fit_intercept`` is false), the whole divided by sqrt(D) (D the length of
    the row). The weights minimise ``C * sum(log(1 + exp(-s_i w.z_i))) + |w|^2 / 2`` (s_i = +1 / -1, scikit-learn's
    objective, intercept regularised too): the loss is convex and 1-Lipschitz, the objective 1-strongly convex,
    so one row changed moves the minimiser by at most 2 C in L2 norm (corollary 8 with lambda = 1 / (n C)), hence
    by at most 2 C sqrt(D) in L1 norm: OpenDP's Laplace noise of scale 2 C sqrt(D) / epsilon on each weight
    makes them epsilon-DP. Two classes: one model; K > 2 classes: one-vs-rest, K models of epsilon / K each
    (sequential composition). The weights are then mapped back to the original feature units (post-processing,
    the bounds being public as for the other estimators). ``C`` defaults to :data:`DP_LOGISTIC_C`. The minimiser
    is found with L-BFGS to a tight tolerance; the analysis assumes the exact minimiser."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    d = xc.shape[1]
    intercept = bool(spec.params.get("fit_intercept", True))
    mid, half = (low + high) / 2, (high - low) / 2
    z = unit_ball_rows(xc, low, high, intercept)
    dims = z.shape[1]
    c = float(spec.params.get("C", DP_LOGISTIC_C))
    l1_sensitivity = 2 * c * math.sqrt(dims)
    targets = [classes[1]] if len(classes) == 2 else list(classes)
    iterations = max(1000, int(spec.params.get("max_iter", 1000)))
    weights = []
    for target in targets:
        signs = np.where(y == target, 1.0, -1.0)
        exact = logistic_minimiser(z, signs, c, iterations)
        weights.append(noisy_vector(exact, l1_sensitivity, epsilon / len(targets)))
    w = np.array(weights) / math.sqrt(dims)
    coef = w[:, :d] / half
    model = LogisticRegression()
    model.classes_ = classes
    model.coef_ = coef
    model.intercept_ = (w[:, d] if intercept else np.zeros(len(targets))) - coef @ mid
    model.n_features_in_ = d
    return model


def _metrics(spec: JobSpec, model: Any, x: Any, y: Any, epsilon: float | None, y_all: Any) -> dict[str, Any]:
    import numpy as np

    from datagora.query.privacy import noisy_sum

    n = len(x)
    if spec.task == "classification":
        from sklearn.metrics import accuracy_score, f1_score

        predicted = model.predict(x)
        correct = float(np.sum(predicted == y))
        if epsilon is not None:
            return {"accuracy": _sig(min(1.0, max(0.0, noisy_sum(correct, 1 / epsilon) / n))), "rows": n}
        return {
            "accuracy": _sig(accuracy_score(y, predicted)),
            "f1_macro": _sig(f1_score(y, predicted, average="macro")),
            "rows": n,
        }
    if spec.task == "regression":
        from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

        predicted = model.predict(x)
        if epsilon is not None:
            y_low, y_high = _round_out(float(y_all.min()), float(y_all.max()))
            errors = np.clip(np.abs(predicted - y.astype(float)), 0, y_high - y_low)
            mae = noisy_sum(float(errors.sum()), (y_high - y_low) / epsilon) / n
            return {"mae": _sig(max(0.0, mae)), "rows": n}
        return {
            "r2": _sig(r2_score(y, predicted)),
            "mae": _sig(mean_absolute_error(y, predicted)),
            "rmse": _sig(math.sqrt(mean_squared_error(y, predicted))),
            "rows": n,
        }
    labels = model.predict(x)
    sizes = [int(np.sum(labels == k)) for k in range(len(model.cluster_centers_))]
    if epsilon is not None:
        from datagora.query.privacy import noisy_count

        return {"cluster_sizes": [max(0, noisy_count(s, 1 / epsilon)) for s in sizes]}
    return {"inertia": _sig(-model.score(x)), "cluster_sizes": sizes, "rows": n}


def _aggregates(
    spec: JobSpec, x: Any, bounds: list[tuple[float, float]], epsilon: float | None
) -> dict[str, dict[str, Any]]:
    import numpy as np

    from datagora.query.privacy import noisy_count, noisy_sum

    out: dict[str, dict[str, Any]] = {}
    per_column = None if epsilon is None else epsilon / (3 * len(spec.features))
    for name, column, (low, high) in zip(spec.features, x.T, bounds, strict=True):
        if per_column is None:
            out[name] = {
                "count": len(column),
                "mean": _sig(column.mean()),
                "std": _sig(column.std(ddof=1)) if len(column) > 1 else 0.0,
            }
            continue
        clamped = np.clip(column, low, high)
        span = max(abs(low), abs(high))
        count = max(1, noisy_count(len(column), 1 / per_column))
        mean = min(high, max(low, noisy_sum(float(clamped.sum()), span / per_column) / count))
        square = noisy_sum(float((clamped**2).sum()), span * span / per_column) / count
        out[name] = {"count": count, "mean": _sig(mean), "std": _sig(math.sqrt(max(0.0, square - mean * mean)))}
    return out


# -- what leaves the owner -----------------------------------------------------------------------------------------


def _numbers(value: Any, out: set[float]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _numbers(v, out)
    elif isinstance(value, list | tuple):
        for v in value:
            _numbers(v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out.add(float(f"{float(value):.6g}"))
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            out.add(float(f"{float(value):.6g}"))


def rows_found(result: Any, table: Table, columns: tuple[str, ...]) -> int:
    """How many rows of ``table`` appear whole in ``result``: every value of the row's ``columns`` (at least two)
    among the result's numbers (compared at 6 significant digits). The check behind the "no raw rows" rule for
    code whose outputs cannot be known in advance."""
    numbers: set[float] = set()
    _numbers(result, numbers)
    by_fold = {c.casefold(): c for c in table.columns}
    named = [by_fold[c.casefold()] for c in columns if c.casefold() in by_fold]
    numeric = [c for c in named if table.data[c] and isinstance(table.data[c][0], float)]
    if len(numeric) < 2 or not numbers:
        return 0
    found = 0
    for i in range(table.rows):
        if all(float(f"{table.data[c][i]:.6g}") in numbers for c in numeric):
            found += 1
    return found
