"""The fast client path (datagora.chain.fastpath): coincurve signing byte-identical to eth-account, local nonces,
the gas table with an estimate kept for unknown functions, eth_sendRawTransactionSync detected on Anvil with the
fallback elsewhere, bulk sends in JSON-RPC batches with batched receipts, and errors in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.chain.client import EmbeddedChain, RpcChain
from datagora.chain.devnode import AnvilNode
from datagora.chain.fastpath import Call, FastPath
from datagora.domain.errors import ChainError, InsufficientFunds, TransactionReverted
from tests.world import World

ETHER = 10**18
SINK = "0x" + "11" * 20


@pytest.fixture(scope="module")
def anvil_chain(anvil_url: str) -> RpcChain:
    return RpcChain(anvil_url)


@pytest.fixture
def sender(anvil_chain: RpcChain) -> Iterator[LocalAccount]:
    snap = anvil_chain.snapshot()
    account = Account.create()
    anvil_chain.fund(account.address, 10 * ETHER)
    yield account
    anvil_chain.revert(snap)


def test_signatures_match_eth_account_byte_for_byte() -> None:
    chain = EmbeddedChain()
    account = Account.create()
    fast = FastPath(chain, account)
    max_fee, tip = fast.fees()
    calls = [
        Call(SINK, b"", 5),
        Call(SINK, bytes(range(200)), 0, gas=90_000),
        Call(None, b"\x60\x00"),
        Call(SINK, b"\x7f", 10**18),  # one byte below 0x80 is its own RLP encoding
        Call(SINK, b"\x80", 127),
        Call(SINK, bytes(55), 128),  # the short/long RLP string boundary
        Call(SINK, bytes(56), 2**255),
        Call(SINK, bytes(70_000), 1),  # a length that takes three bytes
    ]
    for nonce, call in zip([0, 1, 127, 128, 255, 256, 70_000, 2**40], calls, strict=True):
        raw, tx_hash = fast.sign(call, nonce)
        reference = account.sign_transaction(
            {
                "type": 2,
                "chainId": chain.chain_id,
                "nonce": nonce,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
                "gas": fast.gas_for(call),
                "value": call.value,
                "data": call.data,
                **({"to": call.to} if call.to else {}),
            }
        )
        assert raw == bytes(reference.raw_transaction)
        assert tx_hash == "0x" + bytes(reference.hash).hex()


def test_the_embedded_chain_falls_back_from_the_sync_method() -> None:
    chain = EmbeddedChain()
    account = Account.create()
    chain.fund(account.address, ETHER)
    fast = FastPath(chain, account)
    sent = fast.send(Call(SINK, value=7))
    assert fast.sync_supported is False
    assert sent.status == 1 and sent.gas_used == 21_000
    assert chain.balance(SINK) == 7


@pytest.mark.anvil
def test_anvil_answers_the_sync_method_and_nonces_count_locally(anvil_chain: RpcChain, sender: LocalAccount) -> None:
    fast = FastPath(anvil_chain, sender)
    first = fast.send(Call(SINK, value=1))
    assert fast.sync_supported is True
    second = fast.send(Call(SINK, value=2))
    assert (first.status, second.status) == (1, 1)
    assert fast.nonce == 2 == anvil_chain.w3.eth.get_transaction_count(sender.address)


@pytest.mark.anvil
def test_bulk_sends_in_batches_and_fetches_receipts_in_order(anvil_chain: RpcChain, sender: LocalAccount) -> None:
    fast = FastPath(anvil_chain, sender, batch_size=7, window=9)
    before = anvil_chain.balance(SINK)
    sent = fast.send_many([Call(SINK, value=i + 1) for i in range(20)])
    assert len(sent) == 20 and all(s.status == 1 for s in sent)
    assert len({s.tx_hash for s in sent}) == 20
    assert anvil_chain.balance(SINK) - before == sum(range(1, 21))
    assert fast.nonce == 20 == anvil_chain.w3.eth.get_transaction_count(sender.address)
    numbers = [anvil_chain.w3.eth.get_transaction(s.tx_hash)["nonce"] for s in (sent[0], sent[-1])]  # type: ignore[arg-type]
    assert numbers == [0, 19]


@pytest.mark.anvil
def test_a_node_that_mines_on_demand_gets_a_block_per_window(anvil_chain: RpcChain, sender: LocalAccount) -> None:
    with AnvilNode("--silent", "--no-mining") as node:
        chain = RpcChain(node.url)
        fast = FastPath(chain, sender, batch_size=4, window=10, mine=True)
        fast._result("anvil_setBalance", [sender.address, hex(ETHER)])
        sent = fast.send_many([Call(SINK, value=i + 1) for i in range(25)])
        assert [s.status for s in sent] == [1] * 25
        assert len({s.block_number for s in sent}) == 3  # windows of 10, 10 and 5
        assert chain.balance(SINK) == sum(range(1, 26))
        fast.close()


@pytest.mark.anvil
def test_a_refused_batch_stops_the_rest_and_resets_the_nonce(anvil_chain: RpcChain) -> None:
    broke = Account.create()
    fast = FastPath(anvil_chain, broke, batch_size=2, window=4)
    with pytest.raises(InsufficientFunds, match="holds too little ether"):
        fast.send_many([Call(SINK, value=ETHER) for _ in range(12)])
    assert fast._nonce is None
    assert anvil_chain.w3.eth.get_transaction_count(broke.address, "pending") == 0


@pytest.mark.anvil
def test_an_unknown_function_is_estimated_once_and_kept(anvil_chain: RpcChain, sender: LocalAccount) -> None:
    fast = FastPath(anvil_chain, sender)
    call = Call(SINK, b"\x01\x02", label="Sink.poke")
    assert "Sink.poke" not in fast.gas_table
    estimate = anvil_chain.w3.eth.estimate_gas({"from": sender.address, "to": SINK, "data": b"\x01\x02"})
    gas = fast.gas_for(call)
    assert gas == int(estimate * 1.2) > 21_000
    assert fast.gas_table["Sink.poke"] == gas
    assert fast.send(call).gas_used == estimate


def test_a_revert_reads_as_the_contract_s_reason(world: World) -> None:
    anchors = world.contracts.anchors
    fast = FastPath(world.chain, world.outsider.account)
    call = Call(anchors.address, anchors.anchor_call(b"\x01" * 32, 1, "x"), label="Anchors.anchor")
    with pytest.raises(TransactionReverted, match="anchors: not audited"):
        fast.send(call)
    with pytest.raises(TransactionReverted, match="anchors: not audited"):
        fast.send_many([call, call])


@pytest.mark.anvil
def test_a_broke_sender_gets_a_plain_error_and_a_fresh_nonce(anvil_chain: RpcChain) -> None:
    fast = FastPath(anvil_chain, Account.create())
    with pytest.raises(InsufficientFunds, match="holds too little ether"):
        fast.send(Call(SINK, value=ETHER))
    assert fast._nonce is None  # read from the node again before the next send


def test_an_unreachable_node_is_a_chain_error() -> None:
    chain = EmbeddedChain()
    fast = FastPath(chain, Account.create())
    fast._url = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(ChainError, match="cannot reach the chain node"):
        fast.send(Call(SINK, value=1))
