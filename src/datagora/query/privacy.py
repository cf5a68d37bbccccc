"""Differentially private answers to use-right queries, with OpenDP's noise mechanisms.

Guarantee: each answer is (epsilon, delta)-differentially private with respect to adding or removing one row of
the owner's table (Dwork & Roth, "The Algorithmic Foundations of Differential Privacy", 2014, definition 2.4),
where epsilon is the policy's ``epsilon_per_query`` and delta is 0 for an ungrouped query and :data:`GROUP_DELTA`
for a grouped one. Answers compose: a buyer organisation's total privacy loss on a dataset is at most the sum of
its answers' epsilons (and deltas), which the owner's node caps at the policy's ``privacy_budget``.

How an aggregate query is answered (the *plan*):

- the query's measurements are ``count(*)``, ``count(column)``, ``count(DISTINCT column)`` and ``sum(column)``
  (avg needs the sum and the count of its column; a grouped query always measures ``count(*)``, for its group
  threshold); the query's epsilon is split evenly between them (sequential composition, Dwork & Roth theorem 3.14);
- counts get discrete Laplace noise of scale ``1 / epsilon_i`` (sensitivity 1; Canonne, Kamath & Steinke, "The
  Discrete Gaussian for Differential Privacy", 2020, for the discrete mechanism);
- sums clamp each value to the column's declared ``[low, high]`` and get Laplace noise of scale
  ``max(|low|, |high|) / epsilon_i`` (the most one row can add or remove; Dwork & Roth section 3.3);
- ``avg`` is the noisy sum over the noisy count, clamped to ``[low, high]`` (post-processing);
- ``min`` and ``max`` are refused: one row decides them, and no bounded-noise answer is useful;
- groups (``group_by``) are disjoint, so each row is in one group and the same epsilon covers all of them
  (parallel composition). Which groups exist is itself private: a group is released only when its noisy
  ``count(*)`` reaches a threshold ``tau`` with ``P(noise >= tau - 1) <= GROUP_DELTA`` (a one-row group is
  released with probability at most delta; Wilson et al., "Differentially Private SQL with Bounded User
  Contribution", 2020, section 3) and at least the policy's ``min_group_size``.

OpenDP draws its noise from the operating system's cryptographic random source: it cannot be seeded, and the
exact answer cannot be recovered by replaying it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from datagora.domain.errors import AccessDenied
from datagora.query.policy import UsagePolicy
from datagora.query.spec import Aggregate, QuerySpec

GROUP_DELTA: Final = 1e-6
"""Delta of a grouped answer: the most likely a group holding a single row is released at all."""

Measurement = tuple[str, str | None]
"""``(function, column)``: ``("count", None)`` is ``count(*)``; functions: count, count_distinct, sum."""


@lru_cache(maxsize=1)
def _opendp() -> Any:
    """OpenDP's prelude, imported on first use: it brings numpy and SciPy (tens of MiB) into a node that may never
    answer a query (see benchmarks/hostile_bodies.py)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@lru_cache(maxsize=256)
def _discrete_laplace(scale: float) -> Any:
    dp = _opendp()
    return dp.m.make_laplace(dp.atom_domain(T="i64"), dp.absolute_distance(T="i64"), scale=scale)


@lru_cache(maxsize=256)
def _laplace(scale: float) -> Any:
    dp = _opendp()
    return dp.m.make_laplace(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)


def noisy_count(value: int, scale: float) -> int:
    """``value`` plus discrete Laplace noise of ``scale`` (OpenDP ``make_laplace`` over integers)."""
    return int(_discrete_laplace(scale)(int(value)))


def noisy_sum(value: float, scale: float) -> float:
    """``value`` plus Laplace noise of ``scale`` (OpenDP ``make_laplace`` over floats)."""
    return float(_laplace(scale)(float(value)))


def count_epsilon(scale: float) -> float:
    """Epsilon OpenDP proves for a count (sensitivity 1) with discrete Laplace noise of ``scale``."""
    return float(_discrete_laplace(scale).map(1))


def sum_epsilon(scale: float, sensitivity: float) -> float:
    """Epsilon OpenDP proves for a sum of ``sensitivity`` with Laplace noise of ``scale``."""
    return float(_laplace(scale).map(float(sensitivity)))


def group_threshold(count_scale: float, min_group_size: int, delta: float = GROUP_DELTA) -> int:
    """Smallest noisy ``count(*)`` a group needs to be released: ``tau`` with ``P(Z >= tau - 1) <= delta`` for
    discrete Laplace ``Z`` of ``count_scale`` (``P(Z >= m) = a**m / (1 + a)``, ``a = exp(-1 / scale)``), and at
    least ``min_group_size``."""
    alpha = math.exp(-1.0 / count_scale)
    steps = math.ceil(math.log(delta * (1 + alpha)) / math.log(alpha))
    return max(min_group_size, 1 + steps)


@dataclass(frozen=True)
class Plan:
    """The mechanisms of one differentially private answer: ``measurements`` in a fixed order, the epsilon each
    spends and its noise ``scales``; ``threshold`` for a grouped query (else None); ``delta``."""

    measurements: tuple[Measurement, ...]
    epsilon: float
    epsilon_each: float
    scales: dict[Measurement, float]
    ranges: dict[str, tuple[float, float]]
    threshold: int | None
    delta: float


def _needs(aggregate: Aggregate) -> list[Measurement]:
    if aggregate.function == "avg":
        return [("sum", aggregate.column), ("count", aggregate.column)]
    return [(aggregate.function, aggregate.column)]


