"""Compiled contract artifacts (ABI + bytecode JSON) built from ``contracts/*.vy`` with the vyper package.

The artifacts ship inside the package so that ``pip install datagora`` needs no compiler; ``python -m
datagora.chain.artifacts`` rebuilds them from the sources (needs the ``build`` extra: vyper 0.4.3 + snekmate),
and a test fails when the committed artifacts differ from a fresh compile.

Two sets are kept: the Prague build (Vyper's default target, in ``artifacts/``), and a London build (in
``artifacts/london/``) for chains whose EVM stops before Shanghai, such as Clique proof-of-authority networks,
which end at the Merge. The London build has no ``PUSH0`` (EIP-3855), ``MCOPY`` (EIP-5656) or transient storage
(EIP-1153): Vyper then keeps ``@nonreentrant`` locks in an ordinary storage slot, which costs more gas per locked
call. :meth:`datagora.chain.client.Chain.evm_version` says which set a chain runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from datagora.domain.errors import DeploymentError

CONTRACT_NAMES: tuple[str, ...] = (
    "Registry",
    "Catalog",
    "Market",
    "UseRights",
    "Reputation",
    "RewardToken",
    "Streams",
    "Consent",
    "Shop",
    "BrandPoints",
    "Points",
    "ComputeJobs",
    "Collaboration",
    "Anchors",
)
"""The contract set every deployment holds."""
AUXILIARY_NAMES: tuple[str, ...] = ("DemoToken",)
"""Contracts shipped as artifacts but deployed on demand (an ERC-20 for the demo and tests)."""
ARTIFACT_NAMES: tuple[str, ...] = CONTRACT_NAMES + AUXILIARY_NAMES
ARTIFACT_DIR = Path(__file__).parent / "artifacts"
EVM_VERSIONS: tuple[str, ...] = ("prague", "london")
"""The EVM targets an artifact set is built for, newest first; ``prague`` is the default."""
DEFAULT_EVM = "prague"


def artifact_dir(evm_version: str = DEFAULT_EVM) -> Path:
    """Where the artifact set for ``evm_version`` lives: ``artifacts/`` for Prague, ``artifacts/<version>/``
    for the others. :class:`DeploymentError` for a target no set is built for."""
    if evm_version not in EVM_VERSIONS:
        raise DeploymentError(f"no contract build for the {evm_version!r} EVM; built: {', '.join(EVM_VERSIONS)}")
    return ARTIFACT_DIR if evm_version == DEFAULT_EVM else ARTIFACT_DIR / evm_version


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: ``abi`` (JSON ABI), ``bytecode`` (creation code), ``runtime`` (runtime code
    without immutables), ``source_sha256`` of the ``.vy`` file and the compiler version."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    runtime: bytes
    source_sha256: str
    compiler: str


def source_dir() -> Path:
    """The repository's ``contracts/`` directory (exists in a source checkout only)."""
    return Path(__file__).resolve().parents[3] / "contracts"


def compile_contract(path: Path, evm_version: str = DEFAULT_EVM) -> dict[str, Any]:
    """Compile one Vyper file for ``evm_version`` to an artifact dict. Raises ``ImportError`` without the
    ``build`` extra.

    The file's own directory is a search path, and relative imports (``from .modules import escrow``,
    ``from .interfaces import IRegistry``) resolve against its absolute path; the output does not depend on
    where the checkout lives."""
    import vyper
    from vyper.cli.vyper_compile import get_search_paths
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings

    path = path.resolve()
    source = path.read_text()
    bundle = FilesystemInputBundle([path.parent, *get_search_paths()])
    out = vyper.compile_code(
        source,
        contract_path=path,
        input_bundle=bundle,
        output_formats=["abi", "bytecode", "bytecode_runtime"],
        settings=Settings(evm_version=evm_version),
    )
    return {
        "contractName": path.stem,
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "compiler": f"vyper-{vyper.__version__}",
    }


def build(out_dir: Path = ARTIFACT_DIR, src_dir: Path | None = None, evm_version: str = DEFAULT_EVM) -> list[Path]:
    """Compile every contract in ``src_dir`` for ``evm_version`` and write ``<Name>.json`` into ``out_dir``."""
    src = src_dir or source_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ARTIFACT_NAMES:
        artifact = compile_contract(src / f"{name}.vy", evm_version)
        target = out_dir / f"{name}.json"
        target.write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n")
        written.append(target)
    load_artifact.cache_clear()
    return written


def build_all(src_dir: Path | None = None) -> list[Path]:
    """Rebuild every artifact set of :data:`EVM_VERSIONS` in place (``python -m datagora.chain.artifacts``)."""
    return [p for evm in EVM_VERSIONS for p in build(artifact_dir(evm), src_dir, evm)]


@cache
def load_artifact(name: str, evm_version: str = DEFAULT_EVM) -> Artifact:
    """Load a packaged artifact of the ``evm_version`` set. Raises ``DeploymentError`` when it is missing or
    malformed, or no set is built for ``evm_version``."""
    path = artifact_dir(evm_version) / f"{name}.json"
    try:
        raw = json.loads(path.read_text())
        return Artifact(
            name=name,
            abi=raw["abi"],
            bytecode=bytes.fromhex(raw["bytecode"].removeprefix("0x")),
            runtime=bytes.fromhex(raw["deployedBytecode"].removeprefix("0x")),
            source_sha256=raw["sourceSha256"],
            compiler=raw["compiler"],
        )
    except (OSError, KeyError, ValueError) as exc:
        raise DeploymentError(f"contract artifact {path} missing or malformed: {exc}") from exc


if __name__ == "__main__":
    for p in build_all():
        print(p)
