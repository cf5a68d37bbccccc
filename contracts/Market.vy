# pragma version ~=0.4.3
"""
@title Datagora Market (first cut)
@notice Fixed-price sale of dataset ownership in ether through escrow,
        after Wu et al. section III.A steps 9-24: the seller lists a data
        NFT (held by the market while listed), the buyer pays into escrow,
        the seller delivers (commits the hash of the ciphertext it sent),
        the buyer confirms, the seller withdraws (pull payment) and the NFT
        moves to the buyer. Not delivered by the delivery deadline: anyone
        may trigger the refund. Delivered but not confirmed by the
        confirmation deadline: anyone may release the payment to the seller.
        The platform (owner) takes a fee in basis points fixed at purchase.
@dev Checks-effects-interactions throughout; ether only leaves through
     `withdraw`, which is non-reentrant.
"""

from snekmate.auth import ownable

initializes: ownable

exports: (
    ownable.owner,
    ownable.transfer_ownership,
)


interface IRegistry:
    def is_audited(account: address) -> bool: view

interface ICatalog:
    def ownerOf(token_id: uint256) -> address: view
    def transferFrom(owner: address, to: address, token_id: uint256): nonpayable


LISTING_ACTIVE: constant(uint8) = 1
LISTING_PENDING: constant(uint8) = 2
LISTING_SOLD: constant(uint8) = 3
LISTING_CANCELLED: constant(uint8) = 4
LISTING_CLOSED: constant(uint8) = 5

ORDER_PAID: constant(uint8) = 1
ORDER_DELIVERED: constant(uint8) = 2
ORDER_COMPLETED: constant(uint8) = 3
ORDER_REFUNDED: constant(uint8) = 4

MAX_FEE_BPS: public(constant(uint256)) = 1_000
MIN_WINDOW: public(constant(uint256)) = 60
MAX_WINDOW: public(constant(uint256)) = 365 * 86_400

REGISTRY: public(immutable(IRegistry))
CATALOG: public(immutable(ICatalog))


event Listed:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)
    price: uint256
    delivery_window: uint256
    confirm_window: uint256

event ListingCancelled:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)

event OrderPaid:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    price: uint256
    fee: uint256
    delivery_deadline: uint256

event Delivered:
    order_id: indexed(uint256)
    seller: indexed(address)
    delivery_hash: bytes32
    confirm_deadline: uint256

event Confirmed:
    order_id: indexed(uint256)
    buyer: indexed(address)
    token_id: indexed(uint256)
    seller_amount: uint256
    fee: uint256
    by_deadline: bool

event Refunded:
    order_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256

event FeeChanged:
    old_fee_bps: uint256
    new_fee_bps: uint256


struct Listing:
    seller: address
    token_id: uint256
    price: uint256
    delivery_window: uint256
    confirm_window: uint256
    state: uint8


struct Order:
    listing_id: uint256
    buyer: address
    fee: uint256
    deadline: uint256
    state: uint8
    delivery_hash: bytes32


listings: public(HashMap[uint256, Listing])
orders: public(HashMap[uint256, Order])
listing_count: public(uint256)
order_count: public(uint256)
fee_bps: public(uint256)
pending_withdrawals: public(HashMap[address, uint256])
escrowed: public(uint256)


@deploy
def __init__(registry: address, catalog: address, fee_bps: uint256):
    """
    @notice The deployer (the platform) receives the fees.
    @param fee_bps Platform fee in basis points (at most 1,000 = 10 %).
    """
    assert fee_bps <= MAX_FEE_BPS, "market: fee too high"
    ownable.__init__()
    REGISTRY = IRegistry(registry)
    CATALOG = ICatalog(catalog)
    self.fee_bps = fee_bps


