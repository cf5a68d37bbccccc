"""What every contract binding shares: argument checking, sending a transaction, calling a view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.exceptions import MismatchedABI, Web3ValidationError
from web3.types import Wei

from datagora.domain.errors import ValidationError
from datagora.domain.models import TxResult

if TYPE_CHECKING:
    from datagora.chain.contracts import Contracts


class Binding:
    """Typed calls of one deployed contract. ``NAME`` is the contract's name in the deployment manifest.

    Writes take the signing account and return a :class:`TxResult` whose events are decoded across the whole
    contract set (a Market transaction also shows the Catalog's ``Transfer``); reverts raise
    :class:`~datagora.domain.errors.TransactionReverted` with the contract's message."""

    NAME: ClassVar[str]

    def __init__(self, contracts: Contracts, contract: Contract) -> None:
        self._contracts = contracts
        self._chain = contracts.chain
        self.contract = contract

    @property
    def address(self) -> str:
        """The contract's checksummed address."""
        return str(self.contract.address)

    def _bind(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.contract.functions, fn)(*args)
        except (Web3ValidationError, MismatchedABI, TypeError, ValueError) as exc:
            shown = ", ".join(str(a)[:40] for a in args)
            raise ValidationError(f"invalid arguments for {self.NAME}.{fn}({shown})") from exc

    def _send(self, sender: LocalAccount, fn: str, *args: Any, value: int = 0) -> TxResult:
        receipt = self._chain.transact(sender, self._bind(fn, *args), value=value)
        return self._contracts.result(receipt)

    def _send_known(
        self, sender: LocalAccount, fn: str, *args: Any, gas: int, value: int = 0, preflight: bool = False
    ) -> TxResult:
        """:meth:`_send` for a function whose gas limit is known (``gas``, from measured receipts with headroom):
        no estimate, a locally counted nonce and, where the node has it, one round trip that returns the receipt
        (:meth:`~datagora.chain.client.Chain.send_known`). A revert is mined before it is reported, unless
        ``preflight``: then the call is first run once without sending (``eth_call``, one execution where an
        estimate runs many) and a refusal raises :class:`TransactionReverted` with nothing mined and no gas spent;
        for calls a person makes, whose refusals the caller has not ruled out."""
        bound = self._bind(fn, *args)
        if preflight:
            self._chain.call(bound, {"from": sender.address, "value": Wei(value)})
        data = bound._encode_transaction_data()
        sent = self._chain.send_known(
            sender,
            self.address,
            bytes.fromhex(data.removeprefix("0x")),
            gas=gas,
            label=f"{self.NAME}.{fn}",
            value=value,
        )
        return self._contracts.result_of_sent(sent)

    def _view(self, fn: str, *args: Any) -> Any:
        return self._chain.call(self._bind(fn, *args))


@dataclass(frozen=True)
class Deployable:
    """How one contract of the set is deployed and bound: its ``name`` (artifact and manifest key), which role
    deploys it (``"supervisor"`` or ``"platform"``: the deployer becomes its owner), the contracts it needs
    first, its constructor arguments computed from the addresses already deployed and the deployment options
    (``fee_bps``), and its :class:`Binding` class."""

    name: str
    deployer: str
    needs: tuple[str, ...]
    args: Callable[[dict[str, str], DeployOptions], tuple[Any, ...]]
    binding: type[Binding]
    blueprint: bool = False
    """Deployed as an EIP-5202 blueprint (code other contracts create copies from), not as a contract."""


@dataclass(frozen=True)
class DeployOptions:
    """Deployment parameters: the brokerage fee in basis points (1/100 of a percent)."""

    fee_bps: int = 250
