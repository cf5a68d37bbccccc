"""QueryRunner: loading, policy refusals, k-suppression, filter semantics, row caps, CSV = Parquet, injection,
result hashes. Expected numbers are computed independently in Python from the rows written to the files."""

from __future__ import annotations

import csv
import json
import math
import shutil
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from datagora.crypto.hashing import keccak256
from datagora.domain.errors import AccessDenied, NotFoundError, ValidationError
from datagora.query import QueryResult, QueryRunner, QuerySpec, UsagePolicy
from datagora.query.runner import json_safe
from tests.kits.query_data import COLUMNS, REGION_SIZES, ROWS, open_policy, select, sql_sum, write_csv

TYPES = {
    "id": "BIGINT",
    "region": "VARCHAR",
    "age": "BIGINT",
    "amount": "BIGINT",
    "score": "DOUBLE",
    "day": "DATE",
    "ssn": "VARCHAR",
    "member": "BOOLEAN",
}


def spec(**doc: Any) -> QuerySpec:
    return QuerySpec.from_dict(doc)


def policy(**overrides: Any) -> UsagePolicy:
    fields: dict[str, Any] = {
        "uid": "urn:datagora:policy:test",
        "assigner": "did:example:owner",
        "target": "urn:datagora:dataset:1",
        "k": 5,
        "aggregates": ("count", "sum", "avg", "min", "max"),
        "prohibited_columns": ("ssn",),
        "max_rows": 1000,
        "exact_answers": True,  # the exact path's semantics; differential privacy: tests/privacy
    }
    return UsagePolicy.aggregates_only(**(fields | overrides))


COUNT = {"aggregate": "count"}


# --- loading -----------------------------------------------------------------------------------------------------


def test_loads_csv_and_parquet_with_the_same_schema(runner: QueryRunner, parquet_runner: QueryRunner) -> None:
    for r in (runner, parquet_runner):
        assert r.columns == COLUMNS
        assert dict(r.column_types) == TYPES
        assert r.row_count == len(ROWS) == 80
    assert runner.format == "csv"
    assert parquet_runner.format == "parquet"


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="query: no such file"):
        QueryRunner(tmp_path / "absent.csv")


def test_unreadable_file_is_a_validation_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not a parquet file at all")
    with pytest.raises(ValidationError, match=r"query: cannot load bad.parquet as parquet"):
        QueryRunner(bad)


def test_parquet_is_recognised_by_magic_bytes(tmp_path: Path, parquet_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    shutil.copy(parquet_path, blob)
    with QueryRunner(blob) as r:
        assert r.format == "parquet"
        assert r.row_count == 80


def test_unknown_format_is_refused(csv_path: Path) -> None:
    with pytest.raises(ValidationError, match="format must be"):
        QueryRunner(csv_path, format="xlsx")  # type: ignore[arg-type]


# --- policy refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "terms", "message"),
    [
        ({"select": ["region", "age"]}, {}, "policy: raw rows not permitted"),
        ({"select": [{"aggregate": "count", "column": "ssn"}]}, {}, "policy: column 'ssn' not permitted"),
        ({"select": [COUNT], "where": [["ssn", "=", "255-72-7909"]]}, {}, "policy: column 'ssn' not permitted"),
        ({"select": [COUNT], "group_by": ["ssn"]}, {}, "policy: column 'ssn' not permitted"),
        (
            {"select": [{"aggregate": "sum", "column": "amount"}]},
            {"columns": ("region", "age")},
            "policy: column 'amount' not permitted",
        ),
        (
            {"select": [COUNT], "where": [["age", ">", 30]]},
            {"columns": ("region", "ssn"), "prohibited_columns": ()},
            "policy: column 'age' not permitted",
        ),
        (
            {"select": [{"aggregate": "sum", "column": "amount"}]},
            {"aggregates": ("count",)},
            "policy: aggregate 'sum' not permitted",
        ),
        (
            {"select": [{"aggregate": "count_distinct", "column": "region"}]},
            {},
            "policy: aggregate 'count_distinct' not permitted",
        ),
    ],
)
def test_policy_refusals_name_the_rule(
    runner: QueryRunner, query: dict[str, Any], terms: dict[str, Any], message: str
) -> None:
    terms_policy = policy(**terms)
    with pytest.raises(AccessDenied) as info:
        runner.check(spec(**query), terms_policy)
    assert str(info.value) == message
    with pytest.raises(AccessDenied, match=f"^{message}$"):
        runner.run(spec(**query), terms_policy)


