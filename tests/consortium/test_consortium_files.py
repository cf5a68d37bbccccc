"""The consortium's genesis and its files, without starting a node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagora.chain.consortium import Consortium, clique_genesis
from datagora.domain.errors import ChainError, ValidationError

A, B = "0x" + "bb" * 20, "0x" + "AA" * 20


def test_the_genesis_lists_the_signers_in_extradata_sorted_and_funds_the_accounts() -> None:
    genesis = clique_genesis([A, B], {A: 5, "0x" + "cc" * 20: 7}, chain_id=9, period=3, timestamp=100)
    extra = bytes.fromhex(genesis["extraData"].removeprefix("0x"))
    assert len(extra) == 32 + 2 * 20 + 65
    assert extra[32:72] == bytes.fromhex("aa" * 20 + "bb" * 20)  # ascending, as EIP-225 requires
    assert genesis["config"]["clique"] == {"period": 3, "epoch": 30000}
    assert genesis["config"]["londonBlock"] == 0 and "shanghaiTime" not in genesis["config"]
    assert genesis["alloc"] == {"bb" * 20: {"balance": "0x5"}, "cc" * 20: {"balance": "0x7"}}
    assert genesis["timestamp"] == "0x64" and genesis["config"]["chainId"] == 9


def test_bad_genesis_input_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one signer"):
        clique_genesis([], {}, chain_id=1, period=1)
    with pytest.raises(ValidationError, match="not an Ethereum address"):
        clique_genesis(["0x1234"], {}, chain_id=1, period=1)


def test_a_network_is_created_once_with_its_keys_private(tmp_path: Path) -> None:
    network = Consortium(tmp_path / "net")
    with pytest.raises(ChainError, match="no consortium"):
        network.signers()
    made = network.create(3, {A: 1})
    assert [s.index for s in made] == [0, 1, 2] and len({s.rpc_port for s in made}) == 3
    assert network.signers() == made
    for s in made:
        assert (network.signer_dir(s.index) / "key").stat().st_mode & 0o777 == 0o600
        assert network.pid(s.index) is None
    funded = json.loads(network.network_file.read_text())["funded"]
    assert set(funded) == {A, *(s.address for s in made)}
    with pytest.raises(ChainError, match="already exists"):
        network.create(3)
    with pytest.raises(ValidationError, match="no signer 5"):
        network.stop(5)
    assert [st.running for st in network.status()] == [False, False, False]
    network.destroy()
    assert not network.data_dir.exists()
