# pragma version ~=0.4.3
"""
@title Order lifecycle on the Market: delivery, confirmation, disputes,
       deadlines and settlement
@notice What happens to a paid ownership order (Wu et al., sections III.A
        and IV.A, with the double-deposit collateral of Shrestha et al.):
        the seller delivers (commits the ciphertext's SHA-256) before the
        delivery deadline; the buyer confirms, or the buyer or the
        platform disputes before the confirmation deadline and the
        platform (the owner, the arbiter) rules before the dispute
        deadline. Missed deadlines settle without the late party: not
        delivered -> refund (`refund`), delivered but not confirmed ->
        mandatory transfer to the seller (`release`), dispute not resolved
        -> each party gets its own money back (`refund`). Settlement
        credits each party from escrow (pull payments) and moves the NFT.
@dev The Market `initializes:` this module with the owner (`ownable`),
     the escrow and the order book it `uses:`, calls its `__init__` and
     exports its external functions and `dispute_window`. Order states:
     PAID -> DELIVERED -> (DISPUTED ->) COMPLETED or REFUNDED; PAID ->
     REFUNDED. Invariants: an open order (PAID, DELIVERED, DISPUTED) holds
     its amount plus twice the listing's collateral in escrow, a settled
     one (COMPLETED, REFUNDED) none; settlement releases exactly that sum
     (seller credit + buyer credit + fee) and hands the NFT to the buyer
     (COMPLETED, listing SOLD) or back to the seller (REFUNDED, listing
     CLOSED).
"""

from snekmate.auth import ownable

from . import escrow
from . import order_book
from . import states

uses: ownable
uses: escrow
uses: order_book


event Delivered:
    order_id: indexed(uint256)
    seller: indexed(address)
    delivery_hash: bytes32
    confirm_deadline: uint256

event Disputed:
    order_id: indexed(uint256)
    by: indexed(address)
    reason_hash: bytes32
    resolve_deadline: uint256

event Resolved:
    order_id: indexed(uint256)
    ruling: states.Ruling
    evidence_hash: bytes32

event Settled:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    outcome: indexed(states.Outcome)
    seller_credit: uint256
    buyer_credit: uint256
    fee: uint256


dispute_window: public(uint256)


@deploy
def __init__():
    """
    @notice The platform has 7 days to resolve a dispute until it sets
            another window.
    """
    self.dispute_window = 7 * 86_400


@external
def deliver(order_id: uint256, delivery_hash: bytes32):
    """
    @notice The seller commits the SHA-256 of the ciphertext it delivered
            (section III.A steps 13-21); the confirmation deadline starts.
    @param order_id The order id.
    @param delivery_hash SHA-256 of the delivered ciphertext, non-zero.
    """
    # Reads the order's word and the listing's first word only (not the amount): the floor of this step.
    word: uint256 = order_book._orders[order_id]
    assert (word >> 160) & 255 == convert(states.OrderState.PAID, uint256), "market: order not paid"
    head: uint256 = order_book._listings[word >> order_book.ORDER_LISTING_BIT].head
    assert convert(convert(head & (2**160 - 1), uint160), address) == msg.sender, "market: not seller"
    assert block.timestamp <= (word >> 179) & (2**40 - 1), "market: delivery deadline passed"
    assert delivery_hash != empty(bytes32), "market: empty delivery hash"
    deadline: uint256 = block.timestamp + ((head >> 216) & (2**32 - 1))
    # New state, new deadline and the delivered bit, in place.
    word = (word & ~((255 << 160) | ((2**40 - 1) << 179))) | (convert(states.OrderState.DELIVERED, uint256) << 160) | (deadline << 179) | (1 << order_book.ORDER_DELIVERED_BIT)
    order_book._orders[order_id] = word
    log Delivered(order_id=order_id, seller=msg.sender, delivery_hash=delivery_hash, confirm_deadline=deadline)