def test_permitted_query_passes_check(runner: QueryRunner) -> None:
    runner.check(spec(select=["region", COUNT], group_by=["region"], where=[["age", ">", 30]]), policy())


def test_case_variant_of_a_prohibited_column_is_not_a_way_round(runner: QueryRunner) -> None:
    with pytest.raises(ValidationError, match="query: unknown column 'SSN'"):
        runner.run(spec(select=[{"aggregate": "count", "column": "SSN"}]), policy())
    prohibited_upper = policy(prohibited_columns=("SSN",))
    with pytest.raises(AccessDenied, match="column 'ssn' not permitted"):
        runner.run(spec(select=[{"aggregate": "count", "column": "ssn"}]), prohibited_upper)


# --- type and schema errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"select": [{"aggregate": "sum", "column": "salary"}]}, "query: unknown column 'salary'"),
        ({"select": [COUNT], "where": [["salary", ">", 1]]}, "query: unknown column 'salary'"),
        ({"select": [{"aggregate": "sum", "column": "region"}]}, "sum needs a numeric column; 'region' is VARCHAR"),
        ({"select": [{"aggregate": "avg", "column": "day"}]}, "avg needs a numeric column"),
        ({"select": [COUNT], "where": [["age", "like", "3%"]]}, "like needs a text column"),
        ({"select": [COUNT], "where": [["age", "=", "30"]]}, "is not a number"),
        ({"select": [COUNT], "where": [["age", "=", True]]}, "is not a number"),
        ({"select": [COUNT], "where": [["age", "in", [30, "x"]]]}, "is not a number"),
        ({"select": [COUNT], "where": [["region", "=", 3]]}, "is not a string"),
        ({"select": [COUNT], "where": [["member", "<", True]]}, "boolean columns take only"),
        ({"select": [COUNT], "where": [["member", "=", 1]]}, "is not a boolean"),
        ({"select": [COUNT], "where": [["day", ">=", "not-a-date"]]}, "'not-a-date' is not a valid DATE"),
        ({"select": [COUNT], "where": [["day", "between", ["2024-01-01", "2024-13-01"]]]}, "is not a valid DATE"),
        ({"select": [COUNT], "where": [["day", "=", 20240101]]}, "give an ISO 8601 string"),
    ],
)
def test_schema_and_type_errors(runner: QueryRunner, query: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        runner.run(spec(**query), open_policy())
    assert message in str(info.value)


# --- minimum group size ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 6, 7, 10, 26, 31])
def test_grouped_aggregates_suppress_small_groups(runner: QueryRunner, k: int) -> None:
    result = runner.run(
        spec(
            select=["region", COUNT, {"aggregate": "sum", "column": "amount"}, {"aggregate": "avg", "column": "score"}],
            group_by=["region"],
        ),
        policy(k=k),
    )
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ROWS:
        groups[row["region"]].append(row)
    kept = sorted(name for name, members in groups.items() if len(members) >= k)
    assert result.columns == ("region", "count(*)", "sum(amount)", "avg(score)")
    assert [row[0] for row in result.rows] == kept
    for name, count, total, mean in result.rows:
        members = groups[str(name)]
        assert count == len(members) == REGION_SIZES[str(name)]
        assert total == sql_sum(m["amount"] for m in members)
        assert isinstance(mean, float)
        assert math.isclose(mean, sum(m["score"] for m in members) / len(members), rel_tol=1e-12)
    assert not result.truncated and result.exact and "suppressed_groups" not in result.to_dict()


def test_known_group_numbers_with_k5(runner: QueryRunner) -> None:
    result = runner.run(spec(select=["region", COUNT], group_by=["region"]), policy(k=5))
    assert result.rows == (("east", 15), ("north", 30), ("south", 25), ("west", 6))  # not north-east (3), São Paulo (1)


def test_filtered_groups_are_suppressed_after_filtering(runner: QueryRunner) -> None:
    result = runner.run(spec(select=["region", COUNT], group_by=["region"], where=[["age", ">=", 50]]), policy(k=5))
    sizes = Counter(row["region"] for row in select(ROWS, [("age", ">=", 50)]))
    assert {row[0]: row[1] for row in result.rows} == {name: n for name, n in sizes.items() if n >= 5}


def test_group_by_without_aggregate_is_k_protected(runner: QueryRunner) -> None:
    result = runner.run(spec(select=["region"], group_by=["region"]), policy(k=5))
    assert result.rows == (("east",), ("north",), ("south",), ("west",))


def test_ungrouped_aggregate_over_fewer_than_k_rows_is_suppressed(runner: QueryRunner) -> None:
    small = runner.run(
        spec(select=[COUNT, {"aggregate": "avg", "column": "age"}], where=[["region", "=", "north-east"]]), policy(k=5)
    )
    assert small.rows == ()
    exact = runner.run(spec(select=[COUNT], where=[["region", "=", "west"]]), policy(k=6))
    assert exact.rows == ((6,),)
    one_short = runner.run(spec(select=[COUNT], where=[["region", "=", "west"]]), policy(k=7))
    nobody = runner.run(spec(select=[COUNT], where=[["region", "=", "nowhere"]]), policy(k=7))
    assert one_short.to_dict() == nobody.to_dict()  # no counter tells a withheld group from an empty selection


def test_without_k_an_empty_selection_still_answers(runner: QueryRunner) -> None:
    result = runner.run(
        spec(select=[COUNT, {"aggregate": "sum", "column": "amount"}], where=[["region", "=", "nowhere"]]), policy(k=1)
    )
    assert result.rows == ((0, None),)


# --- filter semantics --------------------------------------------------------------------------------------------

CONDITIONS: list[list[tuple[str, str, Any]]] = [
    [("age", "=", 30)],
    [("age", "!=", 30)],
    [("age", "<", 30)],
    [("age", "<=", 30)],
    [("age", ">", 30)],
    [("age", ">=", 30)],
    [("age", ">", 29.5)],
    [("score", "<=", 50.5)],
    [("region", "in", ["north", "west", "nowhere"])],
    [("age", "in", [18, 19, 20, 80])],
    [("age", "between", [30, 40])],
    [("age", "between", [40, 30])],  # empty, as in SQL
    [("amount", "between", [100, 200])],
    [("amount", "!=", 100)],  # NULL amounts excluded
    [("region", "like", "north%")],
    [("region", "like", "%th")],
    [("region", "like", "_ast")],
    [("region", "like", "S_o %")],
    [("region", "like", "NORTH")],  # LIKE is case-sensitive
    [("region", "=", "São Paulo")],
    [("day", "between", ["2024-03-01", "2024-05-31"])],
    [("day", "<", "2024-02-01")],
    [("day", "in", ["2024-06-24", "2024-10-20"])],
    [("member", "=", True)],
    [("member", "!=", True)],
    [("member", "in", [False])],
    [("age", ">=", 30), ("region", "in", ["north", "south"]), ("amount", "between", [10, 600])],
]


@pytest.mark.parametrize("conditions", CONDITIONS, ids=[repr(c) for c in CONDITIONS])
def test_filters_match_a_python_reference(runner: QueryRunner, conditions: list[tuple[str, str, Any]]) -> None:
    result = runner.run(
        spec(
            select=[COUNT, {"aggregate": "sum", "column": "amount"}, {"aggregate": "count", "column": "amount"}],
            where=[list(c) for c in conditions],
        ),
        open_policy(),
    )
    chosen = select(ROWS, conditions)
    assert result.rows == (
        (len(chosen), sql_sum(r["amount"] for r in chosen), sum(r["amount"] is not None for r in chosen)),
    )


def test_min_max_count_distinct(runner: QueryRunner) -> None:
    result = runner.run(
        spec(
            select=[
                {"aggregate": "min", "column": "day"},
                {"aggregate": "max", "column": "age"},
                {"aggregate": "count_distinct", "column": "region"},
                {"aggregate": "min", "column": "region"},
            ]
        ),
        open_policy(),
    )
    assert result.rows == (
        (
            min(r["day"] for r in ROWS).isoformat(),
            max(r["age"] for r in ROWS),
            len(REGION_SIZES),
            min(REGION_SIZES),
        ),
    )


# --- order, limit, row caps, raw rows ----------------------------------------------------------------------------


def test_order_by_and_limit(runner: QueryRunner) -> None:
    result = runner.run(
        spec(
            select=["region", {"aggregate": "count", "as": "n"}],
            group_by=["region"],
            order_by=[{"key": "n", "descending": True}],
            limit=2,
        ),
        open_policy(),
    )
    assert result.rows == (("north", 30), ("south", 25))
    assert not result.truncated


def test_policy_row_cap_truncates(runner: QueryRunner) -> None:
    capped = runner.run(spec(select=["region", COUNT], group_by=["region"]), open_policy(max_rows=2))
    assert capped.rows == (("São Paulo", 1), ("east", 15))  # byte order: 'S' < 'e'
    assert capped.truncated
    under = runner.run(spec(select=["region", COUNT], group_by=["region"], limit=2), open_policy(max_rows=3))
    assert len(under.rows) == 2 and not under.truncated
    at = runner.run(spec(select=["region", COUNT], group_by=["region"], limit=3), open_policy(max_rows=3))
    assert len(at.rows) == 3 and not at.truncated
    fits = runner.run(spec(select=["region", COUNT], group_by=["region"]), open_policy(max_rows=6))
    assert len(fits.rows) == 6 and not fits.truncated


def test_raw_rows_when_permitted(runner: QueryRunner) -> None:
    query = spec(select=["id", "age"], where=[["age", ">", 70]], order_by=[{"key": "age", "descending": True}])
    result = runner.run(query, open_policy())
    expected = sorted(((r["id"], r["age"]) for r in ROWS if r["age"] > 70), key=lambda t: (-t[1], t[0]))
    assert result.rows == tuple(expected)
    assert result.columns == ("id", "age")
    capped = runner.run(query, open_policy(max_rows=5))
    assert capped.rows == tuple(expected[:5]) and capped.truncated


def test_raw_rows_are_json_safe(runner: QueryRunner) -> None:
    result = runner.run(spec(select=["id", "score", "day", "member"], where=[["id", "=", 1]]), open_policy())
    first = ROWS[0]
    assert result.rows == ((1, first["score"], first["day"].isoformat(), first["member"]),)
    json.dumps(result.to_dict())


# --- CSV and Parquet ---------------------------------------------------------------------------------------------

SAME_QUERIES = [
    {
        "select": ["region", COUNT, {"aggregate": "sum", "column": "amount"}, {"aggregate": "avg", "column": "score"}],
        "group_by": ["region"],
    },
    {
        "select": [COUNT, {"aggregate": "max", "column": "day"}],
        "where": [["day", "between", ["2024-02-01", "2024-06-30"]]],
    },
    {
        "select": ["member", {"aggregate": "min", "column": "age"}],
        "group_by": ["member"],
        "where": [["region", "like", "%th%"]],
    },
]


@pytest.mark.parametrize("query", SAME_QUERIES)
def test_csv_and_parquet_give_the_same_result(
    runner: QueryRunner, parquet_runner: QueryRunner, query: dict[str, Any]
) -> None:
    terms = policy(k=5)
    from_csv = runner.run(spec(**query), terms)
    from_parquet = parquet_runner.run(spec(**query), terms)
    assert from_csv == from_parquet
    assert from_csv.result_hash() == from_parquet.result_hash()


# --- injection ---------------------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    'region"; DROP TABLE data; --',
    "region) FROM data; --",
    "*",
    "1",
    "data.region",
    't"."region',
    'region" OR 1=1 --',
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_column_names_are_unknown_columns(runner: QueryRunner, name: str) -> None:
    for query in (
        {"select": [{"aggregate": "count", "column": name}]},
        {"select": [COUNT], "where": [[name, "=", "x"]]},
        {"select": [COUNT], "group_by": [name]},
    ):
        with pytest.raises(ValidationError, match="query: unknown column"):
            runner.run(spec(**query), open_policy())
    assert runner.run(spec(select=[COUNT]), open_policy()).rows == ((80,),)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (["region", "=", "north' OR '1'='1"], 0),
        (["region", "in", ["x') OR (1=1", "north"]], 30),
        (["region", "like", "%' OR 1=1 --"], 0),
        (["day", ">=", "2024-01-01'); DROP TABLE data; --"], None),
    ],
)
def test_hostile_values_are_bound_not_spliced(runner: QueryRunner, condition: list[Any], expected: int | None) -> None:
    query = spec(select=[COUNT], where=[condition])
    if expected is None:
        with pytest.raises(ValidationError, match="is not a valid DATE"):
            runner.run(query, open_policy())
    else:
        assert runner.run(query, open_policy()).rows == ((expected,),)
    assert runner.run(spec(select=[COUNT]), open_policy()).rows == ((80,),)