@external
def list(token_id: uint256, price: uint256, delivery_window: uint256, confirm_window: uint256) -> uint256:
    """
    @notice Offer the ownership of dataset `token_id` for `price` wei. The
            market takes custody of the NFT (the caller must have approved
            the market) until the sale completes or the listing is cancelled.
    @param price Price in wei, > 0.
    @param delivery_window Seconds the seller has to deliver after payment.
    @param confirm_window Seconds the buyer has to confirm after delivery.
    @return The listing id (starting at 1).
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "market: seller not audited"
    assert staticcall CATALOG.ownerOf(token_id) == msg.sender, "market: not token owner"
    assert price > 0, "market: zero price"
    assert delivery_window >= MIN_WINDOW and delivery_window <= MAX_WINDOW, "market: bad delivery window"
    assert confirm_window >= MIN_WINDOW and confirm_window <= MAX_WINDOW, "market: bad confirm window"
    listing_id: uint256 = self.listing_count + 1
    self.listing_count = listing_id
    self.listings[listing_id] = Listing(
        seller=msg.sender,
        token_id=token_id,
        price=price,
        delivery_window=delivery_window,
        confirm_window=confirm_window,
        state=LISTING_ACTIVE,
    )
    log Listed(
        listing_id=listing_id,
        token_id=token_id,
        seller=msg.sender,
        price=price,
        delivery_window=delivery_window,
        confirm_window=confirm_window,
    )
    extcall CATALOG.transferFrom(msg.sender, self, token_id)
    return listing_id


@external
@nonreentrant
def cancel(listing_id: uint256):
    """
    @notice Withdraw an active listing; the NFT returns to the seller.
    """
    listing: Listing = self.listings[listing_id]
    assert listing.seller == msg.sender, "market: not seller"
    assert listing.state == LISTING_ACTIVE, "market: listing not active"
    self.listings[listing_id].state = LISTING_CANCELLED
    log ListingCancelled(listing_id=listing_id, token_id=listing.token_id, seller=msg.sender)
    extcall CATALOG.transferFrom(self, msg.sender, listing.token_id)


@external
@payable
def buy(listing_id: uint256) -> uint256:
    """
    @notice Pay `price` wei into escrow for listing `listing_id`.
    @return The order id (starting at 1).
    """
    listing: Listing = self.listings[listing_id]
    assert listing.state == LISTING_ACTIVE, "market: listing not active"
    assert listing.seller != msg.sender, "market: own listing"
    assert staticcall REGISTRY.is_audited(msg.sender), "market: buyer not audited"
    assert staticcall REGISTRY.is_audited(listing.seller), "market: seller not audited"
    assert msg.value == listing.price, "market: wrong price"
    fee: uint256 = listing.price * self.fee_bps // 10_000
    deadline: uint256 = block.timestamp + listing.delivery_window
    order_id: uint256 = self.order_count + 1
    self.order_count = order_id
    self.orders[order_id] = Order(
        listing_id=listing_id, buyer=msg.sender, fee=fee, deadline=deadline, state=ORDER_PAID, delivery_hash=empty(bytes32)
    )
    self.listings[listing_id].state = LISTING_PENDING
    self.escrowed += msg.value
    log OrderPaid(order_id=order_id, listing_id=listing_id, buyer=msg.sender, price=msg.value, fee=fee, delivery_deadline=deadline)
    return order_id


@external
def deliver(order_id: uint256, delivery_hash: bytes32):
    """
    @notice Seller commits the SHA-256 of the ciphertext it delivered.
    """
    order: Order = self.orders[order_id]
    assert order.state == ORDER_PAID, "market: order not paid"
    listing: Listing = self.listings[order.listing_id]
    assert listing.seller == msg.sender, "market: not seller"
    assert block.timestamp <= order.deadline, "market: delivery deadline passed"
    assert delivery_hash != empty(bytes32), "market: empty delivery hash"
    confirm_deadline: uint256 = block.timestamp + listing.confirm_window
    self.orders[order_id].state = ORDER_DELIVERED
    self.orders[order_id].deadline = confirm_deadline
    self.orders[order_id].delivery_hash = delivery_hash
    log Delivered(order_id=order_id, seller=msg.sender, delivery_hash=delivery_hash, confirm_deadline=confirm_deadline)


@external
@nonreentrant
def confirm(order_id: uint256):
    """
    @notice Buyer confirms receipt: the payment less the fee is owed to the
            seller, the fee to the platform, and the NFT moves to the buyer.
    """
    order: Order = self.orders[order_id]
    assert order.buyer == msg.sender, "market: not buyer"
    assert order.state == ORDER_DELIVERED, "market: order not delivered"
    self._complete(order_id, order, False)


@external
@nonreentrant
def release(order_id: uint256):
    """
    @notice After the confirmation deadline, anyone completes a delivered
            but unconfirmed order in the seller's favour.
    """
    order: Order = self.orders[order_id]
    assert order.state == ORDER_DELIVERED, "market: order not delivered"
    assert block.timestamp > order.deadline, "market: confirm deadline not passed"
    self._complete(order_id, order, True)


@external
@nonreentrant
def refund(order_id: uint256):
    """
    @notice After the delivery deadline, anyone refunds an undelivered
            order: the payment is owed back to the buyer, the NFT returns
            to the seller and the listing closes.
    """
    order: Order = self.orders[order_id]
    assert order.state == ORDER_PAID, "market: order not paid"
    assert block.timestamp > order.deadline, "market: delivery deadline not passed"
    listing: Listing = self.listings[order.listing_id]
    self.orders[order_id].state = ORDER_REFUNDED
    self.listings[order.listing_id].state = LISTING_CLOSED
    self.escrowed -= listing.price
    self.pending_withdrawals[order.buyer] += listing.price
    log Refunded(order_id=order_id, buyer=order.buyer, amount=listing.price)
    extcall CATALOG.transferFrom(self, listing.seller, listing.token_id)


@external
@nonreentrant
def withdraw():
    """
    @notice Pay out everything owed to the caller (pull payment).
    """
    amount: uint256 = self.pending_withdrawals[msg.sender]
    assert amount > 0, "market: nothing to withdraw"
    self.pending_withdrawals[msg.sender] = 0
    log Withdrawn(account=msg.sender, amount=amount)
    # All gas is forwarded so contract accounts (multisigs, smart wallets) can receive; reentrancy is
    # excluded by the lock and by zeroing the balance first.
    raw_call(msg.sender, b"", value=amount)


@external
def set_fee(new_fee_bps: uint256):
    """
    @notice Platform only; applies to orders paid afterwards.
    """
    ownable._check_owner()
    assert new_fee_bps <= MAX_FEE_BPS, "market: fee too high"
    log FeeChanged(old_fee_bps=self.fee_bps, new_fee_bps=new_fee_bps)
    self.fee_bps = new_fee_bps


@internal
def _complete(order_id: uint256, order: Order, by_deadline: bool):
    listing: Listing = self.listings[order.listing_id]
    seller_amount: uint256 = listing.price - order.fee
    self.orders[order_id].state = ORDER_COMPLETED
    self.listings[order.listing_id].state = LISTING_SOLD
    self.escrowed -= listing.price
    self.pending_withdrawals[listing.seller] += seller_amount
    if order.fee > 0:
        self.pending_withdrawals[ownable.owner] += order.fee
    log Confirmed(
        order_id=order_id, buyer=order.buyer, token_id=listing.token_id, seller_amount=seller_amount, fee=order.fee, by_deadline=by_deadline
    )
    extcall CATALOG.transferFrom(self, order.buyer, listing.token_id)
