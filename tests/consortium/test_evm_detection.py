"""Datagora picks its contract build from the chain's EVM: the Prague build where PUSH0, MCOPY and transient
storage exist, the London build on a chain that stops before Shanghai (a Clique network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from datagora.chain.artifacts import DEFAULT_EVM, EVM_VERSIONS, load_artifact
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
    assert 0x5F not in _opcodes(london.runtime)  # no PUSH0 in the London build
    assert 0x5F in _opcodes(prague.runtime)


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


def _opcodes(code: bytes) -> set[int]:
    """The opcodes of ``code``, skipping PUSH data (stops at the first INVALID, 0xfe, where data begins)."""
    seen, i = set(), 0
    while i < len(code):
        op = code[i]
        if op == 0xFE:
            break
        seen.add(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return seen
