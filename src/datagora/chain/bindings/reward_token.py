"""Binding of ``RewardToken.vy``: the ERC-20 (EIP-20) in which data subjects are rewarded for each consented use
of their data (Shrestha et al.). Amounts in the token's smallest unit (18 decimals)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.models import TxResult

REWARD_TOKEN_NAME = "Datagora Reward"
REWARD_TOKEN_SYMBOL = "DGR"


class RewardTokenBinding(Binding):
    """Typed calls of the RewardToken."""

    NAME = "RewardToken"

    def balance(self, account: str) -> int:
        """ERC-20 balance of ``account``."""
        return int(self._view("balanceOf", Web3.to_checksum_address(account)))

    def total_supply(self) -> int:
        """Every token minted, less those burnt."""
        return int(self._view("totalSupply"))

    def mint(self, sender: LocalAccount, to: str, amount: int) -> TxResult:
        """Mint ``amount`` to ``to``; the sender is the owner (the platform) or a minter it appointed."""
        return self._send(sender, "mint", Web3.to_checksum_address(to), amount)

    def approve(self, sender: LocalAccount, spender: str, amount: int) -> TxResult:
        """EIP-20 ``approve``: let ``spender`` (the Consent contract) pull up to ``amount`` from the sender."""
        return self._send(sender, "approve", Web3.to_checksum_address(spender), amount)

    def transfer(self, sender: LocalAccount, to: str, amount: int) -> TxResult:
        """EIP-20 ``transfer`` of ``amount`` from the sender to ``to``."""
        return self._send(sender, "transfer", Web3.to_checksum_address(to), amount)


DEPLOYABLE = Deployable(
    "RewardToken",
    deployer="platform",
    needs=(),
    args=lambda addresses, options: (REWARD_TOKEN_NAME, REWARD_TOKEN_SYMBOL),
    binding=RewardTokenBinding,
)
