# pragma version ~=0.4.3
"""
@title Datagora UseRights
@notice The use-right sale of Wu et al. (Privacy-friendly Blockchain based
        Data Trading and Tracking, section II): the owner of a dataset
        sells queries on it at a per-query price while keeping its NFT.
        A buyer prepays N queries; for each query the owner's node answers,
        the owner records it here with the buyer's EIP-712 signature of
        QueryRequest(orderId, index, queryHash) and is paid the query's
        price less the brokerage fee; after the usage window anyone
        expires the order and the unused credit is owed back to the buyer.
@dev A deployable on the shared escrow module (the same accounting and
     pull payments as the Market), so a later sale of compute jobs can
     reuse it. Listing and order ids start above `ID_OFFSET`, so they never
     collide with the Market's ids in an off-chain index. Every function
     that moves value is non-reentrant; value only leaves through
     `withdraw`. Invariant, per payment token: balance = `escrowed` + sum
     of `pending_withdrawals`. Listings (3 slots) and orders (2 slots) are
     packed; `listing()` and `order()` return the Market's unpacked shapes.
"""

from snekmate.auth import ownable
from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator

from .interfaces import ICatalog
from .interfaces import IOrderParties
from .interfaces import IRegistry
from .modules import escrow
from .modules import states

implements: IOrderParties

initializes: ownable
initializes: eip712_domain_separator
initializes: escrow

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    eip712_domain_separator.eip712Domain,
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
)


MAX_FEE_BPS: public(constant(uint256)) = states.MAX_FEE_BPS
MIN_WINDOW: public(constant(uint256)) = states.MIN_WINDOW
MAX_WINDOW: public(constant(uint256)) = states.MAX_WINDOW
MAX_QUERIES: public(constant(uint256)) = states.MAX_QUERIES
MAX_MANAGEMENT_FEE: public(constant(uint256)) = states.MAX_MANAGEMENT_FEE

# Listing and order ids are ID_OFFSET + 1, ID_OFFSET + 2, ... (the Market's
# start at 1 and stay far below).
ID_OFFSET: public(constant(uint256)) = states.USE_RIGHTS_ID_OFFSET

# EIP-712 struct the buyer signs to authorise one query against its credit.
QUERY_REQUEST_TYPEHASH: public(constant(bytes32)) = keccak256(
    "QueryRequest(uint256 orderId,uint256 index,bytes32 queryHash)"
)

REGISTRY: public(immutable(IRegistry))
CATALOG: public(immutable(ICatalog))


# Same shape as the Market's Listed (kind USE_RIGHT, pricing FIXED,
# collateral 0, delivery_window = usage window, confirm_window 0).
event Listed:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)
    kind: states.SaleKind
    pricing: states.Pricing
    price: uint256
    collateral: uint256
    payment_token: address
    delivery_window: uint256
    confirm_window: uint256
    management_fee: uint256

event UseRightTerms:
    listing_id: indexed(uint256)
    max_queries: uint256
    policy_hash: bytes32

event ListingCancelled:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)

# Same shape as the Market's OrderPaid (collateral 0, deadline = end of the
# usage window).
event OrderPaid:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256
    fee_bps: uint256
    collateral: uint256
    queries: uint256
    deadline: uint256

event QueryAnswered:
    order_id: indexed(uint256)
    index: indexed(uint256)
    query_hash: bytes32
    result_hash: bytes32
    seller_amount: uint256
    fee: uint256

# Same shape as the Market's Settled (outcome USE_RIGHT_EXPIRED).
event Settled:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    outcome: indexed(states.Outcome)
    seller_credit: uint256
    buyer_credit: uint256
    fee: uint256

event ParametersChanged:
    fee_bps: uint256
    management_fee: uint256


# Stored form (3 slots): `head` = seller | state << 160 | usage_window <<
# 168 | max_queries << 200; `asset` = payment_token | token_id << 160 |
# fee_bps << 240 (the brokerage fee in force when the seller listed; Catalog
# ids are sequential, far below 2**80).
struct StoredListing:
    head: uint256
    asset: uint256
    price: uint256


# Stored form (2 slots), as in the Market: `head` = buyer | state << 160 |
# fee_bps << 168 | deadline << 184 | queries_left << 224 (at most
# MAX_QUERIES, below 2**31) | distinct << 255 (1 when buyer and seller were
# checked to be in different organisations); `body` = listing_id |
# queries_total << 64 | amount << 96 (amount below 2**160).
struct StoredOrder:
    head: uint256
    body: uint256


