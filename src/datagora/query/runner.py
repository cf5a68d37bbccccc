"""The owner's query runner: checks a :class:`QuerySpec` against a :class:`UsagePolicy` and runs it with DuckDB.

This is the owner-side half of Wu et al.'s "sale of use right" (§II): the table never leaves the owner's node;
the buyer receives only the result of each prepaid query, and only if the offer's ODRL policy (W3C ODRL 2.2)
permits it. Compilation is injection-proof by construction: identifiers are checked against the table's real
columns and double-quoted, every value is a bound parameter, and once the file is loaded the DuckDB connection
has external access disabled and its configuration locked, so even a compiler bug could not read other files.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, TypeAlias

from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import AccessDenied, NotFoundError, ValidationError
from datagora.query import privacy
from datagora.query.policy import UsagePolicy
from datagora.query.spec import Aggregate, ColumnRef, Condition, QuerySpec

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
"""A value that :func:`json.dumps` writes as-is (non-finite floats excluded)."""

TABLE: Final = "data"
_ALIAS: Final = "t"

_INTEGER_TYPES: Final = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_TEMPORAL_TYPES: Final = frozenset(
    {"DATE", "TIME", "TIME WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"}
    | {"TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
)
_SQL_OPERATORS: Final = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SQL_AGGREGATES: Final = {
    "count": "count({})",
    "count_distinct": "count(DISTINCT {})",
    "sum": "sum({})",
    "avg": "avg({})",
    "min": "min({})",
    "max": "max({})",
}

Kind: TypeAlias = Literal["numeric", "string", "boolean", "temporal", "other"]


def _kind(type_name: str) -> Kind:
    """Coarse class of a DuckDB column type, for checking filter values and aggregates."""
    if type_name in _INTEGER_TYPES or type_name in ("FLOAT", "DOUBLE") or type_name.startswith("DECIMAL"):
        return "numeric"
    if type_name == "VARCHAR":
        return "string"
    if type_name == "BOOLEAN":
        return "boolean"
    if type_name in _TEMPORAL_TYPES:
        return "temporal"
    return "other"


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (embedded ``"`` doubled). Only ever applied to names already
    checked to be real columns or spec-validated aliases (no control characters)."""
    return '"' + name.replace('"', '""') + '"'


def _column(name: str) -> str:
    return f"{quote_identifier(_ALIAS)}.{quote_identifier(name)}"


def json_safe(value: object) -> JSONValue:
    """A DuckDB result value as JSON: DECIMAL as an exact fixed-point string, dates and times as ISO 8601,
    intervals as ``str(timedelta)``, blobs as ``0x…`` hex, UUIDs as strings, non-finite floats as ``"NaN"`` /
    ``"Infinity"`` / ``"-Infinity"``, lists and structs recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    return str(value)


@dataclass(frozen=True)
class QueryResult:
    """What the owner's node returns for one query.

    - ``columns``: output names, in select order.
    - ``rows``: tuples of JSON-safe values (see :func:`json_safe`), in the query's order.
    - ``truncated``: True when the policy's ``max_rows`` cut rows the query would otherwise have returned.
    - ``privacy``: for a differentially private answer, what :func:`datagora.query.privacy.describe` states (the
      mechanism, epsilon, delta, group threshold and each column's noise scale); None for an exact answer. It is
      part of :meth:`result_hash`, so it is bound to the answer recorded on chain.

    No count of withheld groups and no exact group size is returned: either would tell whether one row matches.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[JSONValue, ...], ...]
    truncated: bool = False
    privacy: Mapping[str, Any] | None = None

    @property
    def exact(self) -> bool:
        """Whether the answer is exact (the owner opted out of differential privacy)."""
        return self.privacy is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "truncated": self.truncated,
            "privacy": None if self.privacy is None else dict(self.privacy),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> QueryResult:
        """Inverse of :meth:`to_dict`, e.g. for a buyer re-computing :meth:`result_hash`. Raises
        :class:`ValidationError` on a malformed document."""
        if not isinstance(doc, Mapping) or set(doc) != {"columns", "rows", "truncated", "privacy"}:
            raise ValidationError("query: result must have exactly columns, rows, truncated, privacy")
        columns, rows = doc["columns"], doc["rows"]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ValidationError("query: result columns must be a list of strings")
        if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == len(columns) for r in rows):
            raise ValidationError("query: result rows must be lists as long as columns")
        truncated, private = doc["truncated"], doc["privacy"]
        if not isinstance(truncated, bool):
            raise ValidationError("query: truncated must be a boolean")
        if private is not None and (
            not isinstance(private, Mapping) or not {"mechanism", "epsilon", "delta", "noise"} <= set(private)
        ):
            raise ValidationError("query: privacy must be null or state mechanism, epsilon, delta and noise")
        return cls(tuple(columns), tuple(tuple(row) for row in rows), truncated, private)

    def canonical_bytes(self) -> bytes:
        """Compact, key-sorted UTF-8 JSON of :meth:`to_dict`."""
        return canonical_json(self.to_dict())

    def result_hash(self) -> bytes:
        """Keccak-256 (32 bytes) of :meth:`canonical_bytes`: the delivery commitment for this query."""
        return keccak256(self.canonical_bytes())


