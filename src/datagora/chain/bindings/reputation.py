"""Binding of ``Reputation.vy``: ratings that only the parties of a settled order can give (Mehdi et al.;
Wu et al.)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.models import TxResult


class ReputationBinding(Binding):
    """Typed calls of the Reputation contract."""

    NAME = "Reputation"

    def rate(self, sender: LocalAccount, order_id: int, score: int) -> TxResult:
        """Rate the other party of a completed order (buyer → seller, seller → buyer), once per party and order,
        ``score`` 1..5, parties of different organisations only."""
        return self._send(sender, "rate", order_id, score)

    def totals(self, account: str) -> tuple[int, int]:
        """``(sum of scores, number of rated orders)`` that ``account`` has received."""
        total, count = self._view("reputation", Web3.to_checksum_address(account))
        return int(total), int(count)

    def average_x100(self, account: str) -> int:
        """``account``'s average score times 100, rounded down; 0 when never rated."""
        return int(self._view("average_x100", Web3.to_checksum_address(account)))


DEPLOYABLE = Deployable(
    "Reputation",
    deployer="platform",
    needs=("Market", "UseRights", "Registry"),
    args=lambda addresses, options: (addresses["Market"], addresses["UseRights"], addresses["Registry"]),
    binding=ReputationBinding,
)
