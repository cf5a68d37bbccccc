# pragma version ~=0.4.3
"""
@title Order book of the Datagora Market
@notice The Market's record of what is for sale and what was bought: its
        ownership listings and orders in their packed storage, the id
        counters, the brokerage fee in force, the Registry and Catalog it
        trades against, buying a FIXED-price listing (`buy`), and the two
        steps every way of buying shares: checking that a buyer may buy a
        listing (`_check_buyer`) and opening a paid order on it
        (`_open_order`, event OrderPaid).
@dev The Market `initializes:` this module with the escrow it `uses:`,
     calls its `__init__` and exports `buy`, `fee_bps` and `CATALOG`; the
     negotiation, English auction and order lifecycle modules `uses:` it.
     Storage, packed (the gas of every step depends on it):
     - a listing is 4 slots (`StoredListing`): `head` = seller | kind << 160
       | pricing << 168 | state << 176 | delivery_window << 184 |
       confirm_window << 216; `asset` = payment_token | token_id << 160 |
       fee_bps << 240 (the brokerage fee in force when the seller listed;
       Catalog ids are sequential, far below 2**80); then price and
       collateral;
     - an order is 1 word: buyer | state << 160 | fee_bps << 168 (11 bits,
       at most MAX_FEE_BPS) | deadline << 179 (40 bits) | delivered << 219
       (1 once `deliver` ran) | distinct << 220 (1 when the order opened
       with buyer and seller checked to be in different organisations) |
       own_amount << 221 (1 when the amount agreed differs from the
       listing's price and is kept in `_amounts`) | listing_id << 222 (34
       bits; Market ids stay below USE_RIGHTS_ID_OFFSET). The unpacked
       `states.Order` carries delivered in `queries_left` and distinct |
       own_amount << 1 in `queries_total`; the Market's `order()` view
       returns both as 0 (UseRights' fields);
     - `_counts` = listing_count | order_count << 64 | offer_count << 128,
       with COUNTS_SET (bit 255) set at deploy so the slot is never zero
       and the first listing, order and offer update a non-zero slot
       (2,900 gas) instead of filling a fresh one (22,100 gas).
     Invariants: ids start at 1 and the counters only grow; an order's
     listing exists and is PENDING, SOLD or CLOSED once the order is open;
     an order's amount is at most states.MAX_AMOUNT and its fee at most
     the listing's.
"""

from ..interfaces import ICatalog
from ..interfaces import IRegistry
from . import escrow
from . import states

uses: escrow


ORDER_DELIVERED_BIT: constant(uint256) = 219
ORDER_FLAGS_BIT: constant(uint256) = 220
ORDER_LISTING_BIT: constant(uint256) = 222
OWN_AMOUNT: constant(uint256) = 2
COUNTS_SET: constant(uint256) = 1 << 255
# Bit offsets of the three counters in `_counts`.
LISTING_COUNTER: constant(uint256) = 0
ORDER_COUNTER: constant(uint256) = 64
OFFER_COUNTER: constant(uint256) = 128


REGISTRY: immutable(IRegistry)
CATALOG: public(immutable(ICatalog))


event OrderPaid:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256
    fee_bps: uint256
    collateral: uint256
    queries: uint256
    deadline: uint256


# Stored form of a listing (4 slots), see the module's @dev.
struct StoredListing:
    head: uint256
    asset: uint256
    price: uint256
    collateral: uint256


_listings: HashMap[uint256, StoredListing]
_orders: HashMap[uint256, uint256]
_amounts: HashMap[uint256, uint256]
_counts: uint256
fee_bps: public(uint256)


@deploy
def __init__(registry: address, catalog: address, fee_bps: uint256):
    """
    @notice The Registry and Catalog the market trades against, the
            brokerage fee, and the counters' never-zero bit.
    @dev The caller checks `fee_bps` (at most MAX_FEE_BPS).
    @param registry The Registry (audited members may trade).
    @param catalog The Catalog whose data NFTs are sold.
    @param fee_bps Brokerage fee in basis points.
    """
    REGISTRY = IRegistry(registry)
    CATALOG = ICatalog(catalog)
    self.fee_bps = fee_bps
    self._counts = COUNTS_SET


