"""One chain interface, two backends: an in-process EVM (web3.py + eth-tester on py-evm) and any Ethereum
JSON-RPC endpoint (Anvil in tests, Besu / Geth in production).

Transactions are signed locally with eth-account and sent raw, so the node never holds user keys. Gas is
estimated before sending, which also surfaces a revert before anything is mined: either way a revert raises
:class:`~datagora.domain.errors.TransactionReverted` carrying the contract's reason text.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from requests.exceptions import RequestException
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import RPCEndpoint, TxParams, TxReceipt, Wei

from datagora.domain.errors import ChainError, InsufficientFunds, TransactionReverted

T = TypeVar("T")

_REVERT_PREFIX = re.compile(r"^(?:execution reverted:?\s*)", re.IGNORECASE)
_MISSING_IN_DB = re.compile(r"not found in DB")


def revert_reason(exc: BaseException) -> str:
    """The revert message of a web3 / eth-tester exception, without the ``execution reverted:`` prefix."""
    msg = getattr(exc, "message", None) or (exc.args[0] if exc.args else str(exc))
    if isinstance(msg, bytes):
        msg = msg.decode(errors="replace")
    text = _REVERT_PREFIX.sub("", str(msg)).strip()
    return text or "reverted without a reason"


def _is_revert(exc: BaseException) -> bool:
    if isinstance(exc, ContractLogicError):
        return True
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # pragma: no cover - eth-tester is a core dependency
        return False
    return isinstance(exc, TransactionFailed)


class Chain:
    """A connection to one EVM chain.

    Use :class:`EmbeddedChain` or :class:`RpcChain`; code above ``chain/`` never needs to know which.
    ``gas_limit_factor`` pads estimated gas (the estimate is exact on both backends, but a state change between
    estimate and inclusion can raise the cost on a shared chain).
    """

    kind = "abstract"

    def __init__(
        self,
        w3: Web3,
        *,
        gas_limit_factor: float = 1.2,
        receipt_timeout: float = 120.0,
        resend_after: float = 15.0,
    ) -> None:
        self.w3 = w3
        self.gas_limit_factor = gas_limit_factor
        self.resend_after = resend_after
        """Seconds without a receipt after which a signed transaction is sent again, and again each as long: a
        proof-of-authority node drops a transaction from its pool when the block that held it loses a fork and
        does not put it back (@ethereumjs/client), so it would otherwise never be mined. The bytes are the same
        (same nonce, same hash), so it can be mined once at most."""
        self.fixed_gas: int | None = None
        """When set, every transaction without an explicit ``gas`` gets this limit instead of an estimate (the
        embedded chain's estimate is a binary search that replays the call ~10 times; ``serve --dev`` sets it while
        it builds its network). A revert is then mined and reported from the receipt."""
        self.receipt_timeout = receipt_timeout
        self._chain_id: int | None = None
        self._tip: int | None = None
        self._evm_version: str | None = None
        self._fast: dict[str, tuple[Any, threading.Lock]] = {}
        """Per sending account: its :class:`~datagora.chain.fastpath.FastPath` and the lock its sends take."""
        self._fast_lock = threading.Lock()
        self.settled: dict[str, dict[Any, Any]] = {}
        """Answers of view calls that can never change once given (e.g. an account's published public key), kept
        per kind; emptied when a development chain reverts to a snapshot."""

    # -- reading -----------------------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._rpc(lambda: int(self.w3.eth.chain_id))
        return self._chain_id

    def block_number(self) -> int:
        return self._rpc(lambda: int(self.w3.eth.block_number))

    @property
    def evm_version(self) -> str:
        """Which contract build this chain runs: ``"prague"`` when its EVM has ``PUSH0`` (EIP-3855), ``MCOPY``
        (EIP-5656) and transient storage (EIP-1153), else ``"london"`` (a chain that stops before Shanghai, such
        as a Clique network). Found once per connection by an ``eth_call`` of the creation code
        ``PUSH0 PUSH0 PUSH0 MCOPY PUSH0 PUSH0 TSTORE STOP``, which an older EVM rejects as an invalid opcode.
        Raises :class:`ChainError` when the node cannot be reached."""
        if self._evm_version is None:
            self._evm_version = self._probe_evm()
        return self._evm_version

    def _probe_evm(self) -> str:
        try:
            self.w3.eth.call({"data": _CANCUN_PROBE})
        except (RequestException, ConnectionError, OSError) as exc:
            raise self._wrap(exc) from exc
        except Exception:
            return "london"
        return "prague"

    def now(self) -> int:
        """Timestamp (seconds) of the latest block."""
        return self._rpc(lambda: int(self.w3.eth.get_block("latest")["timestamp"]))

    def block_timestamp(self, number: int) -> int:
        return self._rpc(lambda: int(self.w3.eth.get_block(number)["timestamp"]))

    def block_hash(self, number: int) -> str | None:
        """0x-hex hash of block ``number``, or None when the chain has no such block (yet)."""

        def get() -> str | None:
            try:
                block = self.w3.eth.get_block(number)
            except BlockNotFound:
                return None
            return "0x" + bytes(block["hash"]).hex()

        return self._rpc(get)

    def balance(self, address: str) -> int:
        """Balance in wei."""
        return self._rpc(lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def code(self, address: str) -> bytes:
        return self._rpc(lambda: bytes(self.w3.eth.get_code(Web3.to_checksum_address(address))))

    def call(self, fn: ContractFunction, transaction: TxParams | None = None) -> Any:
        """Run a view function (or a state-changing one without sending it, as ``transaction``'s sender and with
        its value, to learn whether it would revert); a revert raises :class:`TransactionReverted`."""
        try:
            return fn.call(transaction)
        except Exception as exc:
            if _is_revert(exc):
                raise TransactionReverted(revert_reason(exc), fn.fn_name) from exc
            raise self._wrap(exc) from exc

    # -- writing -----------------------------------------------------------------------------------------

    def transact(
        self,
        sender: LocalAccount,
        fn: ContractFunction | None = None,
        *,
        to: str | None = None,
        value: int = 0,
        data: bytes | None = None,
        gas: int | None = None,
    ) -> TxReceipt:
        """Sign with ``sender``'s key, send, wait for the receipt.

        Either ``fn`` (a bound contract function) or ``to``/``data`` (plain transfer or deployment when ``to``
        is None). ``value`` in wei. Raises :class:`TransactionReverted` (nothing is mined when the estimate
        already reverts) or :class:`ChainError` when the node fails.
        """
        label = fn.fn_name if fn is not None else ("deploy" if to is None else "transfer")
        params: TxParams = {"from": sender.address, "value": Wei(value), "chainId": self.chain_id}
        if fn is None:
            if to is not None:
                params["to"] = Web3.to_checksum_address(to)
            if data is not None:
                params["data"] = data
        if gas is None and self.fixed_gas is not None:
            gas = params["gas"] = self.fixed_gas  # build_transaction does not estimate when gas is given
        try:
            # fees first: web3 would otherwise ask for eth_feeHistory of the "pending" block, which not every node
            # answers (the ethereumjs client does not)
            base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
            tip = self._priority_fee_cached()
            params["maxPriorityFeePerGas"] = Wei(tip)
            params["maxFeePerGas"] = Wei(2 * base + tip)
            params["type"] = 2  # EIP-1559; without it some nodes estimate a legacy transaction with no gas price
            if fn is not None:
                params = fn.build_transaction(params)  # estimates gas: a revert surfaces here
            if gas is not None:
                params["gas"] = gas
            elif "gas" not in params:
                params["gas"] = self.w3.eth.estimate_gas(params)
            params["gas"] = int(int(params["gas"]) * self.gas_limit_factor) if gas is None else gas
            params["nonce"] = self.w3.eth.get_transaction_count(sender.address, "pending")
            signed = sender.sign_transaction(params)  # type: ignore[arg-type]
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            self._forget_nonce(sender.address)
            receipt = self._wait(tx_hash, signed.raw_transaction)
        except TransactionReverted:
            raise
        except Exception as exc:
            if _is_revert(exc):
                raise TransactionReverted(revert_reason(exc), label) from exc
            raise self._wrap(exc) from exc
        if receipt["status"] != 1:
            raise TransactionReverted(self._replay_reason(params, receipt), label)
        return receipt

    def send_known(self, sender: LocalAccount, to: str, data: bytes, *, gas: int, label: str, value: int = 0) -> Any:
        """Send a transaction whose gas is known in advance (a node's own, frequent transactions, such as a compute
        job's accept and result) in as few round trips as the node allows: signed here with a nonce counted
        locally, explicit ``gas`` (no estimate), fees read at most every 2 seconds, and on a node that has
        ``eth_sendRawTransactionSync`` (EIP-7966) one request that returns the receipt
        (:class:`~datagora.chain.fastpath.FastPath`). Returns the mined :class:`~datagora.chain.fastpath.Sent`.

        Unlike :meth:`transact`, a call that reverts is mined (its gas is spent) before the revert is reported:
        :class:`TransactionReverted` with the contract's reason, read by replaying the call. A nonce taken
        meanwhile by another sender of the same account (another process) is read again and the send retried
        once; :class:`ChainError` when the node refuses it otherwise."""
        from datagora.chain.fastpath import Call

        key = sender.address.lower()
        with self._fast_lock:
            entry = self._fast.get(key)
            if entry is None:
                from datagora.chain.fastpath import FastPath

                entry = self._fast[key] = (FastPath(self, sender), threading.Lock())
        fast, lock = entry
        call = Call(Web3.to_checksum_address(to), data, value, label, gas)
        with lock:
            try:
                return fast.send(call)
            except TransactionReverted:
                raise
            except ChainError as exc:
                if "nonce" not in str(exc).lower():
                    raise
                fast.resync()  # another process sent with this account: read its nonce again
                return fast.send(call)

    def _forget_nonces(self) -> None:
        """After a revert to a snapshot every account's nonce may have gone back (the fast paths read them again) and
        what was settled may be undone."""
        for fast, _ in list(self._fast.values()):
            fast.resync()
        self.settled.clear()

    def _forget_nonce(self, address: str) -> None:
        """After a transaction sent the ordinary way, the fast path's local nonce of ``address`` is stale."""
        entry = self._fast.get(address.lower())
        if entry is not None:
            entry[0].resync()

    def _wait(self, tx_hash: Any, raw: bytes | None = None) -> TxReceipt:
        """Poll for the receipt: at once, then at 5 ms doubling to 250 ms (web3's helper sleeps 100 ms first,
        which caps an automining node at ~10 tx/s per sender). With the signed ``raw`` transaction, send it again
        every :attr:`resend_after` seconds while no receipt comes; a node that answers that it knows it already,
        or that its nonce is taken, is not an error (the poll decides)."""
        started = time.monotonic()
        deadline = started + self.receipt_timeout
        resend_at = started + self.resend_after
        delay = 0.005
        while True:
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                if receipt is not None and receipt.get("blockNumber") is not None:
                    return receipt
            except TransactionNotFound:
                pass
            except Web3RPCError as exc:
                # A node that indexed the transaction in a block it has not executed yet (or in a block a
                # proof-of-authority fork then dropped, until it is mined again) answers "value for 0x… not found
                # in DB" (@ethereumjs/client): the receipt is not there yet, which is not a failure.
                if not _MISSING_IN_DB.search(str(exc)):
                    raise
            now = time.monotonic()
            if now > deadline:
                raise TimeExhausted(f"no receipt for {tx_hash.hex()} after {self.receipt_timeout:.0f} s")
            if raw is not None and now >= resend_at:
                resend_at = now + self.resend_after
                # "already known", or "nonce too low" once mined: not errors, the receipt poll tells
                with contextlib.suppress(Exception):
                    self.w3.eth.send_raw_transaction(raw)
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def deploy(self, sender: LocalAccount, abi: list[dict[str, Any]], bytecode: bytes, *args: Any) -> TxReceipt:
        """Deploy a contract; the receipt's ``contractAddress`` is its address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        return self.transact(sender, to=None, data=bytes.fromhex(data.removeprefix("0x")))

    def fund(self, address: str, wei: int, funder: LocalAccount | None = None) -> None:
        """Send ``wei`` to ``address`` from ``funder`` or, without one, from the node's first unlocked account
        (eth-tester and Anvil have prefunded ones). Raises :class:`ChainError` when neither is available."""
        if funder is not None:
            self.transact(funder, to=address, value=wei)
            return
        accounts = self._rpc(lambda: list(self.w3.eth.accounts))
        if not accounts:
            raise ChainError("the node has no unlocked account to fund from: pass a funded account")
        tx_hash = self._rpc(
            lambda: self.w3.eth.send_transaction(
                {"from": accounts[0], "to": Web3.to_checksum_address(address), "value": Wei(wei)}
            )
        )
        self._rpc(lambda: self._wait(tx_hash))

    # -- dev chains only ---------------------------------------------------------------------------------

    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block (development chains only)."""
        raise ChainError(f"{self.kind} chain cannot move time")

    def snapshot(self) -> Any:
        raise ChainError(f"{self.kind} chain cannot take snapshots")

    def revert(self, snapshot_id: Any) -> None:
        raise ChainError(f"{self.kind} chain cannot revert to snapshots")

    def max_fee_per_gas(self) -> int:
        """Wei per gas a transaction sent now may pay at most (EIP-1559: twice the latest base fee plus the
        priority fee), as :meth:`transact` sets it."""
        base = self._rpc(lambda: int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0))
        return 2 * base + self._priority_fee_cached()

    # -- helpers -----------------------------------------------------------------------------------------

    def _priority_fee_cached(self) -> int:
        """``eth_maxPriorityFeePerGas`` once per connection (1 gwei when the node lacks it)."""
        if self._tip is None:
            try:
                self._tip = int(self.w3.eth.max_priority_fee)
            except Exception:
                self._tip = 10**9
        return self._tip

    def _replay_reason(self, params: TxParams, receipt: TxReceipt) -> str:
        replay = {k: v for k, v in params.items() if k in ("from", "to", "data", "value", "gas")}
        try:
            self.w3.eth.call(replay, receipt["blockNumber"] - 1)  # type: ignore[arg-type]
        except Exception as exc:
            return revert_reason(exc)
        return "transaction failed (out of gas?)"

    def _rpc(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise self._wrap(exc) from exc

    def _wrap(self, exc: BaseException) -> ChainError | InsufficientFunds:
        if isinstance(exc, ChainError):
            return exc
        if _INSUFFICIENT_FUNDS.search(str(exc)):
            return InsufficientFunds(
                "the sending account holds too little ether for this transaction (its value plus gas): "
                "fund the account or lower the amount"
            )
        if isinstance(exc, RequestException | ConnectionError | OSError):
            return ChainError(f"cannot reach the chain node: {exc}")
        if isinstance(exc, TimeExhausted):
            return ChainError(f"transaction not mined in {self.receipt_timeout:.0f} s: {exc}")
        if isinstance(exc, Web3Exception | ValueError):
            return ChainError(f"chain node error: {exc}")
        return ChainError(f"chain error: {type(exc).__name__}: {exc}")


_CANCUN_PROBE = bytes.fromhex("5f5f5f5e5f5f5d00")
"""Creation code using the opcodes the Prague build needs: PUSH0 ×3, MCOPY, PUSH0 ×2, TSTORE, STOP."""

_INSUFFICIENT_FUNDS = re.compile(
    r"insufficient funds|does not have enough balance|cannot afford|insufficient balance for transfer", re.IGNORECASE
)
"""How eth-tester, Anvil, Geth and Besu word a transaction its sender cannot pay for."""


class EmbeddedChain(Chain):
    """An in-process EVM (py-evm through eth-tester): nothing to install or start, state lives in memory.

    eth-tester is not thread-safe: every request to it goes through one lock, so several threads (the request
    handlers of ``datagora serve --dev``) can share the chain."""

    kind = "embedded"

    @property
    def evm_version(self) -> str:
        """Always ``"prague"``: py-evm runs the newest fork (no probe needed)."""
        return "prague"

    def __init__(self, **kwargs: Any) -> None:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        lock = threading.RLock()

        class _SerialisedProvider(EthereumTesterProvider):
            def make_request(self, method: RPCEndpoint, params: Any) -> Any:
                with lock:
                    return super().make_request(method, params)

        self.lock = lock
        self.tester = EthereumTester(PyEVMBackend())
        super().__init__(Web3(_SerialisedProvider(self.tester)), **kwargs)
        # What eth-tester's middleware fills in for a call without "from" (asking eth_accounts each time: three
        # requests per view call), set once.
        self.w3.eth.default_account = self.w3.eth.accounts[0]

    def advance_time(self, seconds: int) -> None:
        with self.lock:
            self.tester.time_travel(self.now() + seconds)
            self.tester.mine_blocks(1)

    def snapshot(self) -> Any:
        with self.lock:
            return self.tester.take_snapshot()

    def revert(self, snapshot_id: Any) -> None:
        with self.lock:
            self.tester.revert_to_snapshot(snapshot_id)
        self._forget_nonces()


class RpcChain(Chain):
    """Any Ethereum JSON-RPC endpoint over HTTP. Only standard ``eth_*`` methods are used outside the
    development helpers (``evm_increaseTime``, ``evm_snapshot`` … which Anvil and Hardhat provide)."""

    kind = "rpc"

    def __init__(self, url: str, *, timeout: float = 30.0, **kwargs: Any) -> None:
        self.url = url
        # web3 asks the node for its chain id before most calls it builds (9-11 times per CLI command); a node's
        # chain id never changes, so the provider keeps the first answer (web3's request cache, eth_chainId only).
        provider = Web3.HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            cache_allowed_requests=True,
            cacheable_requests={RPCEndpoint("eth_chainId")},
            request_cache_validation_threshold=None,  # no block-based check: it would ask for the chain id again
        )
        w3 = Web3(provider)
        # Proof-of-authority chains (Clique, QBFT) put the signers and seals in a block's extraData, longer than the
        # 32 bytes web3 accepts otherwise: this middleware moves it aside (a no-op on other chains).
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        super().__init__(w3, **kwargs)
        try:
            self.chain_id  # noqa: B018 - fail fast on a wrong URL
        except ChainError as exc:
            reason = str(exc).removeprefix("cannot reach the chain node: ")
            raise ChainError(f"cannot reach the chain node at {url}: {reason}") from exc

    def _dev(self, method: str, params: list[Any]) -> Any:
        response = self._rpc(lambda: self.w3.provider.make_request(RPCEndpoint(method), params))
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")

    def advance_time(self, seconds: int) -> None:
        self._dev("evm_increaseTime", [seconds])
        self._dev("evm_mine", [])

    def snapshot(self) -> Any:
        return self._dev("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        if not self._dev("evm_revert", [snapshot_id]):
            raise ChainError(f"evm_revert({snapshot_id}) failed")
        self._forget_nonces()


def connect(rpc_url: str | None = None) -> Chain:
    """An :class:`RpcChain` for ``rpc_url``, or a fresh :class:`EmbeddedChain` when it is None."""
    return RpcChain(rpc_url) if rpc_url else EmbeddedChain()