@external
@nonreentrant
def confirm(order_id: uint256):
    """
    @notice The buyer confirms a delivered (or disputed) order (section
            III.A steps 22-24): the price less the fee and the seller's
            collateral are owed to the seller, the buyer's collateral back
            to the buyer, the fee to the platform; the NFT moves to the
            buyer.
    @param order_id The order id.
    """
    order: states.Order = order_book._order(order_id)
    assert order.buyer == msg.sender, "market: not buyer"
    assert order.state in (states.OrderState.DELIVERED | states.OrderState.DISPUTED), "market: order not delivered"
    self._settle_for_seller(order_id, order, states.Outcome.CONFIRMED)


@external
def dispute(order_id: uint256, reason_hash: bytes32):
    """
    @notice The buyer, or the platform that found the send-receive board's
            fingerprints inconsistent, disputes a delivered order before its
            confirmation deadline (section IV.A.3). The platform then has
            `dispute_window` seconds to `resolve`.
    @param reason_hash keccak256 of the off-chain reason / evidence.
    @param order_id The order id.
    """
    order: states.Order = order_book._order(order_id)
    assert order.state == states.OrderState.DELIVERED, "market: order not delivered"
    assert msg.sender == order.buyer or msg.sender == ownable.owner, "market: not buyer or platform"
    assert block.timestamp <= order.deadline, "market: confirm deadline passed"
    order.state = states.OrderState.DISPUTED
    order.deadline = block.timestamp + self.dispute_window
    order_book._save_order(order_id, order)
    log Disputed(order_id=order_id, by=msg.sender, reason_hash=reason_hash, resolve_deadline=order.deadline)


@external
@nonreentrant
def resolve(order_id: uint256, ruling: states.Ruling, evidence_hash: bytes32):
    """
    @notice The platform settles a dispute (section IV.A.3) after
            fingerprinting the seller's re-upload (and, when the buyer
            disclosed the delivered ciphertext's data key, what the seller
            actually sent):
            states.Ruling.FOR_SELLER -> the sale completes and the buyer's
            collateral goes to the seller (the buyer's claim was false);
            states.Ruling.REDELIVERED -> the seller sent fabricated data but holds
            the real one, which the platform redelivers: the sale completes
            and the seller's collateral goes to the buyer;
            states.Ruling.FOR_BUYER -> the buyer is refunded and receives the
            seller's collateral, the NFT returns to the seller.
    @param ruling states.Ruling.FOR_SELLER, states.Ruling.REDELIVERED or states.Ruling.FOR_BUYER.
    @param evidence_hash keccak256 of the platform's fingerprint comparison.
    @param order_id The order id.
    """
    ownable._check_owner()
    assert (
        ruling == states.Ruling.FOR_SELLER or ruling == states.Ruling.REDELIVERED or ruling == states.Ruling.FOR_BUYER
    ), "market: bad ruling"
    order: states.Order = order_book._order(order_id)
    assert order.state == states.OrderState.DISPUTED, "market: order not disputed"
    assert block.timestamp <= order.deadline, "market: dispute deadline passed"
    log Resolved(order_id=order_id, ruling=ruling, evidence_hash=evidence_hash)
    if ruling == states.Ruling.FOR_SELLER:
        self._settle_for_seller(order_id, order, states.Outcome.FOR_SELLER)
    elif ruling == states.Ruling.REDELIVERED:
        self._settle_for_seller(order_id, order, states.Outcome.REDELIVERED)
    else:
        self._settle_for_buyer(order_id, order, states.Outcome.FOR_BUYER)


@external
@nonreentrant
def release(order_id: uint256):
    """
    @notice Mandatory transfer (section IV.A.5): after the confirmation
            deadline anyone completes a delivered but unconfirmed order in
            the seller's favour; the buyer's collateral goes to the seller.
    @param order_id The order id.
    """
    order: states.Order = order_book._order(order_id)
    assert order.state == states.OrderState.DELIVERED, "market: order not delivered"
    assert block.timestamp > order.deadline, "market: confirm deadline not passed"
    self._settle_for_seller(order_id, order, states.Outcome.RELEASED)


