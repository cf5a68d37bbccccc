"""What the two sale contracts' bindings share: both Market and UseRights (contracts/modules/escrow.vy) hold
escrow, owe pull payments, charge a brokerage fee and a management fee, and answer ``listing()`` / ``order()`` in
the same unpacked shapes (contracts/modules/states.vy). A later sale contract (e.g. compute jobs) binds on this."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3

from datagora.chain.bindings.base import Binding
from datagora.domain.errors import NotFoundError
from datagora.domain.models import (
    ETHER,
    ChainEvent,
    Listing,
    ListingState,
    Order,
    OrderState,
    Pricing,
    SaleKind,
    TxResult,
)


class SaleBinding(Binding):
    """Typed calls common to the sale contracts. Amounts are in the payment token's smallest unit (wei for
    ether); ``payment_token`` is an ERC-20 address or :data:`~datagora.domain.models.ETHER`."""

    def withdraw(self, sender: LocalAccount, payment_token: str = ETHER) -> TxResult:
        """Pay out what this contract owes the sender in ``payment_token`` (pull payment; event ``Withdrawn``)."""
        return self._send(sender, "withdraw", Web3.to_checksum_address(payment_token))

    def pending_withdrawal(self, account: str, payment_token: str = ETHER) -> int:
        """Amount of ``payment_token`` this contract owes ``account``, claimable with :meth:`withdraw`."""
        return int(
            self._view(
                "pending_withdrawals",
                Web3.to_checksum_address(account),
                Web3.to_checksum_address(payment_token),
            )
        )

    def escrowed(self, payment_token: str = ETHER) -> int:
        """Amount of ``payment_token`` this contract holds in escrow (not yet owed to anyone)."""
        return int(self._view("escrowed", Web3.to_checksum_address(payment_token)))

    def fee_bps(self) -> int:
        """The brokerage fee of orders opened now, in basis points (1/100 of a percent)."""
        return int(self._view("fee_bps"))

    def management_fee(self) -> int:
        """The fee (wei) a seller pays with each new listing."""
        return int(self._view("management_fee"))

    def listing_fee_bps(self, listing_id: int) -> int:
        """The brokerage fee (bps) in force when ``listing_id`` was made: the most its orders pay (0: no such
        listing)."""
        return int(self._view("listing_fee_bps", listing_id))

    def platform(self) -> str:
        """The platform's account: owner of the contract and receiver of its fees."""
        return str(self._view("owner"))

    def listing_count(self) -> int:
        return int(self._view("listing_count"))

    def order_count(self) -> int:
        return int(self._view("order_count"))

    def events(self, name: str, *indexed: int) -> tuple[ChainEvent, ...]:
        """This contract's events called ``name`` whose first indexed arguments equal ``indexed`` (uint256
        values), found with filtered ``eth_getLogs`` calls in bounded block ranges from its deployment block."""
        event = getattr(self.contract.events, name)
        topic = bytes(event_abi_to_log_topic(event.abi))
        topics = ["0x" + topic.hex(), *("0x" + int(v).to_bytes(32, "big").hex() for v in indexed)]
        logs = self._contracts.get_logs([self.address], topics, self._contracts.deployment.blocks.get(self.NAME))
        return tuple(self._contracts.decode(logs))

    def _listing(self, listing_id: int) -> Listing:
        """Decode ``listing(listing_id)``; :class:`NotFoundError` when none exists."""
        (seller, token_id, kind, pricing, state, price, collateral, token, dw, cw, max_queries) = self._view(
            "listing", listing_id
        )
        if state == 0:
            raise NotFoundError(f"unknown listing id {listing_id}")
        return Listing(
            listing_id,
            str(seller),
            int(token_id),
            int(price),
            int(dw),
            int(cw),
            ListingState(state),
            kind=SaleKind(kind),
            pricing=Pricing(pricing),
            collateral=int(collateral),
            payment_token=str(token),
            max_queries=int(max_queries),
        )

    def _order(self, order_id: int) -> Order:
        """Decode ``order(order_id)`` (delivery hash zero: the Market adds it from its event log);
        :class:`NotFoundError` when none exists."""
        listing_id, buyer, amount, state, fee_bps, deadline, left, total = self._view("order", order_id)
        if state == 0:
            raise NotFoundError(f"unknown order id {order_id}")
        return Order(
            order_id,
            int(listing_id),
            str(buyer),
            int(amount),
            int(deadline),
            OrderState(state),
            fee_bps=int(fee_bps),
            queries_left=int(left),
            queries_total=int(total),
        )