_listings: HashMap[uint256, StoredListing]
_orders: HashMap[uint256, StoredOrder]
# The last ids given out; they start at ID_OFFSET (set at deployment, so the
# first listing and the first order update a non-zero slot).
_last_listing_id: uint256
_last_order_id: uint256
fee_bps: public(uint256)
management_fee: public(uint256)


@deploy
def __init__(registry: address, catalog: address, fee_bps: uint256):
    """
    @notice The deployer (the platform) is the owner and the recipient of
            fees. The management fee starts at 0.
    @param registry The Registry (audited members may trade).
    @param catalog The Catalog whose datasets are queried.
    @param fee_bps Brokerage fee in basis points (at most 1,000 = 10 %).
    """
    assert fee_bps <= states.MAX_FEE_BPS, "use-rights: fee too high"
    ownable.__init__()
    eip712_domain_separator.__init__("Datagora UseRights", "1")
    REGISTRY = IRegistry(registry)
    CATALOG = ICatalog(catalog)
    self.fee_bps = fee_bps
    self._last_listing_id = ID_OFFSET
    self._last_order_id = ID_OFFSET


@external
@payable
@nonreentrant
def list_use_right(
    token_id: uint256,
    price_per_query: uint256,
    max_queries: uint256,
    usage_window: uint256,
    payment_token: address,
    policy_hash: bytes32,
) -> uint256:
    """
    @notice Sell use-rights on dataset `token_id` per query: buyers prepay
            up to `max_queries` queries, valid for `usage_window` seconds;
            the owner keeps the NFT and its node answers the queries the
            W3C ODRL policy whose keccak256 is `policy_hash` allows.
            `msg.value` is the management fee (wei).
    @param token_id The dataset, owned by the caller.
    @param price_per_query Price of one query, > 0, in the payment token's
           smallest unit (wei).
    @param max_queries Most queries one order may buy (1..MAX_QUERIES).
    @param usage_window Seconds an order's credit stays usable
           (MIN_WINDOW..MAX_WINDOW).
    @param payment_token ERC-20 contract, or empty(address) for ether.
    @param policy_hash keccak256 of the ODRL policy (JSON-LD), non-zero.
    @return The listing id (ID_OFFSET + 1 for the first).
    """
    self._check_seller(token_id)
    assert price_per_query > 0, "use-rights: zero price"
    assert max_queries > 0 and max_queries <= states.MAX_QUERIES, "use-rights: bad max queries"
    assert usage_window >= states.MIN_WINDOW and usage_window <= states.MAX_WINDOW, "use-rights: bad usage window"
    assert policy_hash != empty(bytes32), "use-rights: empty policy hash"
    escrow._check_token(payment_token)
    fee: uint256 = self.management_fee
    assert msg.value == fee, "use-rights: wrong value"
    if fee > 0:
        escrow._credit(ownable.owner, empty(address), fee)
    listing_id: uint256 = self._last_listing_id + 1
    self._last_listing_id = listing_id
    self._listings[listing_id] = StoredListing(
        head=(
            convert(convert(msg.sender, uint160), uint256)
            | (convert(states.ListingState.ACTIVE, uint256) << 160)
            | (usage_window << 168)
            | (max_queries << 200)
        ),
        asset=convert(convert(payment_token, uint160), uint256) | (token_id << 160) | (self.fee_bps << 240),
        price=price_per_query,
    )
    log Listed(
        listing_id=listing_id,
        token_id=token_id,
        seller=msg.sender,
        kind=states.SaleKind.USE_RIGHT,
        pricing=states.Pricing.FIXED,
        price=price_per_query,
        collateral=0,
        payment_token=payment_token,
        delivery_window=usage_window,
        confirm_window=0,
        management_fee=fee,
    )
    log UseRightTerms(listing_id=listing_id, max_queries=max_queries, policy_hash=policy_hash)
    return listing_id


