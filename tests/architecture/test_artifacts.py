"""The committed ABI + bytecode artifacts must equal a fresh compile of contracts/*.vy (both sets, Prague and London,
in the slow run, which CI runs: a fresh compile of every contract takes 30-70 s). The default run checks what is
cheap: each Prague artifact was built from the contract's current source, and each London one from the same source
as its Prague twin."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from datagora.chain.artifacts import (
    ARTIFACT_DIR,
    ARTIFACT_NAMES,
    artifact_dir,
    build,
    load_artifact,
    source_dir,
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifacts")
    build(out_dir=out)
    load_artifact.cache_clear()
    return out


@pytest.mark.parametrize("name", ARTIFACT_NAMES)
def test_committed_artifact_was_built_from_the_current_source(name: str) -> None:
    committed = json.loads((ARTIFACT_DIR / f"{name}.json").read_text())
    source = (source_dir() / f"{name}.vy").read_text()
    assert committed["sourceSha256"] == hashlib.sha256(source.encode()).hexdigest(), (
        f"contracts/{name}.vy changed since its artifact was built: run `python -m datagora.chain.artifacts`"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ARTIFACT_NAMES)
def test_committed_artifact_matches_fresh_compile(fresh: Path, name: str) -> None:
    committed = json.loads((ARTIFACT_DIR / f"{name}.json").read_text())
    rebuilt = json.loads((fresh / f"{name}.json").read_text())
    assert committed["sourceSha256"] == rebuilt["sourceSha256"], (
        f"contracts/{name}.vy changed since its artifact was built: run `python -m datagora.chain.artifacts`"
    )
    assert committed == rebuilt, (
        f"the artifact of {name} differs from a fresh compile (a shared module or interface under contracts/ "
        "changed?): run `python -m datagora.chain.artifacts`"
    )


@pytest.fixture(scope="module")
def fresh_london(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("artifacts-london")
    build(out_dir=out, evm_version="london")
    load_artifact.cache_clear()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ARTIFACT_NAMES)
def test_committed_london_artifact_matches_fresh_compile(fresh_london: Path, name: str) -> None:
    committed = json.loads((artifact_dir("london") / f"{name}.json").read_text())
    rebuilt = json.loads((fresh_london / f"{name}.json").read_text())
    assert committed == rebuilt, (
        f"the London artifact of {name} differs from a fresh compile: run `python -m datagora.chain.artifacts`"
    )


@pytest.mark.parametrize("name", ARTIFACT_NAMES)
def test_london_artifact_is_built_from_the_same_source_as_prague(name: str) -> None:
    london = json.loads((artifact_dir("london") / f"{name}.json").read_text())
    prague = json.loads((ARTIFACT_DIR / f"{name}.json").read_text())
    assert (london["sourceSha256"], london["compiler"], london["abi"]) == (
        prague["sourceSha256"],
        prague["compiler"],
        prague["abi"],
    ), f"the London artifact of {name} is stale: run `python -m datagora.chain.artifacts`"
    code = bytes.fromhex(london["deployedBytecode"].removeprefix("0x"))
    assert code != bytes.fromhex(prague["deployedBytecode"].removeprefix("0x"))
    assert len(code) <= 24_576 - 1024, f"{name} London build is {len(code)} bytes, not 1 KiB under EIP-170"


def test_artifacts_load_and_have_the_expected_interface() -> None:
    names = {e["name"] for e in load_artifact("Market").abi if e.get("type") == "function"}
    assert {"list", "buy", "deliver", "confirm", "release", "refund", "withdraw", "cancel", "set_parameters"} <= names
    assert {
        "list_negotiable",
        "list_auction",
        "make_offer",
        "counter_offer",
        "accept_offer",
        "accept_counter",
        "reject_offer",
        "withdraw_offer",
        "bid",
        "settle",
        "dispute",
        "resolve",
    } <= names
    events = {e["name"] for e in load_artifact("Market").abi if e.get("type") == "event"}
    assert {"Listed", "OrderPaid", "Delivered", "Disputed", "Resolved", "Settled", "Withdrawn"} <= events
    assert not {"Confirmed", "Refunded", "FeeChanged"} & events
    assert not {"list_use_right", "buy_queries", "record_query", "expire", "query_digest"} & names
    use_rights = {e["name"] for e in load_artifact("UseRights").abi if e.get("type") == "function"}
    assert {"list_use_right", "buy_queries", "record_query", "expire", "query_digest", "withdraw"} <= use_rights
    use_right_events = {e["name"] for e in load_artifact("UseRights").abi if e.get("type") == "event"}
    assert {"Listed", "UseRightTerms", "OrderPaid", "QueryAnswered", "Settled", "Withdrawn"} <= use_right_events
    assert load_artifact("Catalog").bytecode
    assert (source_dir() / "Catalog.vy").is_file()
