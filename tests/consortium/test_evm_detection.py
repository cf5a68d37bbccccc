"""Datagora picks its contract build from the chain's EVM: the Prague build where PUSH0, MCOPY and transient
storage exist, the London build on a chain that stops before Shanghai (a Clique network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from datagora.chain.artifacts import ARTIFACT_DIR, DEFAULT_EVM, EVM_VERSIONS, Artifact, load_artifact
from datagora.chain.bindings.tokens import TokensBinding
from datagora.chain.client import EmbeddedChain, RpcChain
from datagora.chain.devnode import AnvilNode
from datagora.domain.errors import ChainError, DeploymentError

ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Anvil's first dev account


@pytest.fixture(scope="module")
def london_anvil() -> Iterator[RpcChain]:
    with AnvilNode("--hardfork", "london") as node:
        yield RpcChain(node.url)


def test_the_two_builds_share_an_interface_but_not_their_code() -> None:
    assert EVM_VERSIONS == ("prague", "london") and DEFAULT_EVM == "prague"
    prague, london = load_artifact("Market"), load_artifact("Market", "london")
    assert prague.abi == london.abi
    assert 0x5F not in _opcodes(_code_section(london))  # no PUSH0 in the London build
    assert 0x5F in _opcodes(_code_section(prague))


@pytest.mark.parametrize("name", sorted(p.stem for p in (ARTIFACT_DIR / "london").glob("*.json")))
def test_no_london_build_uses_an_opcode_london_lacks(name: str) -> None:
    """PUSH0 (Shanghai), TLOAD / TSTORE / MCOPY (Cancun) appear nowhere in a London build's code; the data
    section after the code (the selector table) is not read as opcodes."""
    assert not _opcodes(_code_section(load_artifact(name, "london"))) & {0x5C, 0x5D, 0x5E, 0x5F}


def test_an_unknown_evm_is_refused() -> None:
    with pytest.raises(DeploymentError, match="no contract build for the 'paris' EVM"):
        load_artifact("Market", "paris")


def test_the_embedded_chain_runs_the_prague_build_without_asking() -> None:
    assert EmbeddedChain().evm_version == "prague"


@pytest.mark.anvil
def test_a_london_chain_is_detected_and_gets_the_london_build(london_anvil: RpcChain) -> None:
    assert london_anvil.evm_version == "london"
    owner = Account.from_key(ANVIL_KEY)
    token = TokensBinding.deploy_demo(london_anvil, owner)
    code = london_anvil.code(token)
    assert code.startswith(load_artifact("DemoToken", "london").runtime[:64])
    # the Prague build is what a London chain cannot run
    art = load_artifact("DemoToken")
    with pytest.raises(ChainError):
        london_anvil.deploy(owner, art.abi, art.bytecode, "Broken", "BRK")


@pytest.mark.anvil
def test_a_prague_chain_is_detected(anvil_url: str) -> None:
    assert RpcChain(anvil_url).evm_version == "prague"


def _code_section(artifact: Artifact) -> bytes:
    """The runtime code without the data section Vyper appends to it (the selector buckets), whose bytes are
    not instructions. Vyper 0.4 ends the deployment bytecode with CBOR metadata and its length (the two length
    bytes included): [integrity hash, runtime size, [data section sizes], immutables size, {"vyper": version}]."""
    import cbor2  # a dependency of the Vyper compiler (tests only)

    trailer = int.from_bytes(artifact.bytecode[-2:], "big")
    _, runtime_size, data_sizes, _, compiler = cbor2.loads(artifact.bytecode[-trailer:-2])
    assert "vyper" in compiler and runtime_size == len(artifact.runtime)
    return artifact.runtime[: runtime_size - sum(data_sizes)]


def _opcodes(code: bytes) -> set[int]:
    """The opcodes of ``code`` (instructions only: see :func:`_code_section`), skipping PUSH data."""
    seen, i = set(), 0
    while i < len(code):
        op = code[i]
        seen.add(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return seen
