"""``datagora dataset retire``, ``datagora search --sample`` and ``datagora audit searches`` on the command line,
against the session Anvil node (the CLI world of tests/kits/cli_fixtures.py: datasets #1 listed, #2 sold and
delivered, #3 not listed)."""

from __future__ import annotations

import json

from datagora.services.attestation import SAMPLE_SEARCH_LOG
from datagora.services.sample_search import SearchLog, SearchRecord
from tests.kits.cli_fixtures import CliWorld, failed, ok, refused


def _blobs(w: CliWorld, name: str) -> set[str]:
    root = w.home / "participants" / name / "blobs"
    return {p.name for p in root.rglob("*") if p.is_file() and len(p.name) >= 60}


def test_dataset_retire_on_the_command_line(w: CliWorld) -> None:
    before = _blobs(w, "seller")
    out = ok(w.run("dataset", "retire", 1, "-a", "seller", "--yes"))
    assert "cancelled listing 1" in out and "retired dataset #1" in out and "destroyed 1 ciphertext(s)" in out
    assert len(before - _blobs(w, "seller")) == 1
    retired = [r for r in w.trail() if r["action"] == "Retired"]
    assert len(retired) == 1 and str(retired[0]["detail"]).startswith("retired dataset #1")
    listed = ok(w.run("search", "-a", "buyer"))
    assert "dataset-1" not in listed and "dataset-3" in listed
    failed(w.run("dataset", "retire", 1, "-a", "seller", "--yes"), "dataset 1 was retired by its owner")
    failed(w.run("list", 1, "-a", "seller", "--price", "0.5"), "dataset 1 was retired")


def test_dataset_retire_refusals_change_nothing(w: CliWorld) -> None:
    refused(w, ("dataset", "retire", 2, "-a", "seller", "--yes"), "sold under listing 2", "completes or is refunded")
    refused(w, ("dataset", "retire", 3, "-a", "buyer", "--yes"), "only the owner of dataset 3")
    refused(w, ("dataset", "retire", 99, "-a", "seller", "--yes"), "unknown dataset id 99")
    refused(w, ("dataset", "retire", 3, "-a", "seller"), "not retired")  # no terminal to confirm on


def test_search_by_sample_needs_the_platforms_node(w: CliWorld) -> None:
    sample = w.home / "data" / "dataset-3.csv"
    failed(w.run("search", "--sample", sample, "-a", "buyer"), "--platform-url")


def test_audit_searches_reads_the_platforms_log(w: CliWorld) -> None:
    log = SearchLog(w.home / "participants" / "platform" / SAMPLE_SEARCH_LOG)
    buyer = w.addresses["buyer"]
    log.append(SearchRecord(1_700_000_000, buyer, "table", 1, "too few rows", []))
    log.append(SearchRecord(1_700_000_060, buyer, "table", 44, "answered", [3]))
    lines = ok(w.run("audit", "searches", "-a", "platform", "--json")).splitlines()
    assert [(json.loads(x)["outcome"], json.loads(x)["matches"]) for x in lines] == [
        ("too few rows", []),
        ("answered", [3]),
    ]
    table = ok(w.run("audit", "searches", "-a", "platform"))
    assert "2 searches, hash chain intact" in table and "table, 44 rows" in table
    path = log.path
    assert path is not None
    path.write_text(path.read_text().replace('"rows":1}', '"rows":2}'))
    failed(w.run("audit", "searches", "-a", "platform"), "line 2 does not follow line 1")
