"""Binding of ``Shop.vy``: shopping-cart orders paid in ether through escrow with the double-deposit collateral
(Shrestha et al.). An order is named by its cart hash; the seller's node signs an EIP-712 ``CartQuote`` that the
buyer submits with the payment. Amounts in wei, times in Unix seconds."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.errors import NotFoundError
from datagora.domain.models import OrderState, ShopOrder, TxResult

ETHER = "0x" + "0" * 40
CART_QUOTE_TYPES: dict[str, list[dict[str, str]]] = {
    "CartQuote": [
        {"name": "orderHash", "type": "bytes32"},
        {"name": "buyer", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
    ],
}


class ShopBinding(Binding):
    """Typed calls of the Shop contract."""

    NAME = "Shop"

    def set_terms(
        self, sender: LocalAccount, collateral_bps: int, delivery_window: int, confirm_window: int
    ) -> TxResult:
        """Open the sender's shop or change its terms: collateral in basis points of each order (10,000 = the
        double deposit at 100 %), delivery and confirmation windows in seconds."""
        return self._send(sender, "set_terms", collateral_bps, delivery_window, confirm_window)

    def deposit_bond(self, sender: LocalAccount, amount: int) -> TxResult:
        """The seller adds ``amount`` wei to the bond its collateral is locked from."""
        return self._send(sender, "deposit_bond", value=amount)

    def withdraw_bond(self, sender: LocalAccount, amount: int) -> TxResult:
        """Take free bond back (withdrawable with :meth:`withdraw`)."""
        return self._send(sender, "withdraw_bond", amount)

    def terms(self, seller: str) -> tuple[int, int, int, bool]:
        """``(collateral_bps, delivery_window, confirm_window, open)`` of a shop."""
        bps, delivery, confirm, opened = self._view("terms", Web3.to_checksum_address(seller))
        return int(bps), int(delivery), int(confirm), bool(opened)

    def bond(self, seller: str) -> int:
        """The seller's free bond in wei."""
        return int(self._view("bonds", Web3.to_checksum_address(seller)))

    def quote(self, seller: LocalAccount, order_hash: bytes, buyer: str, amount: int, expiry: int) -> bytes:
        """The seller's 65-byte EIP-712 signature of CartQuote(orderHash, buyer, amount, expiry) in this
        contract's domain (signed locally, no transaction)."""
        message: dict[str, Any] = {
            "types": CART_QUOTE_TYPES,
            "primaryType": "CartQuote",
            "domain": {
                "name": "Datagora Shop",
                "version": "1",
                "chainId": self._chain.chain_id,
                "verifyingContract": self.address,
            },
            "message": {
                "orderHash": order_hash,
                "buyer": Web3.to_checksum_address(buyer),
                "amount": amount,
                "expiry": expiry,
            },
        }
        return bytes(Account.sign_message(encode_typed_data(full_message=message), seller.key).signature)

    def collateral_for(self, seller: str, amount: int) -> int:
        """The collateral each side stakes on an order of ``amount`` wei under the seller's current terms."""
        return amount * self.terms(seller)[0] // 10_000

    def pay(
        self, sender: LocalAccount, order_hash: bytes, seller: str, amount: int, expiry: int, signature: bytes
    ) -> TxResult:
        """Check out a cart: pay ``amount`` plus the buyer's collateral. Reverts with "shop: order already
        paid" for a cart paid before."""
        value = amount + self.collateral_for(seller, amount)
        return self._send(
            sender, "pay", order_hash, Web3.to_checksum_address(seller), amount, expiry, signature, value=value
        )

    def call(self, fn: str, *args: Any, value: int = 0) -> dict[str, str]:
        """An unsigned call of ``fn`` for a browser wallet to send (EIP-1193 ``eth_sendTransaction`` params):
        ``{"to": contract address, "data": 0x-hex calldata, "value": 0x-hex wei}``. ``fn`` is ``pay``,
        ``confirm`` or ``refund``; addresses among ``args`` are checksummed here."""
        if fn not in ("pay", "confirm", "refund", "release"):
            raise ValueError(f"no wallet call {fn!r} on the Shop")
        fixed = [Web3.to_checksum_address(a) if isinstance(a, str) and Web3.is_address(a) else a for a in args]
        data = self._bind(fn, *fixed)._encode_transaction_data()
        return {"to": self.address, "data": str(data), "value": hex(value)}

    def deliver(self, sender: LocalAccount, order_hash: bytes, delivery_hash: bytes) -> TxResult:
        """The seller declares the order delivered (``delivery_hash`` commits to the delivery record)."""
        return self._send(sender, "deliver", order_hash, delivery_hash)

    def confirm(self, sender: LocalAccount, order_hash: bytes) -> TxResult:
        """The buyer confirms the delivery."""
        return self._send(sender, "confirm", order_hash)

    def release(self, sender: LocalAccount, order_hash: bytes) -> TxResult:
        """Anyone, after the confirmation deadline of a delivered order."""
        return self._send(sender, "release", order_hash)

    def refund(self, sender: LocalAccount, order_hash: bytes) -> TxResult:
        """Anyone, after the delivery deadline of an undelivered order."""
        return self._send(sender, "refund", order_hash)

    def withdraw(self, sender: LocalAccount) -> TxResult:
        """Pay out the ether the shop owes the sender."""
        return self._send(sender, "withdraw", ETHER)

    def escrowed(self) -> int:
        """Wei the contract holds for bonds and open orders (its balance is this plus pending withdrawals)."""
        return int(self._view("escrowed", ETHER))

    def pending(self, account: str) -> int:
        """Wei ``account`` may withdraw."""
        return int(self._view("pending_withdrawals", Web3.to_checksum_address(account), ETHER))

    def order(self, order_hash: bytes) -> ShopOrder:
        """The order; :class:`NotFoundError` when the cart was never paid."""
        buyer, seller, amount, collateral, state, deadline = self._view("order", order_hash)
        if int(state) == 0:
            raise NotFoundError(f"no shop order {order_hash.hex()}")
        return ShopOrder(
            order_hash, str(buyer), str(seller), int(amount), int(collateral), OrderState(int(state)), int(deadline)
        )


DEPLOYABLE = Deployable(
    "Shop",
    deployer="platform",
    needs=("Registry",),
    args=lambda addresses, options: (addresses["Registry"],),
    binding=ShopBinding,
)