@external
@nonreentrant
def refund(order_id: uint256):
    """
    @notice Section IV.A.4: after the delivery deadline anyone refunds an
            undelivered ownership order; the buyer also receives the
            seller's collateral. After an unresolved dispute's deadline it
            unwinds the order instead: each party gets its own money back.
            The NFT returns to the seller and the listing closes.
    @param order_id The order id.
    """
    order: states.Order = order_book._order(order_id)
    assert order.state in (states.OrderState.PAID | states.OrderState.DISPUTED), "market: not refundable"
    if order.state == states.OrderState.PAID:
        assert block.timestamp > order.deadline, "market: delivery deadline not passed"
        self._settle_for_buyer(order_id, order, states.Outcome.NOT_DELIVERED)
    else:
        assert block.timestamp > order.deadline, "market: dispute deadline not passed"
        self._settle_for_buyer(order_id, order, states.Outcome.DISPUTE_TIMEOUT)


@internal
def _settle_for_seller(order_id: uint256, order: states.Order, outcome: states.Outcome):
    """
    @notice Complete a sale: credit seller, buyer and platform from escrow
            and hand the NFT to the buyer.
    @param order_id The order id.
    @param order The order, unpacked.
    @param outcome Outcome.CONFIRMED, RELEASED, FOR_SELLER or REDELIVERED.
    """
    # Sale completes: fee to the platform, price less fee to the seller. Collateral: each party's back when the
    # buyer confirmed; the buyer's to the seller when the buyer defaulted or its claim was false; the seller's to
    # the buyer when the seller transmitted fabricated data (redelivered by the platform).
    listing: states.Listing = order_book._listing(order.listing_id)
    fee: uint256 = order.amount * order.fee_bps // 10_000
    seller_credit: uint256 = order.amount - fee
    buyer_credit: uint256 = 0
    if outcome == states.Outcome.CONFIRMED:
        seller_credit += listing.collateral
        buyer_credit = listing.collateral
    elif outcome == states.Outcome.REDELIVERED:
        buyer_credit = 2 * listing.collateral
    else:
        seller_credit += 2 * listing.collateral
    order.state = states.OrderState.COMPLETED
    order_book._save_order(order_id, order)
    order_book._set_listing_state(order.listing_id, states.ListingState.SOLD)
    log Settled(
        order_id=order_id, listing_id=order.listing_id, outcome=outcome, seller_credit=seller_credit, buyer_credit=buyer_credit, fee=fee
    )
    escrow._release(listing.seller, listing.payment_token, seller_credit)
    escrow._release(order.buyer, listing.payment_token, buyer_credit)
    escrow._release(ownable.owner, listing.payment_token, fee)
    extcall order_book.CATALOG.transferFrom(self, order.buyer, listing.token_id)


@internal
def _settle_for_buyer(order_id: uint256, order: states.Order, outcome: states.Outcome):
    """
    @notice Unwind a sale: refund the buyer from escrow, return the NFT to
            the seller and close the listing.
    @param order_id The order id.
    @param order The order, unpacked.
    @param outcome Outcome.NOT_DELIVERED, FOR_BUYER or DISPUTE_TIMEOUT.
    """
    # Sale fails: the buyer gets its payment and collateral back; the seller's collateral goes to the buyer when
    # the seller did not deliver or lost the dispute, back to the seller when the arbiter never decided.
    listing: states.Listing = order_book._listing(order.listing_id)
    buyer_credit: uint256 = order.amount + listing.collateral
    seller_credit: uint256 = 0
    if outcome == states.Outcome.DISPUTE_TIMEOUT:
        seller_credit = listing.collateral
    else:
        buyer_credit += listing.collateral
    order.state = states.OrderState.REFUNDED
    order_book._save_order(order_id, order)
    order_book._set_listing_state(order.listing_id, states.ListingState.CLOSED)
    log Settled(
        order_id=order_id, listing_id=order.listing_id, outcome=outcome, seller_credit=seller_credit, buyer_credit=buyer_credit, fee=0
    )
    escrow._release(order.buyer, listing.payment_token, buyer_credit)
    escrow._release(listing.seller, listing.payment_token, seller_credit)
    extcall order_book.CATALOG.transferFrom(self, listing.seller, listing.token_id)
