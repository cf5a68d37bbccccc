"""A fast client path for many transactions from one account, beside the ordinary write path of the bindings
(:meth:`datagora.chain.client.Chain.transact`, which estimates gas, asks the node for the nonce and polls for each
receipt).

What makes it fast, each measured on Anvil (benchmarks/anchoring.py):

- **Signing with coincurve** (libsecp256k1): the EIP-1559 transaction (EIP-2718 type 2) is RLP-encoded here and its
  hash signed with ``coincurve.PrivateKey.sign_recoverable``, byte for byte what eth-account produces (a test checks)
  at a fraction of its cost (~0.5 ms instead of 1-4 ms per transaction).
- **Local nonce management**: the account's next nonce is read once (``pending``) and counted up locally; an error
  from the node makes the next send read it again.
- **Explicit gas** from a per-function table (:data:`GAS_TABLE`, e.g. ``"Anchors.anchor"``); a function that is not
  in it is estimated once and its padded estimate kept for the next calls.
- **One round trip per transaction** with ``eth_sendRawTransactionSync`` (EIP-7966: the node answers with the
  receipt) where the node supports it; detected on first use, falling back to ``eth_sendRawTransaction`` plus
  receipt polling elsewhere.
- **Bulk**: signed transactions go out in raw JSON-RPC batches (web3.py refuses raw sends inside its own batches),
  and their receipts are fetched in batches too, on a second connection while the next window goes out; signing
  runs while the I/O threads wait on the node. RLP is encoded here and Keccak-256 comes from pysha3: the client
  spends ~0.1 ms per transfer, so the node sets the pace. On a development node that mines only on demand
  (``anvil --no-mining``) ``mine=True`` asks for one block per window, which Anvil executes far faster than a
  block per transaction.

Only standard JSON-RPC is used. On the embedded chain (no URL) the same calls go through the provider one by one.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from typing import Any

from eth_account.signers.local import LocalAccount

from datagora.chain.client import Chain, RpcChain
from datagora.domain.errors import ChainError, DatagoraError, TransactionReverted, ValidationError

GAS_TABLE: dict[str, int] = {
    "transfer": 21_000,
    "Anchors.anchor": 110_000,
}
"""Gas limit per function (``"Contract.function"``): measured receipt gas plus headroom. The first anchor of a
deployment writes three fresh slots (~98,000 gas with a 64-byte label); later ones ~81,000."""
ESTIMATE_PADDING = 1.2
"""Factor applied to an estimate for a function missing from the table."""
BATCH_SIZE = 100
"""Transactions (or receipt requests) per JSON-RPC batch: Anvil's answer time per batch stays flat up to ~100."""

WINDOW = 500
"""Transactions per window of a bulk send (at most two windows are pending at once)."""

_METHOD_MISSING = (-32601, -32004)
"""JSON-RPC error codes of a node that lacks a method (-32601 per JSON-RPC 2.0; some nodes use -32004)."""


@dataclass(frozen=True)
class Call:
    """One transaction to send: ``to`` (None deploys), calldata ``data``, ``value`` in wei, and a ``label``
    (``"Contract.function"``) that selects its gas in the table; ``gas`` overrides the table."""

    to: str | None
    data: bytes = b""
    value: int = 0
    label: str = "transfer"
    gas: int | None = None


@dataclass(frozen=True)
class Sent:
    """A mined transaction: its hash (0x-hex), status (1 success), block number, gas used and raw logs (JSON-RPC
    form: hex strings)."""

    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    logs: list[dict[str, Any]] = field(default_factory=list)