@external
@payable
@nonreentrant
def buy(listing_id: uint256) -> uint256:
    """
    @notice Buy a fixed-price ownership listing: pay `price` plus the
            listing's `collateral` into escrow (ether as msg.value, an
            ERC-20 by transferFrom after approve).
    @return The order id (starting at 1).
    @param listing_id The listing id.
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.pricing == states.Pricing.FIXED, "market: not a fixed-price sale"
    distinct: bool = self._check_buyer(listing, msg.sender)
    assert msg.value == escrow._ether_due(listing.payment_token, listing.price + listing.collateral), "market: wrong value"
    escrow._pull(listing.payment_token, msg.sender, listing.price + listing.collateral)
    return self._open_order(listing_id, listing, msg.sender, listing.price, distinct)


@internal
@view
def _check_buyer(listing: states.Listing, buyer: address) -> bool:
    """
    @notice The listing is active and both parties may trade.
    @dev Reverts "market: listing not active", "market: own listing",
         "market: buyer not audited" or "market: seller not audited".
    @param listing The listing, unpacked.
    @param buyer The would-be buyer.
    @return True when buyer and seller belong to different organisations.
    """
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    assert listing.seller != buyer, "market: own listing"
    buyer_organisation: uint256 = staticcall REGISTRY.audited_organisation(buyer)
    assert buyer_organisation != 0, "market: buyer not audited"
    seller_organisation: uint256 = staticcall REGISTRY.audited_organisation(listing.seller)
    assert seller_organisation != 0, "market: seller not audited"
    return buyer_organisation != seller_organisation


@internal
def _open_order(
    listing_id: uint256, listing: states.Listing, buyer: address, amount: uint256, distinct: bool
) -> uint256:
    """
    @notice Open a paid order on a listing whose price and collateral are
            already escrowed; the listing becomes pending.
    @dev Reverts "market: amount too large" above 2**160 - 1.
    @param listing_id The listing id.
    @param listing The listing, unpacked.
    @param buyer The buyer.
    @param amount The price agreed (wei or token units).
    @param distinct True when buyer and seller were checked to belong to
           different organisations (kept for Reputation).
    @return The new order id.
    """
    # Funds (amount + collateral) are already in escrow when this runs.
    assert amount <= states.MAX_AMOUNT, "market: amount too large"
    order_id: uint256 = self._next_id(ORDER_COUNTER)
    deadline: uint256 = block.timestamp + listing.delivery_window
    fee_bps: uint256 = min(self.fee_bps, self._listings[listing_id].asset >> 240)
    self._save_order(
        order_id,
        states.Order(
            listing_id=listing_id,
            buyer=buyer,
            amount=amount,
            state=states.OrderState.PAID,
            fee_bps=fee_bps,
            deadline=deadline,
            queries_left=0,
            queries_total=convert(distinct, uint256) | (OWN_AMOUNT if amount != listing.price else 0),
        ),
    )
    if amount != listing.price:
        self._amounts[order_id] = amount
    self._set_listing_state(listing_id, states.ListingState.PENDING)
    log OrderPaid(
        order_id=order_id,
        listing_id=listing_id,
        buyer=buyer,
        amount=amount,
        fee_bps=fee_bps,
        collateral=listing.collateral,
        queries=0,
        deadline=deadline,
    )
    return order_id


@internal
@view
def _listing(listing_id: uint256) -> states.Listing:
    """
    @notice Unpack a stored listing.
    @param listing_id The listing id.
    @return The listing (all zero when it does not exist).
    """
    stored: StoredListing = self._listings[listing_id]
    head: uint256 = stored.head
    return states.Listing(
        seller=convert(convert(head & (2**160 - 1), uint160), address),
        token_id=(stored.asset >> 160) & (2**80 - 1),
        kind=convert((head >> 160) & 255, states.SaleKind),
        pricing=convert((head >> 168) & 255, states.Pricing),
        state=convert((head >> 176) & 255, states.ListingState),
        price=stored.price,
        collateral=stored.collateral,
        payment_token=convert(convert(stored.asset & (2**160 - 1), uint160), address),
        delivery_window=(head >> 184) & (2**32 - 1),
        confirm_window=(head >> 216) & (2**32 - 1),
        max_queries=0,
    )


@internal
def _save_listing(listing_id: uint256, listing: states.Listing, fee_bps: uint256):
    """
    @notice Pack and store a listing (4 slots).
    @param listing_id The listing id.
    @param listing The listing, unpacked.
    @param fee_bps The brokerage fee its orders pay at most.
    """
    head: uint256 = (
        convert(convert(listing.seller, uint160), uint256)
        | (convert(listing.kind, uint256) << 160)
        | (convert(listing.pricing, uint256) << 168)
        | (convert(listing.state, uint256) << 176)
        | (listing.delivery_window << 184)
        | (listing.confirm_window << 216)
    )
    self._listings[listing_id] = StoredListing(
        head=head,
        asset=convert(convert(listing.payment_token, uint160), uint256) | (listing.token_id << 160) | (fee_bps << 240),
        price=listing.price,
        collateral=listing.collateral,
    )


@internal
def _set_listing_state(listing_id: uint256, state: states.ListingState):
    """
    @notice Overwrite the state byte of a stored listing.
    @param listing_id The listing id.
    @param state The new listing state.
    """
    head: uint256 = self._listings[listing_id].head
    self._listings[listing_id].head = (head & ~(255 << 176)) | (convert(state, uint256) << 176)


@internal
@view
def _order(order_id: uint256) -> states.Order:
    """
    @notice Unpack a stored order.
    @param order_id The order id.
    @return The order (all zero when it does not exist).
    """
    head: uint256 = self._orders[order_id]
    flags: uint256 = (head >> ORDER_FLAGS_BIT) & 3
    listing_id: uint256 = head >> ORDER_LISTING_BIT
    amount: uint256 = 0
    if flags & OWN_AMOUNT != 0:
        amount = self._amounts[order_id]
    elif head != 0:
        amount = self._listings[listing_id].price
    return states.Order(
        listing_id=listing_id,
        buyer=convert(convert(head & (2**160 - 1), uint160), address),
        amount=amount,
        state=convert((head >> 160) & 255, states.OrderState),
        fee_bps=(head >> 168) & (2**11 - 1),
        deadline=(head >> 179) & (2**40 - 1),
        queries_left=(head >> ORDER_DELIVERED_BIT) & 1,
        queries_total=flags,
    )


@internal
def _save_order(order_id: uint256, order: states.Order):
    """
    @notice Pack and store an order's word (its amount, when it differs
            from the listing's price, is stored once by `_open_order`).
    @param order_id The order id.
    @param order The order, unpacked.
    """
    self._orders[order_id] = (
        convert(convert(order.buyer, uint160), uint256)
        | (convert(order.state, uint256) << 160)
        | (order.fee_bps << 168)
        | (order.deadline << 179)
        | (order.queries_left << ORDER_DELIVERED_BIT)
        | (order.queries_total << ORDER_FLAGS_BIT)
        | (order.listing_id << ORDER_LISTING_BIT)
    )


@internal
def _next_id(offset: uint256) -> uint256:
    """
    @notice Count one more listing (LISTING_COUNTER), order
            (ORDER_COUNTER) or offer (OFFER_COUNTER) in the shared counter
            slot.
    @param offset The counter's bit offset in `_counts`.
    @return The new id (the count after this one).
    """
    counts: uint256 = self._counts
    new_id: uint256 = ((counts >> offset) & (2**64 - 1)) + 1
    self._counts = counts + (1 << offset)
    return new_id


@internal
@view
def _count(offset: uint256) -> uint256:
    """
    @notice One of the counters in `_counts`.
    @param offset The counter's bit offset.
    @return The count.
    """
    return (self._counts >> offset) & (2**64 - 1)