@external
@nonreentrant
def cancel(listing_id: uint256):
    """
    @notice Withdraw an active use-right listing: no new orders; running
            orders continue until they are used up or expire.
    @param listing_id The listing, whose seller is the caller.
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.seller == msg.sender, "use-rights: not seller"
    assert listing.state == states.ListingState.ACTIVE, "use-rights: listing not active"
    self._set_listing_state(listing_id, states.ListingState.CANCELLED)
    log ListingCancelled(listing_id=listing_id, token_id=listing.token_id, seller=msg.sender)


@external
@payable
@nonreentrant
def buy_queries(listing_id: uint256, queries: uint256) -> uint256:
    """
    @notice Prepay `queries` queries of a use-right listing at its
            per-query price (ether as msg.value, an ERC-20 by transferFrom
            after approve); the credit is usable for the listing's usage
            window, unused credit returns by `expire` afterwards.
    @param listing_id The listing.
    @param queries Number of queries, 1..the listing's max_queries.
    @return The order id (ID_OFFSET + 1 for the first).
    """
    listing: states.Listing = self._listing(listing_id)
    distinct: bool = self._check_buyer(listing, msg.sender)
    assert queries > 0 and queries <= listing.max_queries, "use-rights: bad query count"
    # A use-right is only worth buying from the data's current owner (not after it sold or listed the NFT).
    assert staticcall CATALOG.ownerOf(listing.token_id) == listing.seller, "use-rights: seller not token owner"
    amount: uint256 = listing.price * queries
    assert msg.value == escrow._ether_due(listing.payment_token, amount), "use-rights: wrong value"
    escrow._pull(listing.payment_token, msg.sender, amount)
    assert amount <= states.MAX_AMOUNT, "use-rights: amount too large"
    order_id: uint256 = self._last_order_id + 1
    self._last_order_id = order_id
    deadline: uint256 = block.timestamp + listing.delivery_window
    # The seller's open listing keeps the fee it agreed to; a lower fee now applies to it.
    fee_bps: uint256 = min(self.fee_bps, self._listings[listing_id].asset >> 240)
    self._save_order(
        order_id,
        states.Order(
            listing_id=listing_id,
            buyer=msg.sender,
            amount=amount,
            state=states.OrderState.PAID,
            fee_bps=fee_bps,
            deadline=deadline,
            queries_left=queries,
            queries_total=queries,
        ),
        distinct,
    )
    log OrderPaid(
        order_id=order_id,
        listing_id=listing_id,
        buyer=msg.sender,
        amount=amount,
        fee_bps=fee_bps,
        collateral=0,
        queries=queries,
        deadline=deadline,
    )
    return order_id


@external
@nonreentrant
def record_query(order_id: uint256, query_hash: bytes32, result_hash: bytes32, signature: Bytes[65]):
    """
    @notice The seller records one query it answered and is paid its price
            less the brokerage fee. The buyer authorised the query by
            signing the EIP-712 struct QueryRequest(orderId, index,
            queryHash), index = queries used so far, so a signature cannot
            be replayed.
    @param order_id The use-right order.
    @param query_hash keccak256 of the canonical query specification.
    @param result_hash keccak256 of the canonical result the seller returned.
    @param signature The buyer's 65-byte EIP-712 signature (or 64-byte
           EIP-2098 compact signature).
    """
    order: states.Order = self._order(order_id)
    assert order.state == states.OrderState.PAID, "use-rights: order not paid"
    listing: states.Listing = self._listing(order.listing_id)
    assert listing.seller == msg.sender, "use-rights: not seller"
    assert block.timestamp <= order.deadline, "use-rights: usage window over"
    assert order.queries_left > 0, "use-rights: no queries left"
    index: uint256 = order.queries_total - order.queries_left
    digest: bytes32 = self._query_digest(order_id, index, query_hash)
    assert ecdsa._recover_sig(digest, signature) == order.buyer, "use-rights: bad buyer signature"
    fee: uint256 = listing.price * order.fee_bps // 10_000
    order.queries_left -= 1
    order.amount -= listing.price
    self._save_order(order_id, order, self._distinct(order_id))
    log QueryAnswered(
        order_id=order_id, index=index, query_hash=query_hash, result_hash=result_hash, seller_amount=listing.price - fee, fee=fee
    )
    escrow._release(msg.sender, listing.payment_token, listing.price - fee)
    escrow._release(ownable.owner, listing.payment_token, fee)


@external
@nonreentrant
def expire(order_id: uint256):
    """
    @notice After an order's usage window anyone closes it: the unused
            credit is owed back to the buyer (withdraw it here). The order
            ends Refunded when no query was used, Completed otherwise.
    @param order_id The use-right order.
    """
    order: states.Order = self._order(order_id)
    assert order.state == states.OrderState.PAID, "use-rights: order not paid"
    assert block.timestamp > order.deadline, "use-rights: usage window not over"
    payment_token: address = self._listing(order.listing_id).payment_token
    refund: uint256 = order.amount
    order.amount = 0
    if order.queries_left == order.queries_total:
        order.state = states.OrderState.REFUNDED
    else:
        order.state = states.OrderState.COMPLETED
    self._save_order(order_id, order, self._distinct(order_id))
    log Settled(
        order_id=order_id,
        listing_id=order.listing_id,
        outcome=states.Outcome.USE_RIGHT_EXPIRED,
        seller_credit=0,
        buyer_credit=refund,
        fee=0,
    )
    escrow._release(order.buyer, payment_token, refund)


@external
def set_parameters(new_fee_bps: uint256, new_management_fee: uint256):
    """
    @notice Platform only. The brokerage fee applies to orders opened
            afterwards, but never above the fee in force when their listing
            was made (a seller's open listing keeps the fee it agreed to; a
            lower fee applies to it), the management fee (wei) to later
            listings.
    @param new_fee_bps Brokerage fee in basis points (at most 1,000).
    @param new_management_fee Fee per listing in wei (at most 1 ether).
    """
    ownable._check_owner()
    assert new_fee_bps <= states.MAX_FEE_BPS, "use-rights: fee too high"
    assert new_management_fee <= states.MAX_MANAGEMENT_FEE, "use-rights: management fee too high"
    self.fee_bps = new_fee_bps
    self.management_fee = new_management_fee
    log ParametersChanged(fee_bps=new_fee_bps, management_fee=new_management_fee)


@view
@external
def listing_count() -> uint256:
    """
    @notice How many use-right listings were made.
    @return The count (the last listing id is ID_OFFSET + count).
    """
    return self._last_listing_id - ID_OFFSET


@view
@external
def order_count() -> uint256:
    """
    @notice How many use-right orders were opened.
    @return The count (the last order id is ID_OFFSET + count).
    """
    return self._last_order_id - ID_OFFSET


@view
@external
def listing(listing_id: uint256) -> states.Listing:
    """
    @notice The listing, unpacked in the Market's shape (kind USE_RIGHT,
            `delivery_window` = usage window, `price` per query; all zero
            when there is no such listing).
    @param listing_id The listing id.
    @return The listing.
    """
    return self._listing(listing_id)


@view
@external
def listing_fee_bps(listing_id: uint256) -> uint256:
    """
    @notice The brokerage fee (basis points) in force when the listing was
            made: the most its orders pay (less when `fee_bps` is lower).
    @param listing_id The listing id.
    @return The fee in basis points (0 for no such listing).
    """
    return self._listings[listing_id].asset >> 240


@view
@external
def order(order_id: uint256) -> states.Order:
    """
    @notice The order, unpacked (`amount` = credit left, `deadline` = end
            of the usage window; state 0 = no such order).
    @param order_id The order id.
    @return The order.
    """
    return self._order(order_id)


@view
@external
def order_parties(order_id: uint256) -> (address, address, states.OrderState, bool, bool):
    """
    @notice Buyer, seller and state of an order, whether at least one
            query was answered, and whether the parties were checked to be
            in different organisations (IOrderParties).
    @param order_id The order id.
    @return The buyer, the seller, the order state (0 = no such order),
            True once a query was answered, and True when the order opened
            with buyer and seller in different organisations.
    """
    order: states.Order = self._order(order_id)
    return (
        order.buyer,
        self._listing(order.listing_id).seller,
        order.state,
        order.queries_left < order.queries_total,
        self._distinct(order_id),
    )


@view
@external
def query_digest(order_id: uint256, index: uint256, query_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest the buyer signs to authorise query `index`.
    @param order_id The use-right order.
    @param index Queries used so far on the order.
    @param query_hash keccak256 of the canonical query specification.
    @return The digest of QueryRequest(orderId, index, queryHash).
    """
    return self._query_digest(order_id, index, query_hash)