def _rlp_int(value: int) -> bytes:
    return b"" if value == 0 else value.to_bytes((value.bit_length() + 7) // 8, "big")


def _rlp_length(length: int, offset: int) -> bytes:
    """The RLP prefix of a string (``offset`` 0x80) or list (0xc0) whose payload is ``length`` bytes long."""
    if length < 56:
        return bytes((offset + length,))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((offset + 55 + len(size),)) + size


def _rlp_string(value: bytes) -> bytes:
    """RLP of a byte string (a single byte below 0x80 is its own encoding)."""
    if len(value) == 1 and value[0] < 0x80:
        return value
    return _rlp_length(len(value), 0x80) + value


def _rlp_list(items: Iterable[bytes]) -> bytes:
    """RLP of a list of byte strings (an empty inner list is the byte ``0xc0``, passed in already encoded)."""
    payload = b"".join(items)
    return _rlp_length(len(payload), 0xC0) + payload


_EMPTY_ACCESS_LIST = b"\xc0"


def _keccak_function() -> Any:
    """Keccak-256 (the pre-standard SHA-3 padding Ethereum uses): pysha3's C implementation when installed
    (~3 µs per transaction), else eth-hash's backend (~25 µs)."""
    try:
        import sha3

        keccak_256 = sha3.keccak_256
        return lambda data: keccak_256(data).digest()
    except ImportError:  # pragma: no cover - safe-pysha3 is a dependency; eth-hash is the fallback
        from eth_hash.auto import keccak

        return keccak


def _hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


class FastPath:
    """Signs and sends transactions of ``account`` on ``chain`` quickly (see the module docstring).

    Not thread-safe: one instance per sending thread (its bulk sends start their own I/O threads). ``gas_table``
    adds to or overrides :data:`GAS_TABLE`; ``batch_size`` transactions go in one JSON-RPC batch, at most two
    ``window``s of them are pending; ``mine`` asks a development node that mines on demand for a block after each
    window (``evm_mine``). Raises :class:`ValidationError` for a batch size or window below 1."""

    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        *,
        gas_table: Mapping[str, int] | None = None,
        batch_size: int = BATCH_SIZE,
        window: int = WINDOW,
        receipt_timeout: float | None = None,
        mine: bool = False,
    ) -> None:
        import coincurve

        if batch_size < 1 or window < 1:
            raise ValidationError("batch size and window must be at least 1")
        self.chain = chain
        self.account = account
        self.address = account.address
        self._key = coincurve.PrivateKey(bytes(account.key))
        self._keccak = _keccak_function()
        self.gas_table: dict[str, int] = {**GAS_TABLE, **(gas_table or {})}
        self.batch_size = batch_size
        self.window = window
        self.mine = mine
        """Ask the node for a block (``evm_mine``) after each window: for a development node that mines only on
        demand (Anvil or Hardhat with ``--no-mining``); a real chain mines by itself."""
        self.receipt_timeout = chain.receipt_timeout if receipt_timeout is None else receipt_timeout
        self._nonce: int | None = None
        self._fees: tuple[int, int] | None = None
        self._fees_at = 0.0
        self.sync_supported: bool | None = None
        """Whether the node answers ``eth_sendRawTransactionSync`` (None until the first single send)."""
        self._ids = itertools.count(1)
        self._local = threading.local()  # one HTTP session per thread (requests' sessions are not thread-safe)
        self._sessions: list[Any] = []
        self._url = chain.url if isinstance(chain, RpcChain) else None
        self._failed = threading.Event()

    # -- JSON-RPC ------------------------------------------------------------------------------------------

    def _post(self, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send a JSON-RPC batch; the answers in request order (each with ``result`` or ``error``)."""
        if self._url is None:
            provider = self.chain.w3.provider
            answers = []
            for req in payload:
                try:
                    answer = dict(provider.make_request(req["method"], req["params"]))
                    answers.append({**answer, "result": _camel(answer.get("result"))})
                except Exception as exc:  # eth-tester raises instead of answering with an error object
                    answers.append({"error": {"code": -32000, "message": str(exc)}, "id": req["id"]})
            return answers
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._sessions.append(session)
        try:
            response = session.post(self._url, json=payload, timeout=max(30.0, self.receipt_timeout))
            response.raise_for_status()
            answers = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ChainError(f"cannot reach the chain node at {self._url}: {exc}") from exc
        if isinstance(answers, dict):  # a node that refuses batches answers with one error object
            raise ChainError(f"the chain node refused a batch request: {answers.get('error')}")
        by_id = {a.get("id"): a for a in answers}
        return [by_id.get(req["id"], {"error": {"code": -32603, "message": "no answer"}}) for req in payload]

    def _quantity(self, value: int) -> Any:
        """A number as JSON-RPC wants it (0x-hex); the embedded chain's provider takes ints."""
        return hex(value) if self._url is not None else value

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        return self._post([{"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}])[0]

    def _result(self, method: str, params: list[Any]) -> Any:
        answer = self._request(method, params)
        if "error" in answer:
            raise ChainError(f"{method} failed: {answer['error'].get('message', answer['error'])}")
        return answer.get("result")

    # -- nonce, fees, gas ----------------------------------------------------------------------------------

    @property
    def nonce(self) -> int:
        """The next nonce this path will use (read from the node on first use or after an error)."""
        if self._nonce is None:
            self._nonce = _num(self._result("eth_getTransactionCount", [self.address, "pending"]))
        return self._nonce

    def resync(self) -> None:
        """Forget the local nonce and fees; the next send reads them from the node again."""
        self._nonce = None
        self._fees = None

    def fees(self) -> tuple[int, int]:
        """``(max fee, priority fee)`` per gas in wei: twice the latest base fee plus the tip, refreshed every
        2 seconds (a base fee can rise by at most 12.5 % per block, EIP-1559)."""
        if self._fees is None or time.monotonic() - self._fees_at > 2.0:
            block = self._result("eth_getBlockByNumber", ["latest", False])
            base = _num(block.get("baseFeePerGas") or 0)
            tip = self.chain._priority_fee_cached()
            self._fees = (2 * base + tip, tip)
            self._fees_at = time.monotonic()
        return self._fees

    def gas_for(self, call: Call) -> int:
        """The gas limit of ``call``: its own, the table's for its label, or a padded estimate (kept in the
        table for next time). Raises :class:`TransactionReverted` when the estimate reverts."""
        if call.gas is not None:
            return call.gas
        known = self.gas_table.get(call.label)
        if known is not None:
            return known
        tx: dict[str, Any] = {"from": self.address, "data": "0x" + call.data.hex(), "value": self._quantity(call.value)}
        if call.to is not None:
            tx["to"] = call.to
        answer = self._request("eth_estimateGas", [tx])
        if "error" in answer:
            raise TransactionReverted(_reason(answer["error"]), call.label)
        gas = int(_num(answer["result"]) * ESTIMATE_PADDING)
        self.gas_table[call.label] = gas
        return gas

    # -- signing -------------------------------------------------------------------------------------------

    def sign(self, call: Call, nonce: int, *, fees: tuple[int, int] | None = None) -> tuple[bytes, str]:
        """The signed raw EIP-1559 transaction of ``call`` with ``nonce`` and its hash (0x-hex). ``fees``
        (max fee, priority fee per gas, wei) default to :meth:`fees`.

        The transaction is RLP-encoded here (EIP-2718 type 2: ``0x02 || rlp([chain id, nonce, priority fee, max fee,
        gas, to, value, data, access list, y parity, r, s])``, EIP-1559) rather than with pyrlp, which costs
        ~0.3 ms per transaction in type dispatch; the bytes are the same (a test compares them with eth-account)."""
        max_fee, tip = self.fees() if fees is None else fees
        to = _hex_bytes(call.to) if call.to is not None else b""
        body = [
            _rlp_string(_rlp_int(self.chain.chain_id)),
            _rlp_string(_rlp_int(nonce)),
            _rlp_string(_rlp_int(tip)),
            _rlp_string(_rlp_int(max_fee)),
            _rlp_string(_rlp_int(self.gas_for(call))),
            _rlp_string(to),
            _rlp_string(_rlp_int(call.value)),
            _rlp_string(call.data),
            _EMPTY_ACCESS_LIST,
        ]
        signature = self._key.sign_recoverable(self._keccak(b"\x02" + _rlp_list(body)), hasher=None)
        body += [
            _rlp_string(_rlp_int(signature[64])),
            _rlp_string(signature[:32].lstrip(b"\0")),
            _rlp_string(signature[32:64].lstrip(b"\0")),
        ]
        raw = b"\x02" + _rlp_list(body)
        return raw, "0x" + self._keccak(raw).hex()

    def sign_many(self, calls: Iterable[Call]) -> list[tuple[bytes, str]]:
        """Sign ``calls`` with consecutive nonces from the local counter (which moves past them)."""
        fees = self.fees()
        signed = []
        nonce = self.nonce
        for call in calls:
            signed.append(self.sign(call, nonce, fees=fees))
            nonce += 1
        self._nonce = nonce
        return signed

    # -- sending -------------------------------------------------------------------------------------------

    def send(self, call: Call) -> Sent:
        """Sign and send one transaction and return it mined: one round trip with ``eth_sendRawTransactionSync``
        where the node has it, else send and poll. Raises :class:`TransactionReverted` when it reverts (on a node
        that estimates nothing here, the reason is read by replaying the call) and :class:`ChainError` when the
        node refuses it."""
        ((raw, tx_hash),) = self.sign_many([call])
        if self.sync_supported is not False:
            answer = self._request("eth_sendRawTransactionSync", ["0x" + raw.hex()])
            error = answer.get("error")
            if error is None:
                self.sync_supported = True
                return self._checked(call, _sent(answer["result"]))
            if error.get("code") not in _METHOD_MISSING and "not supported" not in str(error.get("message", "")):
                self.resync()
                raise self._refused(call, error)
            self.sync_supported = False
        answer = self._request("eth_sendRawTransaction", ["0x" + raw.hex()])
        if "error" in answer:
            self.resync()
            raise self._refused(call, answer["error"])
        return self._checked(call, self.receipts([tx_hash], raws={tx_hash: raw})[0])

    def send_many(self, calls: Sequence[Call], *, check: bool = True) -> list[Sent]:
        """Sign every call, send them in JSON-RPC batches of :attr:`batch_size`, and fetch their receipts in
        batches; the mined transactions in the order of ``calls``.

        Signing overlaps the network: one I/O thread posts each batch (and, with :attr:`mine`, asks for a block
        after each window) while this thread signs the next, and a second one fetches the receipts of a window
        while the next goes out, so the node's work and the client's run at once. At most two windows of
        :attr:`window` transactions are in flight (a node's pool of pending transactions stays bounded; Anvil
        slows to a crawl past a few thousand). With ``check`` a reverted one raises :class:`TransactionReverted`
        (the others are mined all the same). Raises :class:`ChainError` when the node refuses a transaction (the
        batches queued after it are not sent, and the local nonce is read again before the next send)."""
        if not calls:
            return []
        _ = self.chain.chain_id  # read (and cached) before the I/O threads start
        fees = self.fees()
        gas = [self.gas_for(call) for call in calls]  # estimates (if any) before the I/O thread starts
        first = self.nonce
        self._nonce = first + len(calls)
        sent: list[Sent] = []
        posts: list[Future[Any]] = []
        receipts: list[Future[list[Sent]]] = []
        self._failed = threading.Event()
        sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastpath-send")
        # receipts on a second connection, while the next window goes out; the embedded chain's provider takes
        # one caller at a time
        receiver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastpath-receipts") if self._url else sender
        try:
            for start in range(0, len(calls), self.window):
                hashes: list[str] = []
                raws: dict[str, bytes] = {}
                for lo in range(start, min(start + self.window, len(calls)), self.batch_size):
                    chunk = [
                        self.sign(dataclass_replace(calls[k], gas=gas[k]), first + k, fees=fees)
                        for k in range(lo, min(lo + self.batch_size, start + self.window, len(calls)))
                    ]
                    posts.append(sender.submit(self._post_raw, calls, lo, chunk))
                    hashes += [tx_hash for _, tx_hash in chunk]
                    raws.update((tx_hash, raw) for raw, tx_hash in chunk)
                if self.mine:
                    posts.append(sender.submit(self._mine))
                receipts.append(receiver.submit(self._window_receipts, posts[-1], hashes, raws))
                if len(receipts) > 1:  # at most two windows in flight: the one before must be mined
                    receipts[-2].result()
            for post in posts:
                post.result()
            for batch in receipts:
                sent.extend(batch.result())
        except BaseException:
            self._failed.set()  # queued sends are dropped, not posted after a failure
            self.resync()
            raise
        finally:
            sender.shutdown(wait=True, cancel_futures=True)
            receiver.shutdown(wait=True, cancel_futures=True)
        if check:
            for call, tx in zip(calls, sent, strict=True):
                self._checked(call, tx)
        return sent

    def _mine(self) -> None:
        """Ask a development node that mines on demand for a block (``evm_mine``, Anvil and Hardhat)."""
        if not self._failed.is_set():
            try:
                self._result("evm_mine", [])
            except BaseException:
                self._failed.set()
                raise

    def _window_receipts(
        self, posted: Future[Any], tx_hashes: Sequence[str], raws: Mapping[str, bytes] | None = None
    ) -> list[Sent]:
        """The receipts of a window once its last batch is posted (and mined, with :attr:`mine`), or none once a
        send failed (its transactions may never be mined)."""
        try:
            posted.exception()  # waits for it; a cancelled one (after a failure) raises CancelledError
        except CancelledError:
            return []
        return [] if self._failed.is_set() else self.receipts(tx_hashes, raws=raws)

    def _post_raw(self, calls: Sequence[Call], offset: int, signed: Sequence[tuple[bytes, str]]) -> None:
        """Post one batch of signed transactions; after a refusal, later batches are not sent (their nonces would
        leave a gap the node waits on forever)."""
        if self._failed.is_set():
            return
        try:
            answers = self._post(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": next(self._ids),
                        "method": "eth_sendRawTransaction",
                        "params": ["0x" + raw.hex()],
                    }
                    for raw, _ in signed
                ]
            )
        except BaseException:
            self._failed.set()
            raise
        for k, answer in enumerate(answers):
            if "error" in answer:
                self._failed.set()
                raise self._refused(calls[offset + k], answer["error"])

    def receipts(self, tx_hashes: Sequence[str], *, raws: Mapping[str, bytes] | None = None) -> list[Sent]:
        """The receipts of ``tx_hashes`` (0x-hex), fetched in JSON-RPC batches and waited for until
        :attr:`receipt_timeout` seconds; in the given order. ``raws`` (hash → signed bytes) are sent again, those
        still without a receipt, every ``chain.resend_after`` seconds (a node may drop a transaction whose block
        lost a fork; the same bytes are mined once at most). Raises :class:`ChainError` on timeout."""
        found: dict[str, Sent] = {}
        started = time.monotonic()
        deadline = started + self.receipt_timeout
        resend_after = self.chain.resend_after
        resend_at = started + resend_after
        delay = 0.005
        while True:
            waiting = [h for h in tx_hashes if h not in found]
            for start in range(0, len(waiting), self.batch_size):
                chunk = waiting[start : start + self.batch_size]
                answers = self._post(
                    [
                        {"jsonrpc": "2.0", "id": next(self._ids), "method": "eth_getTransactionReceipt", "params": [h]}
                        for h in chunk
                    ]
                )
                for tx_hash, answer in zip(chunk, answers, strict=True):
                    receipt = answer.get("result")
                    if receipt and receipt.get("blockNumber") is not None:
                        found[tx_hash] = _sent(receipt)
            if len(found) == len(set(tx_hashes)):
                return [found[h] for h in tx_hashes]
            now = time.monotonic()
            if now > deadline:
                raise ChainError(
                    f"{len(set(tx_hashes)) - len(found)} of {len(tx_hashes)} transactions not mined in "
                    f"{self.receipt_timeout:.0f} s"
                )
            if raws and now >= resend_at:
                resend_at = now + resend_after
                self._resend([raws[h] for h in tx_hashes if h not in found and h in raws])
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _resend(self, raws: Sequence[bytes]) -> None:
        """Send signed transactions again in batches; the node's answers ("already known", "nonce too low" once
        mined) are not errors: the receipt poll decides."""
        for start in range(0, len(raws), self.batch_size):
            self._post(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": next(self._ids),
                        "method": "eth_sendRawTransaction",
                        "params": ["0x" + raw.hex()],
                    }
                    for raw in raws[start : start + self.batch_size]
                ]
            )

    def close(self) -> None:
        """Close the HTTP connection (reopened on the next request)."""
        for session in self._sessions:
            session.close()
        self._sessions.clear()
        self._local = threading.local()

    # -- errors --------------------------------------------------------------------------------------------

    def _checked(self, call: Call, sent: Sent) -> Sent:
        if sent.status != 1:
            raise TransactionReverted(self._replay(call, sent), call.label)
        return sent

    def _replay(self, call: Call, sent: Sent) -> str:
        tx: dict[str, Any] = {"from": self.address, "data": "0x" + call.data.hex(), "value": self._quantity(call.value)}
        if call.to is not None:
            tx["to"] = call.to
        block = max(sent.block_number - 1, 0)
        answer = self._request("eth_call", [tx, self._quantity(block)])
        if "error" in answer:
            return _reason(answer["error"])
        return "transaction failed (out of gas?)"

    def _refused(self, call: Call, error: Mapping[str, Any]) -> DatagoraError:
        message = str(error.get("message", error))
        if "revert" in message.lower():
            return TransactionReverted(_reason(error), call.label)
        return self.chain._wrap(ValueError(message))