def plan(spec: QuerySpec, policy: UsagePolicy) -> Plan:
    """The mechanisms answering aggregate query ``spec`` under ``policy`` (value ranges matched to columns
    case-insensitively). Raises :class:`AccessDenied` for ``min``
    / ``max`` and for a sum or average over a column without a declared value range: refusals that depend on the
    query and the policy only, never on the data."""
    measured: list[Measurement] = [("count", None)] if spec.group_by else []
    ranges: dict[str, tuple[float, float]] = {}
    for aggregate in spec.aggregates:
        if aggregate.function in ("min", "max"):
            raise AccessDenied(
                f"policy: aggregate {aggregate.function!r} is not answered with differential privacy (one row "
                "decides it)"
            )
        if aggregate.function in ("sum", "avg"):
            assert aggregate.column is not None
            bounds = policy.value_range(aggregate.column)
            if bounds is None:
                raise AccessDenied(
                    f"policy: no value range declared for column {aggregate.column!r}: sums and averages need one"
                )
            ranges[aggregate.column] = bounds
        for item in _needs(aggregate):
            if item not in measured:
                measured.append(item)
    if not measured:
        raise AccessDenied("policy: only aggregates are answered with differential privacy")
    epsilon_each = policy.epsilon_per_query / len(measured)
    scales: dict[Measurement, float] = {}
    for function, column in measured:
        if function == "sum":
            assert column is not None
            low, high = ranges[column]
            scales[(function, column)] = max(abs(low), abs(high)) / epsilon_each
        else:
            scales[(function, column)] = 1.0 / epsilon_each
    threshold = group_threshold(scales[("count", None)], policy.min_group_size) if spec.group_by else None
    return Plan(
        measurements=tuple(measured),
        epsilon=policy.epsilon_per_query,
        epsilon_each=epsilon_each,
        scales=scales,
        ranges=ranges,
        threshold=threshold,
        delta=GROUP_DELTA if spec.group_by else 0.0,
    )


def noisy_values(plan: Plan, exact: Sequence[Any]) -> dict[Measurement, float | int]:
    """One group's measurements (``exact``, in ``plan.measurements`` order) with their noise."""
    out: dict[Measurement, float | int] = {}
    for measurement, value in zip(plan.measurements, exact, strict=True):
        scale = plan.scales[measurement]
        if measurement[0] == "sum":
            out[measurement] = noisy_sum(0.0 if value is None else float(value), scale)
        else:
            out[measurement] = noisy_count(int(value or 0), scale)
    return out


def aggregate_value(aggregate: Aggregate, plan: Plan, noisy: dict[Measurement, float | int]) -> float | int:
    """The released value of ``aggregate`` from a group's noisy measurements (post-processing only): counts at
    least 0, an average clamped to its column's range."""
    if aggregate.function == "avg":
        assert aggregate.column is not None
        low, high = plan.ranges[aggregate.column]
        count = max(int(noisy[("count", aggregate.column)]), 1)
        return min(max(float(noisy[("sum", aggregate.column)]) / count, low), high)
    value = noisy[(aggregate.function, aggregate.column)]
    return value if aggregate.function == "sum" else max(int(value), 0)


def describe(plan: Plan, spec: QuerySpec) -> dict[str, Any]:
    """What an answer states about its noise (hashed with the result): the mechanism, the answer's epsilon and
    delta, the group threshold and the noise scale of the count it is compared with, and per aggregate output
    column its mechanism, epsilon and noise scale (an average: its sum's scale, and ``count_scale``) and the value
    range it was clamped to."""
    noise: dict[str, Any] = {}
    for aggregate in spec.aggregates:
        if aggregate.function == "avg":
            assert aggregate.column is not None
            total = ("sum", aggregate.column)
            count = ("count", aggregate.column)
            noise[aggregate.output_name] = {
                "mechanism": "laplace sum / discrete laplace count",
                "epsilon": sum_epsilon(plan.scales[total], _sensitivity(plan, aggregate.column))
                + count_epsilon(plan.scales[count]),
                "scale": plan.scales[total],
                "count_scale": plan.scales[count],
                "range": list(plan.ranges[aggregate.column]),
            }
        elif aggregate.function == "sum":
            assert aggregate.column is not None
            key: Measurement = ("sum", aggregate.column)
            noise[aggregate.output_name] = {
                "mechanism": "laplace",
                "epsilon": sum_epsilon(plan.scales[key], _sensitivity(plan, aggregate.column)),
                "scale": plan.scales[key],
                "range": list(plan.ranges[aggregate.column]),
            }
        else:
            key = (aggregate.function, aggregate.column)
            noise[aggregate.output_name] = {
                "mechanism": "discrete laplace",
                "epsilon": count_epsilon(plan.scales[key]),
                "scale": plan.scales[key],
            }
    return {
        "mechanism": "laplace",
        "epsilon": plan.epsilon,
        "delta": plan.delta,
        "group_threshold": plan.threshold,
        "group_count_scale": None if plan.threshold is None else plan.scales[("count", None)],
        "noise": noise,
    }


def _sensitivity(plan: Plan, column: str) -> float:
    low, high = plan.ranges[column]
    return max(abs(low), abs(high))


__all__ = [
    "GROUP_DELTA",
    "Measurement",
    "Plan",
    "aggregate_value",
    "count_epsilon",
    "describe",
    "group_threshold",
    "noisy_count",
    "noisy_sum",
    "noisy_values",
    "plan",
    "sum_epsilon",
]