@internal
@view
def _check_seller(token_id: uint256):
    """
    @notice The caller is an audited member and owns dataset `token_id`.
    @dev Reverts "use-rights: seller not audited" / "use-rights: not token
         owner".
    @param token_id The dataset.
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "use-rights: seller not audited"
    assert staticcall CATALOG.ownerOf(token_id) == msg.sender, "use-rights: not token owner"


@internal
@view
def _check_buyer(listing: states.Listing, buyer: address) -> bool:
    """
    @notice The listing is active and both parties may trade.
    @dev Reverts "use-rights: listing not active", "use-rights: own
         listing", "use-rights: buyer not audited" or "use-rights: seller
         not audited".
    @param listing The listing, unpacked.
    @param buyer The would-be buyer.
    @return True when buyer and seller belong to different organisations.
    """
    assert listing.state == states.ListingState.ACTIVE, "use-rights: listing not active"
    assert listing.seller != buyer, "use-rights: own listing"
    buyer_organisation: uint256 = staticcall REGISTRY.audited_organisation(buyer)
    assert buyer_organisation != 0, "use-rights: buyer not audited"
    seller_organisation: uint256 = staticcall REGISTRY.audited_organisation(listing.seller)
    assert seller_organisation != 0, "use-rights: seller not audited"
    return buyer_organisation != seller_organisation


@internal
@view
def _query_digest(order_id: uint256, index: uint256, query_hash: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest of QueryRequest(orderId, index, queryHash)
            in this contract's domain.
    @param order_id The use-right order.
    @param index Queries used so far on the order.
    @param query_hash keccak256 of the canonical query specification.
    @return The typed-data digest (EIP-712 `hashTypedData`).
    """
    struct_hash: bytes32 = keccak256(abi_encode(QUERY_REQUEST_TYPEHASH, order_id, index, query_hash))
    return eip712_domain_separator._hash_typed_data_v4(struct_hash)


