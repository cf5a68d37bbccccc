"""Fixtures of the use-right query tests: the reference table as CSV and Parquet, and runners over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.query import QueryRunner
from tests.kits.query_data import ROWS, write_csv, write_parquet


@pytest.fixture(scope="session")
def table_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("query-table")


@pytest.fixture(scope="session")
def csv_path(table_dir: Path) -> Path:
    return write_csv(table_dir / "people.csv", ROWS)


@pytest.fixture(scope="session")
def parquet_path(table_dir: Path) -> Path:
    return write_parquet(table_dir / "people.parquet", ROWS)


@pytest.fixture(scope="module")
def runner(csv_path: Path) -> Iterator[QueryRunner]:
    with QueryRunner(csv_path) as r:
        yield r


@pytest.fixture(scope="module")
def parquet_runner(parquet_path: Path) -> Iterator[QueryRunner]:
    with QueryRunner(parquet_path) as r:
        yield r
