"""One behaviour suite for the :class:`~datagora.chain.client.Chain` interface, written once and run on every
backend (the embedded EVM and Anvil), in the manner of web3.py's ``EthModuleTest``: nothing above ``chain/``
may depend on which backend it has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.exceptions import Web3RPCError

from datagora.chain.artifacts import load_artifact
from datagora.chain.client import Chain, RpcChain
from datagora.domain.errors import ChainError, InsufficientFunds, TransactionReverted
from tests.conftest import BACKENDS, make_chain

ETHER = 10**18


@pytest.fixture(scope="module", params=BACKENDS)
def base_chain(request: pytest.FixtureRequest) -> Chain:
    return make_chain(request.param, request)


@pytest.fixture()
def chain(base_chain: Chain) -> Iterator[Chain]:
    snap = base_chain.snapshot()
    yield base_chain
    base_chain.revert(snap)


@pytest.fixture()
def funded(chain: Chain) -> LocalAccount:
    account = Account.create()
    chain.fund(account.address, 5 * ETHER)
    return account


def test_identity_and_blocks(chain: Chain) -> None:
    assert chain.chain_id > 0
    number = chain.block_number()
    assert number >= 0
    assert chain.block_timestamp(number) > 1_600_000_000
    h = chain.block_hash(number)
    assert h is not None and h.startswith("0x") and len(h) == 66
    assert chain.block_hash(number + 1000) is None
    assert chain.now() >= chain.block_timestamp(number)


def test_fund_and_transfer(chain: Chain, funded: LocalAccount) -> None:
    assert chain.balance(funded.address) == 5 * ETHER
    other = Account.create().address
    before = chain.block_number()
    receipt = chain.transact(funded, to=other, value=ETHER)
    assert int(receipt["status"]) == 1 and chain.block_number() > before
    assert chain.balance(other) == ETHER
    assert chain.balance(funded.address) < 4 * ETHER  # gas was paid


def test_deploy_call_and_revert_reason(chain: Chain, funded: LocalAccount) -> None:
    art = load_artifact("DemoToken")
    receipt = chain.deploy(funded, art.abi, art.bytecode, "Test", "TST")
    address = receipt["contractAddress"]
    assert chain.code(address).startswith(art.runtime[:32])
    token = chain.w3.eth.contract(address=address, abi=art.abi)
    assert chain.call(token.functions.symbol()) == "TST"
    stranger = Account.create()
    chain.fund(stranger.address, ETHER)
    with pytest.raises(TransactionReverted) as exc:  # only the owner or a minter mints
        chain.transact(stranger, token.functions.mint(stranger.address, 1))
    assert exc.value.reason  # the contract's message, not a node's raw text
    before = chain.balance(funded.address)
    chain.transact(funded, token.functions.mint(stranger.address, 7))
    assert chain.call(token.functions.balanceOf(stranger.address)) == 7
    assert chain.balance(funded.address) < before


def test_insufficient_funds_is_a_plain_validation_error(chain: Chain, funded: LocalAccount) -> None:
    poor = Account.create()
    before = chain.block_number()
    for sender, value in ((poor, ETHER), (funded, 6 * ETHER)):  # nothing at all; more than it holds
        with pytest.raises(InsufficientFunds, match="holds too little ether"):
            chain.transact(sender, to=Account.create().address, value=value)
    assert chain.block_number() == before and chain.balance(funded.address) == 5 * ETHER


def test_snapshot_revert_and_time(chain: Chain, funded: LocalAccount) -> None:
    snap = chain.snapshot()
    other = Account.create().address
    chain.transact(funded, to=other, value=ETHER)
    assert chain.balance(other) == ETHER
    chain.revert(snap)
    assert chain.balance(other) == 0
    t0 = chain.block_timestamp(chain.block_number())
    chain.advance_time(3_600)
    chain.transact(funded, to=other, value=1)  # a new block after the jump
    assert chain.block_timestamp(chain.block_number()) >= t0 + 3_600


def test_unreachable_node_is_a_chain_error() -> None:
    with pytest.raises(ChainError):
        RpcChain("http://127.0.0.1:9", timeout=2).block_number()


def test_a_fixed_gas_limit_skips_the_estimate_and_still_reports_reverts(
    chain: Chain, funded: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    art = load_artifact("DemoToken")
    token_address = chain.deploy(funded, art.abi, art.bytecode, "Test", "TST")["contractAddress"]
    token = chain.w3.eth.contract(address=token_address, abi=art.abi)
    stranger = Account.create()
    chain.fund(stranger.address, ETHER)
    estimates: list[object] = []
    real_estimate = chain.w3.eth.estimate_gas
    monkeypatch.setattr(chain.w3.eth, "estimate_gas", lambda *a, **k: estimates.append(a) or real_estimate(*a, **k))
    chain.fixed_gas = 3_000_000
    try:
        receipt = chain.transact(funded, token.functions.mint(stranger.address, 7))
        assert chain.w3.eth.get_transaction(receipt["transactionHash"])["gas"] == 3_000_000
        with pytest.raises(TransactionReverted) as exc:  # mined this time, and reported from the receipt
            chain.transact(stranger, token.functions.mint(stranger.address, 1))
        assert exc.value.reason
    finally:
        chain.fixed_gas = None
    assert estimates == [] and chain.call(token.functions.balanceOf(stranger.address)) == 7


def test_a_known_gas_send_counts_nonces_locally_and_reports_reverts(chain: Chain, funded: LocalAccount) -> None:
    art = load_artifact("DemoToken")
    token_address = chain.deploy(funded, art.abi, art.bytecode, "Test", "TST")["contractAddress"]
    token = chain.w3.eth.contract(address=token_address, abi=art.abi)
    other = Account.create()
    mint = bytes.fromhex(token.functions.mint(other.address, 5)._encode_transaction_data()[2:])

    def send() -> int:
        sent = chain.send_known(funded, token_address, mint, gas=200_000, label="DemoToken.mint")
        assert sent.status == 1 and sent.logs  # the Transfer event comes back with the receipt
        return chain.w3.eth.get_transaction(sent.tx_hash)["gas"]

    assert send() == 200_000  # the limit given, no estimate
    chain.transact(funded, to=other.address, value=1)  # the ordinary path takes the next nonce
    snap = chain.snapshot()
    send()
    chain.revert(snap)  # the nonce goes back with the state
    send()
    assert chain.call(token.functions.balanceOf(other.address)) == 10
    chain.fund(other.address, ETHER)
    stranger_mint = bytes.fromhex(token.functions.mint(other.address, 1)._encode_transaction_data()[2:])
    before = chain.block_number()
    with pytest.raises(TransactionReverted) as exc:  # only the owner or a minter mints: mined, then reported
        chain.send_known(other, token_address, stranger_mint, gas=200_000, label="DemoToken.mint")
    assert exc.value.reason and "out of gas" not in exc.value.reason
    assert chain.block_number() > before and chain.call(token.functions.balanceOf(other.address)) == 10


def test_a_receipt_the_node_has_indexed_but_not_stored_yet_is_waited_for(
    chain: Chain, funded: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """@ethereumjs/client answers "value for 0x… not found in DB" for a transaction indexed in a block it has not
    executed yet (or one a fork dropped): the client keeps polling instead of failing a transaction that lands."""
    real_receipt = chain.w3.eth.get_transaction_receipt
    misses: list[object] = []

    def flaky(tx_hash: object) -> object:
        if len(misses) < 3:
            misses.append(tx_hash)
            raise Web3RPCError("{'code': -32603, 'message': 'value for 0xe215f884 not found in DB'}")
        return real_receipt(tx_hash)  # type: ignore[arg-type]

    monkeypatch.setattr(chain.w3.eth, "get_transaction_receipt", flaky)
    other = Account.create().address
    receipt = chain.transact(funded, to=other, value=ETHER)
    assert int(receipt["status"]) == 1 and len(misses) == 3
    assert chain.balance(other) == ETHER


def test_any_other_node_error_while_waiting_for_a_receipt_is_a_chain_error(
    chain: Chain, funded: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(tx_hash: object) -> object:
        raise Web3RPCError("{'code': -32603, 'message': 'internal error'}")

    monkeypatch.setattr(chain.w3.eth, "get_transaction_receipt", broken)
    with pytest.raises(ChainError, match="internal error"):
        chain.transact(funded, to=Account.create().address, value=ETHER)


def test_a_transaction_the_node_dropped_is_sent_again_and_mined_once(
    chain: Chain, funded: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proof-of-authority node can drop a pending transaction (its block lost a fork): with no receipt after
    ``resend_after`` seconds the same signed bytes go out again; they are mined once, and sending them again after
    that (the node answers "already known" or "nonce too low") is not an error."""
    real_send = chain.w3.eth.send_raw_transaction
    sends: list[bytes] = []

    def lossy(raw: bytes) -> object:
        sends.append(bytes(raw))
        if len(sends) == 1:  # the node took it and then lost it
            from eth_utils import keccak

            return keccak(raw)
        return real_send(raw)

    real_receipt = chain.w3.eth.get_transaction_receipt
    polls: list[object] = []

    def slow_to_show(tx_hash: object) -> object:
        polls.append(tx_hash)
        if len(polls) <= 8:  # the node shows the receipt late: sends after it was mined are refused meanwhile
            from web3.exceptions import TransactionNotFound

            raise TransactionNotFound("not yet")
        return real_receipt(tx_hash)  # type: ignore[arg-type]

    monkeypatch.setattr(chain.w3.eth, "send_raw_transaction", lossy)
    monkeypatch.setattr(chain.w3.eth, "get_transaction_receipt", slow_to_show)
    monkeypatch.setattr(chain, "resend_after", 0.05)
    other = Account.create().address
    before = chain.w3.eth.get_transaction_count(funded.address)
    receipt = chain.transact(funded, to=other, value=ETHER)
    assert int(receipt["status"]) == 1 and len(sends) >= 3 and len(set(sends)) == 1
    assert chain.balance(other) == ETHER
    assert chain.w3.eth.get_transaction_count(funded.address) == before + 1
    with pytest.raises(Exception):  # noqa: B017 - the node refuses the mined bytes (its words differ)
        real_send(sends[0])


def test_the_fast_path_sends_a_dropped_transaction_again(chain: Chain, funded: LocalAccount) -> None:
    from datagora.chain.fastpath import Call, FastPath

    chain.resend_after = 0.05
    try:
        fast = FastPath(chain, funded)
        other = Account.create().address
        ((raw, tx_hash),) = fast.sign_many([Call(other, b"", ETHER, "transfer", 21_000)])
        # signed but never delivered, as if the node lost it: the wait sends it again
        (sent,) = fast.receipts([tx_hash], raws={tx_hash: raw})
        assert sent.status == 1 and chain.balance(other) == ETHER
        with pytest.raises(ChainError, match="not mined"):
            fast.receipt_timeout = 0.3  # without the signed bytes nothing can be sent again
            ((_, lost),) = fast.sign_many([Call(other, b"", ETHER, "transfer", 21_000)])
            fast.receipts([lost])
    finally:
        chain.resend_after = 15.0
