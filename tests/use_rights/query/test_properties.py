"""Hypothesis: for random filters the runner agrees with a pure-Python computation over the same rows."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from datagora.query import QueryRunner, QuerySpec, UsagePolicy
from tests.kits.query_data import REGION_SIZES, ROWS, open_policy, select, sql_sum

REGIONS = [*REGION_SIZES, "nowhere"]
SCALAR_OPS = ["=", "!=", "<", "<=", ">", ">="]


def _dates() -> st.SearchStrategy[str]:
    return st.integers(-10, 380).map(lambda d: (date(2024, 1, 1) + timedelta(days=d)).isoformat())


def _numeric(column: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, str, Any]]:
    return st.one_of(
        st.tuples(st.just(column), st.sampled_from(SCALAR_OPS), values),
        st.tuples(st.just(column), st.just("between"), st.lists(values, min_size=2, max_size=2)),
        st.tuples(st.just(column), st.just("in"), st.lists(values, min_size=1, max_size=5)),
    )


def _like_patterns() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(["%", "_", "n", "o", "r", "th", "S", "ã", "-", "east"]), max_size=5).map("".join)


CONDITION = st.one_of(
    _numeric("age", st.integers(15, 85)),
    _numeric("amount", st.integers(-5, 1005)),
    _numeric("score", st.floats(-1, 101, allow_nan=False).map(lambda x: round(x, 2))),
    _numeric("day", _dates()),
    st.tuples(st.just("region"), st.sampled_from(["=", "!=", "<", ">="]), st.sampled_from(REGIONS)),
    st.tuples(st.just("region"), st.just("in"), st.lists(st.sampled_from(REGIONS), min_size=1, max_size=4)),
    st.tuples(st.just("region"), st.just("like"), _like_patterns()),
    st.tuples(st.just("member"), st.sampled_from(["=", "!="]), st.booleans()),
)
FILTERS = st.lists(CONDITION, max_size=3)


@settings(max_examples=150, deadline=None)
@given(conditions=FILTERS)
def test_count_and_sum_match_python(runner: QueryRunner, conditions: list[tuple[str, str, Any]]) -> None:
    query = QuerySpec.from_dict(
        {
            "select": [
                {"aggregate": "count"},
                {"aggregate": "sum", "column": "amount"},
                {"aggregate": "max", "column": "age"},
            ],
            "where": [list(c) for c in conditions],
        }
    )
    chosen = select(ROWS, conditions)
    result = runner.run(query, open_policy())
    assert result.rows == (
        (len(chosen), sql_sum(r["amount"] for r in chosen), max((r["age"] for r in chosen), default=None)),
    )
    assert result.exact


@settings(max_examples=100, deadline=None)
@given(conditions=FILTERS, k=st.integers(1, 12))
def test_grouped_counts_and_suppression_match_python(
    runner: QueryRunner, conditions: list[tuple[str, str, Any]], k: int
) -> None:
    terms = UsagePolicy.aggregates_only(
        uid="urn:p", assigner="did:example:a", target="urn:d", k=k, aggregates=("count", "sum"), exact_answers=True
    )
    query = QuerySpec.from_dict(
        {
            "select": ["region", {"aggregate": "count", "as": "n"}, {"aggregate": "sum", "column": "amount"}],
            "where": [list(c) for c in conditions],
            "group_by": ["region"],
            "order_by": [{"key": "n", "descending": True}],
        }
    )
    chosen = select(ROWS, conditions)
    sizes = Counter(r["region"] for r in chosen)
    expected = sorted(
        ((name, n, sql_sum(r["amount"] for r in chosen if r["region"] == name)) for name, n in sizes.items() if n >= k),
        key=lambda t: (-t[1], t[0]),
    )
    result = runner.run(query, terms)
    assert result.rows == tuple(expected)
