"""A small table with known groups, written as CSV and Parquet, and a pure-Python reference for its queries."""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datagora.query import UsagePolicy

REGION_SIZES = {"north": 30, "south": 25, "east": 15, "west": 6, "north-east": 3, "São Paulo": 1}
COLUMNS = ("id", "region", "age", "amount", "score", "day", "ssn", "member")


def make_rows(seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    regions = [name for name, size in REGION_SIZES.items() for _ in range(size)]
    rng.shuffle(regions)
    rows = []
    for i, region in enumerate(regions, start=1):
        rows.append(
            {
                "id": i,
                "region": region,
                "age": rng.randint(18, 80),
                "amount": None if i % 9 == 0 else rng.randint(0, 1000),
                "score": round(rng.uniform(0, 100), 2),
                "day": date(2024, 1, 1) + timedelta(days=rng.randint(0, 365)),
                "ssn": f"{rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
                "member": rng.random() < 0.5,
            }
        )
    return rows


ROWS = make_rows()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: Iterable[str] = COLUMNS) -> Path:
    columns = list(columns)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row[c]) for c in columns])
    return path


SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("region", pa.string()),
        ("age", pa.int64()),
        ("amount", pa.int64()),
        ("score", pa.float64()),
        ("day", pa.date32()),
        ("ssn", pa.string()),
        ("member", pa.bool_()),
    ]
)


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%`` any run, ``_`` one character, case-sensitive, whole string) as a regex."""
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _as_comparable(column: str, value: Any) -> Any:
    return date.fromisoformat(value) if column == "day" and isinstance(value, str) else value


def matches(row: dict[str, Any], column: str, op: str, value: Any) -> bool:
    """SQL semantics of one condition: a NULL cell matches nothing."""
    cell = row[column]
    if cell is None:
        return False
    if op == "in":
        return cell in [_as_comparable(column, v) for v in value]
    if op == "between":
        low, high = (_as_comparable(column, v) for v in value)
        return bool(low <= cell <= high)
    if op == "like":
        return like_to_regex(value).fullmatch(cell) is not None
    v = _as_comparable(column, value)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return ops[op](cell, v)


def select(rows: Iterable[dict[str, Any]], where: Iterable[tuple[str, str, Any]]) -> list[dict[str, Any]]:
    conditions = list(where)
    return [row for row in rows if all(matches(row, c, op, v) for c, op, v in conditions)]


def sql_sum(values: Iterable[Any]) -> Any:
    """SQL SUM: NULLs ignored, NULL when nothing is left."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def open_policy(**overrides: Any) -> UsagePolicy:
    """Everything permitted: all aggregates, raw rows, k = 1, no row cap, exact answers."""
    fields: dict[str, Any] = {"uid": "urn:datagora:policy:test", "assigner": "did:example:owner"}
    fields |= {"target": "urn:datagora:dataset:1", "raw_rows": True, "exact_answers": True}
    fields |= overrides
    return UsagePolicy(**fields)
