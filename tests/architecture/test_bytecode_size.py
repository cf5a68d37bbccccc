"""Every deployable contract stays at least 1 KiB under the EIP-170 limit on runtime bytecode (24,576 bytes), so
that a fix or a small feature never makes one undeployable: split along a module boundary before that.

Deployables are the ``contracts/*.vy`` files (modules under ``contracts/modules/``, interfaces under
``contracts/interfaces/`` and test doubles under ``contracts/mocks/`` are not deployed on their own). Each is
measured in its committed artifact, which ``test_artifacts.py`` checks is exactly a fresh compile of its source
with the project's compiler settings (``datagora.chain.artifacts``); a file without an artifact is compiled here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datagora.chain.artifacts import ARTIFACT_NAMES, compile_contract, load_artifact
from tests.kits.contract_kit import CONTRACTS_DIR

EIP170_LIMIT = 24_576  # bytes of runtime code (EIP-170)
HEADROOM = 1_024  # bytes kept free below the limit
MAX_RUNTIME = EIP170_LIMIT - HEADROOM  # 23,552 bytes

DEPLOYABLES = sorted(CONTRACTS_DIR.glob("*.vy"))


def runtime_size(path: Path) -> int:
    """Bytes of runtime code of ``path``: its committed artifact's, or a fresh compile's when it has none."""
    if path.parent == CONTRACTS_DIR and path.stem in ARTIFACT_NAMES:
        return len(load_artifact(path.stem).runtime)
    return len(bytes.fromhex(compile_contract(path)["deployedBytecode"].removeprefix("0x")))


def test_every_deployable_has_an_artifact() -> None:
    """So every deployable is measured from the artifact ``test_artifacts.py`` keeps equal to its source."""
    assert {path.stem for path in DEPLOYABLES} <= set(ARTIFACT_NAMES)


def test_every_deployable_is_listed() -> None:
    names = {path.stem for path in DEPLOYABLES}
    assert {"Registry", "Catalog", "Market", "UseRights", "Reputation", "DemoToken"} <= names
    assert {"RewardToken", "Streams", "Consent", "Shop"} <= names
    assert "Points" in names
    assert "ComputeJobs" in names
    assert "Collaboration" in names
    assert "Anchors" in names
    assert not (CONTRACTS_DIR / "mocks" / "Market.vy").exists()


@pytest.mark.parametrize("path", DEPLOYABLES, ids=[path.stem for path in DEPLOYABLES])
def test_runtime_bytecode_keeps_a_kib_under_eip170(path: Path) -> None:
    size = runtime_size(path)
    assert 0 < size <= MAX_RUNTIME, f"{path.name}: {size:,} bytes of runtime code, limit {MAX_RUNTIME:,}"


@pytest.mark.slow  # compiles an oversized contract (about 20 s); CI runs it
def test_the_check_would_catch_an_oversized_contract(tmp_path: Path) -> None:
    """A contract padded past the limit is measured above it: the size check is not vacuous."""
    source = "# pragma version ~=0.4.3\n" + "".join(
        f"@external\n@view\ndef f{i}(x: uint256) -> uint256:\n    return x * {i + 2} + {i * 7919} - x // {i + 3}\n\n"
        for i in range(400)
    )
    path = tmp_path / "Huge.vy"
    path.write_text(source)
    assert runtime_size(path) > MAX_RUNTIME