def _reason(error: Mapping[str, Any]) -> str:
    """The revert reason of a JSON-RPC error object (decoded from ``data`` when it holds ``Error(string)``)."""
    data = error.get("data")
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x08c379a0") and len(data) >= 138:
        raw = _hex_bytes(data)[4:]
        length = int.from_bytes(raw[32:64], "big")
        return raw[64 : 64 + length].decode(errors="replace")
    message = str(error.get("message", "reverted without a reason"))
    for prefix in ("execution reverted: ", "execution reverted:", "execution reverted"):
        if message.startswith(prefix):
            return message[len(prefix) :].strip() or "reverted without a reason"
    return message


def _camel(value: Any) -> Any:
    """The embedded chain's provider answers with snake_case keys (``block_number``); JSON-RPC uses camelCase."""
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def _num(value: Any) -> int:
    """A JSON-RPC quantity (0x-hex) or, from the embedded chain's provider, an int."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _sent(receipt: Mapping[str, Any]) -> Sent:
    tx_hash = receipt["transactionHash"]
    if not isinstance(tx_hash, str):
        tx_hash = "0x" + bytes(tx_hash).hex()
    return Sent(
        tx_hash=tx_hash,
        status=_num(receipt.get("status", 1)),
        block_number=_num(receipt["blockNumber"]),
        gas_used=_num(receipt["gasUsed"]),
        logs=[dict(log) for log in receipt.get("logs", [])],
    )
