"""QuerySpec: wire form, canonical bytes, query hash, malformed specs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import ValidationError
from datagora.query import Aggregate, ColumnRef, Condition, OrderKey, QuerySpec

WIRE = {
    "select": [
        {"column": "region"},
        {"aggregate": "count"},
        {"aggregate": "sum", "column": "amount", "as": "total"},
    ],
    "where": [
        {"column": "age", "op": ">=", "value": 30},
        {"column": "region", "op": "in", "value": ["north", "south"]},
        {"column": "amount", "op": "between", "value": [10, 20]},
    ],
    "group_by": ["region"],
    "order_by": [{"key": "total", "descending": True}],
    "limit": 10,
}


def test_wire_round_trip() -> None:
    spec = QuerySpec.from_dict(WIRE)
    assert spec.to_dict() == WIRE
    assert QuerySpec.from_dict(spec.to_dict()) == spec
    assert spec.select == (ColumnRef("region"), Aggregate("count"), Aggregate("sum", "amount", "total"))
    assert spec.where[1] == Condition("region", "in", ("north", "south"))
    assert spec.order_by == (OrderKey("total", descending=True),)
    assert spec.output_names == ("region", "count(*)", "total")
    assert spec.referenced_columns == ("region", "amount", "age")
    assert spec.is_aggregate


def test_canonical_bytes_are_sorted_compact_utf8() -> None:
    spec = QuerySpec.from_dict({"select": [{"aggregate": "count"}], "where": [["city", "=", "São Paulo"]]})
    assert (
        spec.canonical_bytes()
        == (
            '{"group_by":[],"limit":null,"order_by":[],"select":[{"aggregate":"count"}],'
            '"where":[{"column":"city","op":"=","value":"São Paulo"}]}'
        ).encode()
    )
    assert spec.query_hash() == keccak256(spec.canonical_bytes())
    assert len(spec.query_hash()) == 32


def test_conveniences_and_default_aliases_hash_like_the_canonical_form() -> None:
    short = QuerySpec.from_dict(
        {
            "select": [
                "region",
                {"aggregate": "count", "as": "count(*)"},
                {"aggregate": "sum", "column": "amount", "as": "total"},
            ],
            "where": [["age", ">=", 30], ["region", "in", ("north", "south")], ["amount", "between", [10, 20]]],
            "group_by": ["region"],
            "order_by": [{"key": "total", "descending": True}],
            "limit": 10,
        }
    )
    assert short == QuerySpec.from_dict(WIRE)
    assert short.query_hash() == QuerySpec.from_dict(WIRE).query_hash()
    assert QuerySpec.from_dict({"select": ["a"], "order_by": ["a"]}).order_by == (OrderKey("a"),)


def test_query_hash_changes_with_any_parameter() -> None:
    variants = [WIRE, {**WIRE, "limit": 11}, {**WIRE, "where": [{"column": "age", "op": ">=", "value": 31}]}]
    assert len({QuerySpec.from_dict(v).query_hash() for v in variants}) == len(variants)


def test_raw_row_query_is_not_aggregate() -> None:
    spec = QuerySpec.from_dict({"select": ["region", "age"], "where": [["age", ">", 40]]})
    assert not spec.is_aggregate
    assert QuerySpec.from_dict({"select": ["region"], "group_by": ["region"]}).is_aggregate


MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({}, "query lacks ['select']"),
    ({"select": [], "where": []}, "select must hold 1 to 64 items"),
    ({"select": ["a"], "having": []}, "unknown key(s) ['having']"),
    ({"select": "a"}, "select must be a list"),
    ({"select": [{"aggregate": "median", "column": "a"}]}, "unknown aggregate 'median'"),
    ({"select": [{"aggregate": "sum"}]}, "aggregate 'sum' needs a column"),
    ({"select": [{"aggregate": "sum", "column": "a", "distinct": True}]}, "unknown key(s) ['distinct']"),
    ({"select": [{"column": ""}]}, "column name must be a non-empty string"),
    ({"select": [{"column": "a\nb"}]}, "control characters"),
    ({"select": [{"column": "a" * 257}]}, "longer than 256"),
    ({"select": [3]}, "select item must be an object"),
    ({"select": ["a"], "where": [["a", "~", 1]]}, "unknown operator '~'"),
    ({"select": ["a"], "where": [["a", "=", None]]}, "must be a string, number or boolean"),
    ({"select": ["a"], "where": [["a", "=", float("nan")]]}, "finite number"),
    ({"select": ["a"], "where": [["a", "=", [1]]]}, "must be a string, number or boolean"),
    ({"select": ["a"], "where": [["a", "in", []]]}, "1 to 1000 values"),
    ({"select": ["a"], "where": [["a", "in", list(range(1001))]]}, "1 to 1000 values"),
    ({"select": ["a"], "where": [["a", "in", "abc"]]}, "must be a list"),
    ({"select": ["a"], "where": [["a", "between", [1, 2, 3]]]}, "must be [low, high]"),
    ({"select": ["a"], "where": [["a", "like", 5]]}, "must be a string pattern"),
    ({"select": ["a"], "where": [["a", "="]]}, "must be [column, op, value]"),
    ({"select": ["a"], "where": [{"column": "a", "op": "="}]}, "condition lacks ['value']"),
    ({"select": ["a", "a"]}, "duplicate output name(s) ['a']"),
    ({"select": [{"aggregate": "count"}, {"aggregate": "count"}]}, "duplicate output name(s) ['count(*)']"),
    ({"select": ["a"], "order_by": ["b"]}, "order key 'b' is not an output column"),
    ({"select": ["a"], "order_by": [{"key": "a", "descending": "yes"}]}, "must be a boolean"),
    ({"select": ["a"], "limit": 0}, "limit must be an integer from 1"),
    ({"select": ["a"], "limit": True}, "limit must be an integer from 1"),
    ({"select": ["a"], "limit": 1_000_001}, "limit must be an integer from 1"),
    ({"select": ["a"], "limit": "5"}, "limit must be an integer from 1"),
    ({"select": ["a", {"aggregate": "count"}]}, "column 'a' must be in group_by when aggregating"),
    ({"select": ["a", "b"], "group_by": ["a"]}, "column 'b' must be in group_by"),
    ({"select": ["a"], "group_by": ["a", "a"]}, "duplicate group_by column"),
]


@pytest.mark.parametrize(("doc", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_specs_are_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=r"^query: ") as info:
        QuerySpec.from_dict(doc)
    assert message in str(info.value)


def test_non_object_spec_is_refused() -> None:
    with pytest.raises(ValidationError, match="query must be an object"):
        QuerySpec.from_dict([])  # type: ignore[arg-type]


def test_to_dict_is_json() -> None:
    assert json.loads(json.dumps(QuerySpec.from_dict(WIRE).to_dict())) == WIRE