def test_hostile_alias_is_only_a_name(runner: QueryRunner) -> None:
    alias = 'n" FROM data; DROP TABLE data; --'
    result = runner.run(spec(select=[{"aggregate": "count", "as": alias}]), open_policy())
    assert result.columns == (alias,)
    assert result.rows == ((80,),)
    assert runner.run(spec(select=[COUNT]), open_policy()).rows == ((80,),)


def test_awkward_real_column_names_are_quoted(tmp_path: Path) -> None:
    path = tmp_path / "awkward.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["first name", 'we"ird', "select", "Ünïcode"])
        writer.writerows([["ann", "a", "1", "x"], ["bob", "b", "2", "x"], ["cy", "a", "3", "y"]])
    with QueryRunner(path) as r:
        assert r.columns == ("first name", 'we"ird', "select", "Ünïcode")
        result = r.run(
            spec(
                select=['we"ird', COUNT, {"aggregate": "sum", "column": "select"}],
                group_by=['we"ird'],
                where=[["Ünïcode", "=", "x"]],
            ),
            open_policy(),
        )
        assert result.rows == (("a", 1, 1), ("b", 1, 2))


def test_loaded_table_cannot_reach_the_file_system(runner: QueryRunner, csv_path: Path) -> None:
    con = runner._con
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv(?)", [str(csv_path)])
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")


