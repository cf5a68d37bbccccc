"""Binding of ERC-20 payment tokens (EIP-20) and of ``DemoToken.vy``, the owner-mintable token of the demo and
tests. Unlike the other bindings it is not tied to one address: every call names the token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from datagora.chain.artifacts import load_artifact
from datagora.chain.client import Chain
from datagora.domain.models import TxResult

if TYPE_CHECKING:
    from datagora.chain.contracts import Contracts


class TokensBinding:
    """Typed calls of any ERC-20 token; amounts in the token's smallest unit."""

    def __init__(self, contracts: Contracts) -> None:
        self._contracts = contracts
        self._chain = contracts.chain

    def _erc20(self, token: str) -> Contract:
        return self._chain.w3.eth.contract(address=Web3.to_checksum_address(token), abi=load_artifact("DemoToken").abi)

    def _send(self, sender: LocalAccount, token: str, fn: str, *args: Any) -> TxResult:
        return self._contracts.result(self._chain.transact(sender, getattr(self._erc20(token).functions, fn)(*args)))

    def balance(self, token: str, account: str) -> int:
        """ERC-20 balance of ``account`` in the token's smallest unit."""
        return int(self._chain.call(self._erc20(token).functions.balanceOf(Web3.to_checksum_address(account))))

    def allowance(self, token: str, owner: str, spender: str) -> int:
        """How much ``spender`` may still pull from ``owner``."""
        fn = self._erc20(token).functions.allowance(Web3.to_checksum_address(owner), Web3.to_checksum_address(spender))
        return int(self._chain.call(fn))

    def symbol(self, token: str) -> str:
        return str(self._chain.call(self._erc20(token).functions.symbol()))

    def decimals(self, token: str) -> int:
        return int(self._chain.call(self._erc20(token).functions.decimals()))

    def approve(self, sender: LocalAccount, token: str, spender: str, amount: int) -> TxResult:
        """EIP-20 ``approve``: let ``spender`` (the Market) pull up to ``amount``."""
        return self._send(sender, token, "approve", Web3.to_checksum_address(spender), amount)

    def transfer(self, sender: LocalAccount, token: str, to: str, amount: int) -> TxResult:
        """EIP-20 ``transfer``: move ``amount`` of ``sender``'s tokens to ``to``."""
        return self._send(sender, token, "transfer", Web3.to_checksum_address(to), amount)

    def mint(self, sender: LocalAccount, token: str, to: str, amount: int) -> TxResult:
        """``DemoToken.mint`` (owner or minter only)."""
        return self._send(sender, token, "mint", Web3.to_checksum_address(to), amount)

    @staticmethod
    def deploy_demo(chain: Chain, owner: LocalAccount, name: str = "Datagora Dollar", symbol: str = "DGD") -> str:
        """Deploy a :file:`contracts/DemoToken.vy` ERC-20 (18 decimals, ``owner`` mints), built for the chain's
        EVM. Returns its address."""
        art = load_artifact("DemoToken", chain.evm_version)
        return str(chain.deploy(owner, art.abi, art.bytecode, name, symbol)["contractAddress"])