class QueryRunner:
    """Runs use-right queries over one CSV or Parquet file, loaded once into an in-memory DuckDB table.

    ``path``: the file; ``format``: ``"csv"`` or ``"parquet"`` (default: from the suffix, else the Parquet magic
    bytes, else CSV with DuckDB's type sniffing); ``threads``: DuckDB threads (1 keeps floating-point aggregates
    bit-identical from run to run, which stable result hashes need).

    Raises :class:`NotFoundError` if the file does not exist and :class:`ValidationError` if it cannot be read.
    Safe to share between threads (queries are serialised).
    """

    def __init__(self, path: str | Path, *, format: Literal["csv", "parquet"] | None = None, threads: int = 1) -> None:
        import duckdb  # loaded on the first query: an idle node does without it

        path = Path(path)
        if not path.is_file():
            raise NotFoundError(f"query: no such file {str(path)!r}")
        fmt = format or _sniff_format(path)
        if fmt not in ("csv", "parquet"):
            raise ValidationError(f"query: format must be 'csv' or 'parquet', got {fmt!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValidationError(f"query: threads must be a positive integer, got {threads!r}")
        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        self.path = path
        self.format: str = fmt
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:", config={"threads": threads})
        try:
            self._con.execute(f"CREATE TABLE {quote_identifier(TABLE)} AS SELECT * FROM {reader}(?)", [str(path)])
            self._con.execute("SET enable_external_access = false")
            self._con.execute("SET lock_configuration = true")
            described = self._con.execute(f"DESCRIBE {quote_identifier(TABLE)}").fetchall()
            count_row = self._con.execute(f"SELECT count(*) FROM {quote_identifier(TABLE)}").fetchone()
        except duckdb.Error as exc:
            self._con.close()
            raise ValidationError(f"query: cannot load {path.name} as {fmt}: {exc}") from exc
        self._types: dict[str, str] = {str(row[0]): str(row[1]) for row in described}
        self._row_count = int(count_row[0]) if count_row else 0

    # --- table -----------------------------------------------------------------------------------------------

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of the table, in file order."""
        return tuple(self._types)

    @property
    def column_types(self) -> Mapping[str, str]:
        """Column name → DuckDB type name (``"BIGINT"``, ``"DOUBLE"``, ``"VARCHAR"``, ``"DATE"``, …)."""
        return MappingProxyType(self._types)

    @property
    def row_count(self) -> int:
        """Number of rows loaded."""
        return self._row_count

    def numeric_extents(self) -> dict[str, tuple[float, float]]:
        """Smallest and largest value of each numeric column that holds any (exact: for the owner only, e.g. to
        declare value ranges in a policy; never part of an answer)."""
        names = [name for name, type_name in self._types.items() if _kind(type_name) == "numeric"]
        if not names:
            return {}
        exprs = ", ".join(f"min(CAST({_column(n)} AS DOUBLE)), max(CAST({_column(n)} AS DOUBLE))" for n in names)
        with self._lock:
            found = self._con.execute(
                f"SELECT {exprs} FROM {quote_identifier(TABLE)} AS {quote_identifier(_ALIAS)}"
            ).fetchone()
        assert found is not None
        out: dict[str, tuple[float, float]] = {}
        for index, name in enumerate(names):
            low, high = found[2 * index], found[2 * index + 1]
            if low is not None and high is not None:
                out[name] = (float(low), float(high))
        return out

    def close(self) -> None:
        """Release the DuckDB connection (and the in-memory table)."""
        with self._lock:
            self._con.close()

    def __enter__(self) -> QueryRunner:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- checks ----------------------------------------------------------------------------------------------

    def check(self, spec: QuerySpec, policy: UsagePolicy) -> None:
        """Refuse ``spec`` unless this table can answer it and ``policy`` permits it.

        Raises :class:`ValidationError` for unknown columns or ill-typed filters and aggregates (``sum`` of a
        string, ``like`` on a number, a value of the wrong type, an unparsable date) and :class:`AccessDenied`
        naming the violated ODRL rule: ``"policy: raw rows not permitted"``, ``"policy: column 'ssn' not
        permitted"``, ``"policy: aggregate 'sum' not permitted"``; under differential privacy also ``min`` / ``max``
        and sums or averages over a column without a declared value range. None of these depends on the rows.
        """
        if not isinstance(spec, QuerySpec):
            raise ValidationError(f"query: expected a QuerySpec, got {type(spec).__name__}")
        if not isinstance(policy, UsagePolicy):
            raise ValidationError(f"query: expected a UsagePolicy, got {type(policy).__name__}")
        for name in spec.referenced_columns:
            if name not in self._types:
                raise ValidationError(f"query: unknown column {name!r}; columns are {list(self._types)}")

        if not spec.is_aggregate and not policy.raw_rows:
            raise AccessDenied("policy: raw rows not permitted")
        for name in spec.referenced_columns:
            if not policy.permits_column(name):
                raise AccessDenied(f"policy: column {name!r} not permitted")
        for aggregate in spec.aggregates:
            if not policy.permits_aggregate(aggregate.function):
                raise AccessDenied(f"policy: aggregate {aggregate.function!r} not permitted")

        for aggregate in spec.aggregates:
            if aggregate.column is None:
                continue
            kind = _kind(self._types[aggregate.column])
            if aggregate.function in ("sum", "avg") and kind != "numeric":
                raise ValidationError(
                    f"query: {aggregate.function} needs a numeric column; {aggregate.column!r} is "
                    f"{self._types[aggregate.column]}"
                )
            if aggregate.function in ("min", "max") and kind == "other":
                raise ValidationError(
                    f"query: {aggregate.function} is not supported on {aggregate.column!r} "
                    f"({self._types[aggregate.column]})"
                )
        for condition in spec.where:
            self._check_condition(condition)
        if policy.differential_privacy:
            privacy.plan(spec, policy)

    def _check_condition(self, condition: Condition) -> None:
        import duckdb  # loaded on the first query: an idle node does without it

        column, op = condition.column, condition.op
        type_name = self._types[column]
        kind = _kind(type_name)
        where = f"filter {column!r} {op}"
        if kind == "other":
            raise ValidationError(f"query: cannot filter on {column!r} of type {type_name}")
        if op == "like" and kind != "string":
            raise ValidationError(f"query: like needs a text column; {column!r} is {type_name}")
        if kind == "boolean" and op not in ("=", "!=", "in"):
            raise ValidationError(f"query: {where}: boolean columns take only =, != and in")
        for value in condition.values:
            if kind == "numeric" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValidationError(f"query: {where}: {column!r} is {type_name}, value {value!r} is not a number")
            if kind == "string" and not isinstance(value, str):
                raise ValidationError(f"query: {where}: {column!r} is {type_name}, value {value!r} is not a string")
            if kind == "boolean" and not isinstance(value, bool):
                raise ValidationError(f"query: {where}: {column!r} is {type_name}, value {value!r} is not a boolean")
            if kind == "temporal":
                if not isinstance(value, str):
                    raise ValidationError(f"query: {where}: {column!r} is {type_name}; give an ISO 8601 string")
                try:
                    with self._lock:
                        self._con.execute(f"SELECT CAST(? AS {type_name})", [value]).fetchall()
                except duckdb.Error as exc:
                    raise ValidationError(f"query: {where}: {value!r} is not a valid {type_name}") from exc

    # --- running ---------------------------------------------------------------------------------------------

    def run(self, spec: QuerySpec, policy: UsagePolicy) -> QueryResult:
        """Check ``spec`` (see :meth:`check`), then run it: with differential privacy unless the policy opts out
        (see :mod:`datagora.query.privacy` and :meth:`_run_private`).

        With exact answers, aggregate queries return only groups of at least ``policy.min_group_size`` rows
        (``HAVING count(*) >= k``; an ungrouped aggregate over fewer than k rows returns no row). At most
        ``policy.max_rows`` rows are returned (``truncated`` says when more existed). Rows are ordered by the
        spec's ``order_by``, then by every output column, so the result and its hash are deterministic for the
        same data.
        """
        import duckdb  # loaded on the first query: an idle node does without it

        self.check(spec, policy)
        if policy.differential_privacy:
            return self._run_private(spec, policy)
        k = policy.min_group_size if spec.is_aggregate else 1
        where_sql, where_params = self._where(spec)
        group_sql = ""
        if spec.group_by:
            group_sql = " GROUP BY " + ", ".join(_column(name) for name in spec.group_by)

        items = ", ".join(f"{self._select_expr(item)} AS {quote_identifier(item.output_name)}" for item in spec.select)
        sql = f"SELECT {items} FROM {quote_identifier(TABLE)} AS {quote_identifier(_ALIAS)}{where_sql}{group_sql}"
        params: list[object] = list(where_params)
        if k > 1:
            sql += " HAVING count(*) >= ?"
            params.append(k)
        positions = {name: index + 1 for index, name in enumerate(spec.output_names)}
        order = [f"{positions[key.key]} {'DESC' if key.descending else 'ASC'} NULLS LAST" for key in spec.order_by]
        order += [f"{index} ASC NULLS LAST" for index in range(1, len(spec.select) + 1)]
        sql += " ORDER BY " + ", ".join(order)

        cap = policy.max_rows
        fetch_limit: int | None = spec.limit
        if cap is not None and (spec.limit is None or spec.limit > cap):
            fetch_limit = cap + 1  # one extra row tells whether the policy's cap cut anything
        if fetch_limit is not None:
            sql += " LIMIT ?"
            params.append(fetch_limit)

        try:
            with self._lock:
                rows = self._con.execute(sql, params).fetchall()
        except duckdb.Error as exc:
            raise ValidationError(f"query: cannot run: {exc}") from exc

        truncated = cap is not None and len(rows) > cap
        if truncated:
            rows = rows[:cap]
        return QueryResult(
            columns=spec.output_names,
            rows=tuple(tuple(json_safe(value) for value in row) for row in rows),
            truncated=truncated,
        )

    def _run_private(self, spec: QuerySpec, policy: UsagePolicy) -> QueryResult:
        """A differentially private answer (:mod:`datagora.query.privacy`): DuckDB computes each group's exact
        measurements (sums over values clamped to the declared range), OpenDP adds the noise, groups whose noisy
        count is under the threshold are left out, and the released rows are ordered and cut in Python (all
        post-processing of noisy values)."""
        import duckdb  # loaded on the first query: an idle node does without it

        mechanisms = privacy.plan(spec, policy)
        where_sql, where_params = self._where(spec)
        exprs = [_column(name) for name in spec.group_by]
        for function, column in mechanisms.measurements:
            if column is None:
                exprs.append("count(*)")
            elif function == "count":
                exprs.append(f"count({_column(column)})")
            elif function == "count_distinct":
                exprs.append(f"count(DISTINCT {_column(column)})")
            else:
                exprs.append(f"sum(least(greatest(CAST({_column(column)} AS DOUBLE), ?), ?))")
        sql = f"SELECT {', '.join(exprs)} FROM {quote_identifier(TABLE)} AS {quote_identifier(_ALIAS)}{where_sql}"
        range_params: list[object] = []
        for function, column in mechanisms.measurements:
            if function == "sum" and column is not None:
                range_params.extend(mechanisms.ranges[column])
        if spec.group_by:
            sql += " GROUP BY " + ", ".join(_column(name) for name in spec.group_by)
        try:
            with self._lock:
                exact_rows = self._con.execute(sql, [*range_params, *where_params]).fetchall()
        except duckdb.Error as exc:
            raise ValidationError(f"query: cannot run: {exc}") from exc

        width = len(spec.group_by)
        released: list[tuple[JSONValue, ...]] = []
        for exact in exact_rows:
            noisy = privacy.noisy_values(mechanisms, exact[width:])
            if mechanisms.threshold is not None and int(noisy[("count", None)]) < mechanisms.threshold:
                continue
            keys = {name: json_safe(value) for name, value in zip(spec.group_by, exact[:width], strict=True)}
            released.append(
                tuple(
                    keys[item.name] if isinstance(item, ColumnRef) else privacy.aggregate_value(item, mechanisms, noisy)
                    for item in spec.select
                )
            )
        rows = _order(released, spec)
        cap = min(n for n in (spec.limit, policy.max_rows, len(rows)) if n is not None)
        truncated = (
            policy.max_rows is not None
            and len(rows) > policy.max_rows
            and (spec.limit is None or spec.limit > policy.max_rows)
        )
        return QueryResult(
            columns=spec.output_names,
            rows=tuple(rows[:cap]),
            truncated=truncated,
            privacy=privacy.describe(mechanisms, spec),
        )

    def _select_expr(self, item: ColumnRef | Aggregate) -> str:
        if isinstance(item, ColumnRef):
            return _column(item.name)
        if item.column is None:
            return "count(*)"
        return _SQL_AGGREGATES[item.function].format(_column(item.column))

    def _where(self, spec: QuerySpec) -> tuple[str, Sequence[object]]:
        clauses: list[str] = []
        params: list[object] = []
        for condition in spec.where:
            type_name = self._types[condition.column]
            placeholder = f"CAST(? AS {type_name})" if _kind(type_name) == "temporal" else "?"
            column = _column(condition.column)
            if condition.op == "in":
                clauses.append(f"{column} IN ({', '.join([placeholder] * len(condition.values))})")
            elif condition.op == "between":
                clauses.append(f"{column} BETWEEN {placeholder} AND {placeholder}")
            elif condition.op == "like":
                clauses.append(f"{column} LIKE {placeholder}")
            else:
                clauses.append(f"{column} {_SQL_OPERATORS[condition.op]} {placeholder}")
            params.extend(condition.values)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _order(rows: list[tuple[JSONValue, ...]], spec: QuerySpec) -> list[tuple[JSONValue, ...]]:
    """``rows`` sorted by the spec's order keys, then by every output column ascending; nulls last either way
    (as the exact path's ``NULLS LAST``). Stable sorts from the least significant key up."""
    positions = {name: index for index, name in enumerate(spec.output_names)}
    keys = [(positions[key.key], key.descending) for key in spec.order_by]
    keys += [(index, False) for index in range(len(spec.select))]
    ordered = list(rows)
    for index, descending in reversed(keys):
        present = sorted((row for row in ordered if row[index] is not None), key=lambda row: _sort_key(row[index]))
        if descending:
            present = _stable_reverse(present, index)
        ordered = present + [row for row in ordered if row[index] is None]
    return ordered


def _sort_key(value: JSONValue) -> tuple[int, Any]:
    if isinstance(value, bool | int | float):
        return (0, value)
    return (1, str(value))


def _stable_reverse(rows: list[tuple[JSONValue, ...]], index: int) -> list[tuple[JSONValue, ...]]:
    """Descending by column ``index``, keeping the previous order among equal values."""
    return sorted(rows, key=lambda row: _sort_key(row[index]), reverse=True)


def _sniff_format(path: Path) -> Literal["csv", "parquet"]:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    with path.open("rb") as fh:
        return "parquet" if fh.read(4) == b"PAR1" else "csv"


__all__ = ["JSONValue", "QueryResult", "QueryRunner", "json_safe", "quote_identifier"]