# --- result hashes -----------------------------------------------------------------------------------------------

HASHED = spec(
    select=["region", COUNT, {"aggregate": "sum", "column": "amount"}, {"aggregate": "avg", "column": "score"}],
    group_by=["region"],
)


def test_result_hash_is_stable_and_canonical(csv_path: Path, runner: QueryRunner) -> None:
    first = runner.run(HASHED, policy())
    with QueryRunner(csv_path) as again:
        second = again.run(HASHED, policy())
    assert first == second
    assert first.result_hash() == second.result_hash()
    canonical = json.dumps(first.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert first.canonical_bytes() == canonical
    assert first.result_hash() == keccak256(canonical)
    assert len(first.result_hash()) == 32
    restored = QueryResult.from_dict(json.loads(first.canonical_bytes()))
    assert restored == first and restored.result_hash() == first.result_hash()


def test_result_hash_changes_when_data_changes(tmp_path: Path, runner: QueryRunner) -> None:
    changed = [dict(row) for row in ROWS]
    target = next(row for row in changed if row["region"] == "north" and row["amount"] is not None)
    target["amount"] += 1
    with QueryRunner(write_csv(tmp_path / "changed.csv", changed)) as other:
        assert other.run(HASHED, policy()).result_hash() != runner.run(HASHED, policy()).result_hash()
        count_only = spec(select=["region", COUNT], group_by=["region"])
        assert other.run(count_only, policy()).result_hash() == runner.run(count_only, policy()).result_hash()


@pytest.mark.parametrize(
    "doc",
    [
        {"columns": ["a"], "rows": [[1]], "truncated": False},
        {"columns": ["a"], "rows": [[1]], "suppressed_groups": 0, "truncated": False, "privacy": None},
        {"columns": ["a"], "rows": [[1, 2]], "truncated": False, "privacy": None},
        {"columns": [1], "rows": [], "truncated": False, "privacy": None},
        {"columns": ["a"], "rows": [], "truncated": "no", "privacy": None},
        {"columns": ["a"], "rows": [], "truncated": False, "privacy": {"epsilon": 1.0}},
    ],
)
def test_malformed_result_documents_are_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=r"^query: "):
        QueryResult.from_dict(doc)


def test_json_safe_conversions() -> None:
    ident = uuid.UUID(int=1)
    assert json_safe(Decimal("1.50")) == "1.50"
    assert json_safe(Decimal("1E+2")) == "100"
    assert json_safe(date(2024, 1, 2)) == "2024-01-02"
    assert json_safe(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05+00:00"
    assert json_safe(float("nan")) == "NaN"
    assert json_safe(float("-inf")) == "-Infinity"
    assert json_safe(b"\x01\xff") == "0x01ff"
    assert json_safe(ident) == str(ident)
    assert json_safe({"a": [Decimal("2"), (1, None)]}) == {"a": ["2", [1, None]]}
