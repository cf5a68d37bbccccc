"""Binding of ``Market.vy``: ownership listings (fixed price, negotiation, English auction), escrowed orders with
double-deposit collateral, delivery, disputes, deadlines and pull-payment withdrawals (Wu et al. sections II–IV;
docs/market.md). Use-rights per query are sold by UseRights (:mod:`datagora.chain.bindings.use_rights`);
:meth:`MarketBinding.listing` and :meth:`MarketBinding.order` answer for its ids too (they start above
``USE_RIGHTS_ID_OFFSET``), so a caller holding an id needs no routing."""

from __future__ import annotations

import dataclasses
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Deployable
from datagora.chain.bindings.sale import SaleBinding
from datagora.chain.bindings.use_rights import is_use_right_id
from datagora.domain.errors import NotFoundError
from datagora.domain.models import (
    ETHER,
    Auction,
    Listing,
    Offer,
    OfferState,
    Order,
    OrderState,
    Ruling,
    TxResult,
)


class MarketBinding(SaleBinding):
    """Typed calls of the Market."""

    NAME = "Market"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._delivery_hashes: dict[int, tuple[bytes, int, str]] = {}

    # Amounts are in the listing's payment token's smallest unit (wei for ether); ``value`` is the ether
    # sent with the call (management fee, and price/collateral when paying in ether).

    def list(
        self,
        sender: LocalAccount,
        token_id: int,
        price: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
        value: int | None = None,
    ) -> tuple[int, TxResult]:
        """List ownership of ``token_id`` at a fixed ``price``; windows in seconds. ``value`` defaults to the
        management fee plus the collateral when paid in ether. Returns the listing id."""
        token = Web3.to_checksum_address(payment_token)
        value = self._listing_value(collateral, token) if value is None else value
        res = self._send(
            sender, "list", token_id, price, collateral, token, delivery_window, confirm_window, value=value
        )
        return int(res.event("Listed").args["listing_id"]), res

    def list_negotiable(
        self,
        sender: LocalAccount,
        token_id: int,
        ask: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """List ownership of ``token_id`` for negotiation (asking price ``ask``). Returns the listing id."""
        token = Web3.to_checksum_address(payment_token)
        res = self._send(
            sender,
            "list_negotiable",
            token_id,
            ask,
            collateral,
            token,
            delivery_window,
            confirm_window,
            value=self._listing_value(collateral, token),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def list_auction(
        self,
        sender: LocalAccount,
        token_id: int,
        reserve: int,
        min_increment: int,
        duration: int,
        delivery_window: int,
        confirm_window: int,
        *,
        collateral: int = 0,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """Open an English auction on the ownership of ``token_id`` for ``duration`` seconds. Returns the
        listing id."""
        token = Web3.to_checksum_address(payment_token)
        res = self._send(
            sender,
            "list_auction",
            token_id,
            reserve,
            min_increment,
            duration,
            collateral,
            token,
            delivery_window,
            confirm_window,
            value=self._listing_value(collateral, token),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def _listing_value(self, collateral: int, payment_token: str) -> int:
        return self.management_fee() + (collateral if int(payment_token, 16) == 0 else 0)

    def cancel(self, sender: LocalAccount, listing_id: int) -> TxResult:
        return self._send(sender, "cancel", listing_id)

    def buy(self, sender: LocalAccount, listing_id: int, value: int) -> tuple[int, TxResult]:
        """Pay a fixed-price listing (``value`` wei: price plus collateral in ether, 0 for an ERC-20, which is
        pulled after ``approve``). Returns the order id."""
        res = self._send(sender, "buy", listing_id, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def make_offer(
        self, sender: LocalAccount, listing_id: int, amount: int, expiry: int, value: int
    ) -> tuple[int, TxResult]:
        """Offer ``amount`` (escrowed with the collateral) until ``expiry`` (Unix seconds). Returns the
        offer id."""
        res = self._send(sender, "make_offer", listing_id, amount, expiry, value=value)
        return int(res.event("OfferMade").args["offer_id"]), res

    def counter_offer(self, sender: LocalAccount, offer_id: int, counter: int) -> TxResult:
        return self._send(sender, "counter_offer", offer_id, counter)

    def accept_offer(self, sender: LocalAccount, offer_id: int) -> tuple[int, TxResult]:
        res = self._send(sender, "accept_offer", offer_id)
        return int(res.event("OrderPaid").args["order_id"]), res

    def accept_counter(self, sender: LocalAccount, offer_id: int, counter: int, value: int = 0) -> tuple[int, TxResult]:
        """Accept the counter of offer ``offer_id``, which must still be ``counter`` (wei or token units; reverts
        "market: counter changed" otherwise). Returns the order id."""
        res = self._send(sender, "accept_counter", offer_id, counter, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def reject_offer(self, sender: LocalAccount, offer_id: int) -> TxResult:
        return self._send(sender, "reject_offer", offer_id)

    def withdraw_offer(self, sender: LocalAccount, offer_id: int) -> TxResult:
        return self._send(sender, "withdraw_offer", offer_id)

    def bid(self, sender: LocalAccount, listing_id: int, amount: int, value: int) -> TxResult:
        return self._send(sender, "bid", listing_id, amount, value=value)

    def settle(self, sender: LocalAccount, listing_id: int) -> tuple[int, TxResult]:
        """Settle an ended auction; returns the winner's order id (0 when there was no bid)."""
        res = self._send(sender, "settle", listing_id)
        return int(res.event("AuctionSettled").args["order_id"]), res

    def deliver(self, sender: LocalAccount, order_id: int, delivery_hash: bytes) -> TxResult:
        return self._send(sender, "deliver", order_id, delivery_hash)

    def confirm(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "confirm", order_id)

    def dispute(self, sender: LocalAccount, order_id: int, reason_hash: bytes) -> TxResult:
        return self._send(sender, "dispute", order_id, reason_hash)

    def resolve(self, sender: LocalAccount, order_id: int, ruling: Ruling, evidence_hash: bytes) -> TxResult:
        """Platform only: settle a disputed order with ``ruling`` (Wu et al. section IV.A.3)."""
        return self._send(sender, "resolve", order_id, int(ruling), evidence_hash)

    def release(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "release", order_id)

    def refund(self, sender: LocalAccount, order_id: int) -> TxResult:
        return self._send(sender, "refund", order_id)

    def set_parameters(
        self, sender: LocalAccount, *, fee_bps: int, management_fee: int, dispute_window: int
    ) -> TxResult:
        """Platform only: brokerage fee (bps), management fee (wei per listing), dispute window (seconds)."""
        return self._send(sender, "set_parameters", fee_bps, management_fee, dispute_window)

    def set_fee(self, sender: LocalAccount, fee_bps: int) -> TxResult:
        """Change only the brokerage fee (keeps the management fee and the dispute window)."""
        return self.set_parameters(
            sender, fee_bps=fee_bps, management_fee=self.management_fee(), dispute_window=self.dispute_window()
        )

    def dispute_window(self) -> int:
        return int(self._view("dispute_window"))

    def listing(self, listing_id: int) -> Listing:
        """The listing ``listing_id`` (a UseRights listing for an id above its offset); :class:`NotFoundError`
        when none exists."""
        if is_use_right_id(listing_id):
            return self._contracts.use_rights.listing(listing_id)
        return self._listing(listing_id)

    def offer_count(self) -> int:
        return int(self._view("offer_count"))

    def order(self, order_id: int) -> Order:
        """The order ``order_id`` (a UseRights order for an id above its offset), with its delivery hash from its
        ``Delivered`` event once delivered; :class:`NotFoundError` when none exists."""
        if is_use_right_id(order_id):
            return self._contracts.use_rights.order(order_id)
        order = self._order(order_id)
        if order.state == OrderState.PAID:
            return order
        return dataclasses.replace(order, delivery_hash=self.delivery_hash(order_id))

    def delivery_hash(self, order_id: int) -> bytes:
        """The SHA-256 the seller committed in ``Delivered`` for ``order_id`` (zero bytes when not delivered).
        The hash lives in the event log only (cheaper than storage, equally tamper-proof). A found hash is cached
        with the block that holds its log and reused only while that block is still on the chain (one block-hash
        lookup instead of a log scan; a reorganisation or a reverted snapshot invalidates it)."""
        cached = self._delivery_hashes.get(order_id)
        if cached is not None:
            found, block_number, block_hash = cached
            if self._chain.block_hash(block_number) == block_hash:
                return found
            del self._delivery_hashes[order_id]
        for ev in self.events("Delivered", order_id):
            found = bytes(ev.args["delivery_hash"])
            self._delivery_hashes[order_id] = (found, ev.block_number, ev.block_hash)
            return found
        return bytes(32)

    def offer(self, offer_id: int) -> Offer:
        """The offer ``offer_id``; :class:`NotFoundError` when none exists."""
        listing_id, buyer, amount, counter, expiry, state = self._view("offers", offer_id)
        if state == 0:
            raise NotFoundError(f"unknown offer id {offer_id}")
        return Offer(offer_id, int(listing_id), str(buyer), int(amount), int(counter), int(expiry), OfferState(state))

    def auction(self, listing_id: int) -> Auction:
        """The auction state of listing ``listing_id`` (end time 0 when it is not an auction)."""
        end_time, min_increment, bidder, bid = self._view("auctions", listing_id)
        return Auction(listing_id, int(end_time), int(min_increment), str(bidder), int(bid))


DEPLOYABLE = Deployable(
    "Market",
    deployer="platform",
    needs=("Registry", "Catalog"),
    args=lambda addresses, options: (addresses["Registry"], addresses["Catalog"], options.fee_bps),
    binding=MarketBinding,
)
