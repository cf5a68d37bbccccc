"""``datagora sample [DIR]``: the sample data written without a chain, never over existing files unless --force."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.kits.cli_fixtures import failed, invoke, ok

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def test_sample_writes_the_three_files_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = ok(invoke(["sample"]))  # no --rpc-url, no home: nothing but the files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["astronaut.png", "diabetes.csv", "tumours.csv"]
    for name in ("tumours.csv", "diabetes.csv", "astronaut.png"):
        assert f"wrote {name}" in out
    tumours, diabetes = _rows(tmp_path / "tumours.csv"), _rows(tmp_path / "diabetes.csv")
    assert len(tumours) == 1 + 569 and tumours[0][-1] == "diagnosis"
    assert {row[-1] for row in tumours[1:]} == {"malignant", "benign"}
    assert len(diabetes) == 1 + 442 and diabetes[0][-1] == "progression"
    assert (tmp_path / "astronaut.png").read_bytes()[:8] == PNG_SIGNATURE


def test_sample_creates_dir_and_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "data" / "nested"
    ok(invoke(["sample", target]))
    table = target / "diabetes.csv"
    table.write_text("edited by hand\n")
    message = failed(invoke(["sample", target]), "already in", "--force")
    assert "diabetes.csv" in message
    assert table.read_text() == "edited by hand\n"  # nothing overwritten
    ok(invoke(["sample", target, "--force"]))
    assert len(_rows(table)) == 1 + 442


def test_sample_refuses_a_file_as_dir(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("x")
    failed(invoke(["sample", not_a_folder]), "is not a folder")
    assert not_a_folder.read_text() == "x"
