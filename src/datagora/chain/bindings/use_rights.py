"""Binding of ``UseRights.vy``: use-rights sold per query (Wu et al. section II): listings with a per-query price
and an ODRL policy hash, prepaid orders, queries recorded with the buyer's EIP-712 ``QueryRequest`` signature,
expiry of unused credit, and the contract's own pull-payment withdrawals (docs/market.md).

UseRights numbers its listings and orders from :data:`USE_RIGHTS_ID_OFFSET` + 1, so one id names one listing or
order across the Market and UseRights (:func:`is_use_right_id`)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3 import Web3

from datagora.chain.bindings.base import Deployable
from datagora.chain.bindings.sale import SaleBinding
from datagora.domain.models import ETHER, Listing, Order, TxResult

USE_RIGHTS_ID_OFFSET = 1_000_000_000
"""``UseRights.ID_OFFSET`` (contracts/modules/states.vy): its first listing and order are this + 1."""

DOMAIN_NAME = "Datagora UseRights"
"""The EIP-712 domain name of UseRights (version "1"): buyers sign ``QueryRequest`` under it."""


def is_use_right_id(entity_id: int) -> bool:
    """Whether a listing or order id belongs to UseRights (above the offset) rather than to the Market."""
    return entity_id > USE_RIGHTS_ID_OFFSET


class UseRightsBinding(SaleBinding):
    """Typed calls of UseRights. Amounts are in the listing's payment token's smallest unit (wei for ether)."""

    NAME = "UseRights"

    def list_use_right(
        self,
        sender: LocalAccount,
        token_id: int,
        price_per_query: int,
        max_queries: int,
        usage_window: int,
        policy_hash: bytes,
        *,
        payment_token: str = ETHER,
    ) -> tuple[int, TxResult]:
        """Sell use-rights on ``token_id`` per query under the ODRL policy whose keccak256 is ``policy_hash``,
        paying UseRights' management fee. Returns the listing id."""
        res = self._send(
            sender,
            "list_use_right",
            token_id,
            price_per_query,
            max_queries,
            usage_window,
            Web3.to_checksum_address(payment_token),
            policy_hash,
            value=self.management_fee(),
        )
        return int(res.event("Listed").args["listing_id"]), res

    def cancel(self, sender: LocalAccount, listing_id: int) -> TxResult:
        """The seller stops selling a use-right listing; running orders continue."""
        return self._send(sender, "cancel", listing_id)

    def buy_queries(self, sender: LocalAccount, listing_id: int, queries: int, value: int) -> tuple[int, TxResult]:
        """Prepay ``queries`` queries (``value`` wei: price × queries in ether, 0 for an ERC-20, which is pulled
        after ``approve`` of UseRights). Returns the order id."""
        res = self._send(sender, "buy_queries", listing_id, queries, value=value)
        return int(res.event("OrderPaid").args["order_id"]), res

    def query_digest(self, order_id: int, index: int, query_hash: bytes) -> bytes:
        """The EIP-712 digest of QueryRequest(orderId, index, queryHash) the buyer signs."""
        return bytes(self._view("query_digest", order_id, index, query_hash))

    def record_query(
        self, sender: LocalAccount, order_id: int, query_hash: bytes, result_hash: bytes, signature: bytes
    ) -> TxResult:
        """The seller records a query it answered (the buyer's 65-byte signature) and is paid its price less the
        brokerage fee."""
        return self._send(sender, "record_query", order_id, query_hash, result_hash, signature)

    def expire(self, sender: LocalAccount, order_id: int) -> TxResult:
        """After the usage window, close an order: the unused credit becomes the buyer's to withdraw here."""
        return self._send(sender, "expire", order_id)

    def set_parameters(self, sender: LocalAccount, *, fee_bps: int, management_fee: int) -> TxResult:
        """Platform only: brokerage fee (bps) of later orders (never above their listing's fee), management fee (wei) of
        later listings."""
        return self._send(sender, "set_parameters", fee_bps, management_fee)

    def listing(self, listing_id: int) -> Listing:
        """The use-right listing ``listing_id`` (``delivery_window`` is the usage window, ``price`` per query);
        :class:`NotFoundError` when none exists."""
        return self._listing(listing_id)

    def order(self, order_id: int) -> Order:
        """The use-right order ``order_id`` (``amount`` is the credit left, ``deadline`` the end of the usage
        window); :class:`NotFoundError` when none exists."""
        return self._order(order_id)


DEPLOYABLE = Deployable(
    "UseRights",
    deployer="platform",
    needs=("Registry", "Catalog"),
    args=lambda addresses, options: (addresses["Registry"], addresses["Catalog"], options.fee_bps),
    binding=UseRightsBinding,
)