@internal
@view
def _listing(listing_id: uint256) -> states.Listing:
    """
    @notice Unpack a stored listing into the Market's listing shape.
    @param listing_id The listing id.
    @return The listing (all zero when it does not exist).
    """
    stored: StoredListing = self._listings[listing_id]
    head: uint256 = stored.head
    if head == 0:
        return empty(states.Listing)
    return states.Listing(
        seller=convert(convert(head & (2**160 - 1), uint160), address),
        token_id=(stored.asset >> 160) & (2**80 - 1),
        kind=states.SaleKind.USE_RIGHT,
        pricing=states.Pricing.FIXED,
        state=convert((head >> 160) & 255, states.ListingState),
        price=stored.price,
        collateral=0,
        payment_token=convert(convert(stored.asset & (2**160 - 1), uint160), address),
        delivery_window=(head >> 168) & (2**32 - 1),
        confirm_window=0,
        max_queries=head >> 200,
    )


@internal
def _set_listing_state(listing_id: uint256, state: states.ListingState):
    """
    @notice Overwrite the state byte of a stored listing.
    @param listing_id The listing id.
    @param state The new listing state.
    """
    head: uint256 = self._listings[listing_id].head
    self._listings[listing_id].head = (head & ~(255 << 160)) | (convert(state, uint256) << 160)


@internal
@view
def _order(order_id: uint256) -> states.Order:
    """
    @notice Unpack a stored order.
    @param order_id The order id.
    @return The order (all zero when it does not exist).
    """
    stored: StoredOrder = self._orders[order_id]
    head: uint256 = stored.head
    body: uint256 = stored.body
    return states.Order(
        listing_id=body & (2**64 - 1),
        buyer=convert(convert(head & (2**160 - 1), uint160), address),
        amount=body >> 96,
        state=convert((head >> 160) & 255, states.OrderState),
        fee_bps=(head >> 168) & (2**16 - 1),
        deadline=(head >> 184) & (2**40 - 1),
        queries_left=(head >> 224) & (2**31 - 1),
        queries_total=(body >> 64) & (2**32 - 1),
    )


@internal
def _save_order(order_id: uint256, order: states.Order, distinct: bool):
    """
    @notice Pack and store an order (2 slots).
    @param order_id The order id.
    @param order The order; amount below 2**160, checked by the caller.
    @param distinct True when buyer and seller belong to different
           organisations (bit 255 of the head).
    """
    head: uint256 = (
        convert(convert(order.buyer, uint160), uint256)
        | (convert(order.state, uint256) << 160)
        | (order.fee_bps << 168)
        | (order.deadline << 184)
        | (order.queries_left << 224)
        | (convert(distinct, uint256) << 255)
    )
    body: uint256 = order.listing_id | (order.queries_total << 64) | (order.amount << 96)
    self._orders[order_id] = StoredOrder(head=head, body=body)


@internal
@view
def _distinct(order_id: uint256) -> bool:
    """
    @notice Whether the order opened with buyer and seller checked to be in
            different organisations.
    @param order_id The order id.
    @return Bit 255 of the stored order's head.
    """
    return self._orders[order_id].head >> 255 == 1
