# pragma version ~=0.4.3
"""
@title Datagora Market
@notice The data market of Wu et al. (Privacy-friendly Blockchain based Data
        Trading and Tracking), with the double-deposit collateral of
        Shrestha et al. (Blockchain-Based Shopping Cart):
        - Ownership sales (section II): the data NFT is held by the market
          while listed and moves to the buyer on completion. Use-rights
          per query (the other kind of section II) are sold by the
          separate `UseRights` deployable on the same escrow module.
        - Three pricings (section III.A "pricing module"): FIXED, NEGOTIATED
          (buyer offer, seller counter / accept / reject, with expiry) and
          English AUCTION (reserve, minimum increment, end time; outbid
          bidders are refunded by pull payment).
        - Escrow with deadlines (section IV.A.4-5): not delivered by the
          delivery deadline -> refund; delivered but not confirmed by the
          confirmation deadline -> mandatory transfer to the seller.
        - Disputes (section IV.A.3): buyer or platform disputes a delivered
          order; the platform (owner, the arbiter) re-fingerprints the
          seller's re-upload off-chain and rules for the seller, for a
          redelivery (fabricated transmission, real data) or for the
          buyer; an arbiter that does not resolve by the dispute deadline
          lets anyone unwind the order.
        - Double-deposit collateral: the seller of an ownership listing
          posts `collateral` when listing, the buyer posts the same amount
          with the payment. Honest completion returns both; the party at
          fault forfeits its collateral to the other party.
        - Fees: a brokerage fee in basis points of each sale (scenario 1)
          and an optional management fee in wei paid when listing (section
          III.A steps 4-8), both owed to the platform.
        - Payment in ether (payment_token = empty(address)) or any ERC-20.
@dev Checks-effects-interactions; every function that moves value or the
     NFT is non-reentrant; value only leaves through `withdraw` (pull
     payments, from the shared `modules/escrow.vy`). Invariant: for every
     payment token, the market's balance equals `escrowed[token]` plus the
     sum of `pending_withdrawals[*][token]`. Listings (4 slots) and orders
     (1 slot, a second one only when the price agreed is not the listing's
     price) are packed; `listing()` and `order()` return them unpacked
     (an order's `queries_left` / `queries_total` and a listing's
     `max_queries` are always 0 here; they keep the shape UseRights shares).
     The three id counters share one slot whose top bit is set at deploy,
     so the first listing, order and offer update a non-zero slot (2,900
     gas) instead of filling a fresh one (22,100 gas).
"""

from snekmate.auth import ownable

from .interfaces import ICatalog
from .interfaces import IOrderParties
from .interfaces import IRegistry
from .modules import escrow
from .modules import states

implements: IOrderParties

initializes: ownable
initializes: escrow

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
)


MAX_FEE_BPS: public(constant(uint256)) = states.MAX_FEE_BPS
MIN_WINDOW: public(constant(uint256)) = states.MIN_WINDOW
MAX_WINDOW: public(constant(uint256)) = states.MAX_WINDOW
MAX_MANAGEMENT_FEE: public(constant(uint256)) = states.MAX_MANAGEMENT_FEE
AUCTION_EXTENSION: public(constant(uint256)) = states.AUCTION_EXTENSION

REGISTRY: public(immutable(IRegistry))
CATALOG: public(immutable(ICatalog))


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

event AuctionOpened:
    listing_id: indexed(uint256)
    min_increment: uint256
    end_time: uint256

event AuctionExtended:
    listing_id: indexed(uint256)
    end_time: uint256

event ListingCancelled:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)

event OfferMade:
    offer_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256
    expiry: uint256

event OfferCountered:
    offer_id: indexed(uint256)
    listing_id: indexed(uint256)
    counter: uint256

event OfferAccepted:
    offer_id: indexed(uint256)
    order_id: indexed(uint256)
    price: uint256

event OfferClosed:
    offer_id: indexed(uint256)
    by: indexed(address)
    rejected: bool

event BidPlaced:
    listing_id: indexed(uint256)
    bidder: indexed(address)
    amount: uint256
    outbid: address

event AuctionSettled:
    listing_id: indexed(uint256)
    winner: indexed(address)
    amount: uint256
    order_id: uint256

event OrderPaid:
    order_id: indexed(uint256)
    listing_id: indexed(uint256)
    buyer: indexed(address)
    amount: uint256
    fee_bps: uint256
    collateral: uint256
    queries: uint256
    deadline: uint256

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

event ParametersChanged:
    fee_bps: uint256
    management_fee: uint256
    dispute_window: uint256


# Stored form (4 slots): `head` = seller | kind << 160 | pricing << 168 |
# state << 176 | delivery_window << 184 | confirm_window << 216; `asset` = payment_token | token_id << 160 |
# fee_bps << 240 (the brokerage fee in force when the seller listed; Catalog ids are sequential, far below 2**80).
struct StoredListing:
    head: uint256
    asset: uint256
    price: uint256
    collateral: uint256


# Stored form of an order (1 word): buyer | state << 160 | fee_bps << 168
# (11 bits, at most MAX_FEE_BPS) | deadline << 179 (40 bits) | delivered
# << 219 (1 once `deliver` ran) | distinct << 220 (1 when the order opened
# with buyer and seller checked to be in different organisations) |
# own_amount << 221 (1 when the amount agreed differs from the listing's
# price and is kept in `_amounts`) | listing_id << 222 (34 bits; Market ids
# stay below USE_RIGHTS_ID_OFFSET). The unpacked `states.Order` carries
# delivered in `queries_left` and distinct | own_amount << 1 in
# `queries_total`; `order()` returns both as 0 (UseRights' fields).
ORDER_DELIVERED_BIT: constant(uint256) = 219
ORDER_FLAGS_BIT: constant(uint256) = 220
ORDER_LISTING_BIT: constant(uint256) = 222
OWN_AMOUNT: constant(uint256) = 2
# `_counts`: listing_count | order_count << 64 | offer_count << 128, and
# COUNTS_SET (bit 255) so the slot is never zero.
COUNTS_SET: constant(uint256) = 1 << 255


struct Offer:
    listing_id: uint256
    buyer: address
    amount: uint256
    counter: uint256
    expiry: uint256
    state: states.OfferState


struct Auction:
    end_time: uint256
    min_increment: uint256
    highest_bidder: address
    highest_bid: uint256


_listings: HashMap[uint256, StoredListing]
_orders: HashMap[uint256, uint256]
_amounts: HashMap[uint256, uint256]
offers: public(HashMap[uint256, Offer])
auctions: public(HashMap[uint256, Auction])
_counts: uint256
fee_bps: public(uint256)
management_fee: public(uint256)
dispute_window: public(uint256)


@deploy
def __init__(registry: address, catalog: address, fee_bps: uint256):
    """
    @notice The deployer (the platform) is the owner, the arbiter of
            disputes and the recipient of fees. Management fee starts at 0,
            the dispute window at 7 days.
    @param registry The Registry (audited members may trade).
    @param catalog The Catalog whose data NFTs are sold.
    @param fee_bps Brokerage fee in basis points (at most 1,000 = 10 %).
    """
    assert fee_bps <= MAX_FEE_BPS, "market: fee too high"
    ownable.__init__()
    REGISTRY = IRegistry(registry)
    CATALOG = ICatalog(catalog)
    self.fee_bps = fee_bps
    self.dispute_window = 7 * 86_400
    self._counts = COUNTS_SET


# ---------------------------------------------------------------- listing


@external
@payable
@nonreentrant
def list(
    token_id: uint256,
    price: uint256,
    collateral: uint256,
    payment_token: address,
    delivery_window: uint256,
    confirm_window: uint256,
) -> uint256:
    """
    @notice Offer the ownership of dataset `token_id` at a fixed `price`.
            The market takes custody of the NFT (approve the market first).
            `msg.value` is the management fee, plus `collateral` when paid
            in ether; an ERC-20 collateral is pulled with transferFrom.
    @param price Price in the payment token's smallest unit (wei), > 0.
    @param collateral Deposit each party posts (double deposit), may be 0.
    @param payment_token ERC-20 contract, or empty(address) for ether.
    @param delivery_window Seconds the seller has to deliver after payment.
    @param confirm_window Seconds the buyer has to confirm after delivery.
    @return The listing id (starting at 1).
    @param token_id The dataset (its Catalog token id), owned by the caller.
    """
    return self._list_ownership(token_id, states.Pricing.FIXED, price, collateral, payment_token, delivery_window, confirm_window, msg.value)


@external
@payable
@nonreentrant
def list_negotiable(
    token_id: uint256,
    ask: uint256,
    collateral: uint256,
    payment_token: address,
    delivery_window: uint256,
    confirm_window: uint256,
) -> uint256:
    """
    @notice Offer the ownership of `token_id` for negotiation: buyers make
            offers (`make_offer`), the seller counters, accepts or rejects.
            Payment of fee and collateral as in `list`.
    @param ask The seller's asking price (informative), > 0.
    @return The listing id.
    @param token_id The dataset (its Catalog token id), owned by the caller.
    @param collateral Deposit each party posts (double deposit), may be 0.
    @param payment_token ERC-20 contract, or empty(address) for ether.
    @param delivery_window Seconds the seller has to deliver after payment.
    @param confirm_window Seconds the buyer has to confirm after delivery.
    """
    return self._list_ownership(token_id, states.Pricing.NEGOTIATED, ask, collateral, payment_token, delivery_window, confirm_window, msg.value)


@external
@payable
@nonreentrant
def list_auction(
    token_id: uint256,
    reserve: uint256,
    min_increment: uint256,
    duration: uint256,
    collateral: uint256,
    payment_token: address,
    delivery_window: uint256,
    confirm_window: uint256,
) -> uint256:
    """
    @notice Open an English auction for the ownership of `token_id`: bids
            of at least `reserve`, each at least `min_increment` above the
            highest, until `duration` seconds from now; `settle` then turns
            the highest bid into an order. Payment of fee and collateral as
            in `list`.
    @param reserve Lowest acceptable bid, > 0.
    @param min_increment Smallest raise over the highest bid, > 0.
    @param duration Seconds the auction runs (MIN_WINDOW..MAX_WINDOW).
    @return The listing id.
    @param token_id The dataset (its Catalog token id), owned by the caller.
    @param collateral Deposit each party posts (double deposit), may be 0.
    @param payment_token ERC-20 contract, or empty(address) for ether.
    @param delivery_window Seconds the seller has to deliver after payment.
    @param confirm_window Seconds the buyer has to confirm after delivery.
    """
    assert min_increment > 0, "market: zero increment"
    assert duration >= MIN_WINDOW and duration <= MAX_WINDOW, "market: bad duration"
    listing_id: uint256 = self._list_ownership(
        token_id, states.Pricing.AUCTION, reserve, collateral, payment_token, delivery_window, confirm_window, msg.value
    )
    end_time: uint256 = block.timestamp + duration
    self.auctions[listing_id] = Auction(end_time=end_time, min_increment=min_increment, highest_bidder=empty(address), highest_bid=0)
    log AuctionOpened(listing_id=listing_id, min_increment=min_increment, end_time=end_time)
    return listing_id


@external
@nonreentrant
def cancel(listing_id: uint256):
    """
    @notice Withdraw an active listing: the NFT and the seller's
            collateral return (collateral by pull payment); an auction with
            a bid cannot be cancelled.
    @param listing_id The listing id.
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    if listing.pricing == states.Pricing.AUCTION:
        assert self.auctions[listing_id].highest_bidder == empty(address), "market: auction has bids"
    self._set_listing_state(listing_id, states.ListingState.CANCELLED)
    log ListingCancelled(listing_id=listing_id, token_id=listing.token_id, seller=msg.sender)
    escrow._release(msg.sender, listing.payment_token, listing.collateral)
    extcall CATALOG.transferFrom(self, msg.sender, listing.token_id)


# ---------------------------------------------------------------- buying


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


# ---------------------------------------------------------------- negotiation


@external
@payable
@nonreentrant
def make_offer(listing_id: uint256, amount: uint256, expiry: uint256) -> uint256:
    """
    @notice Offer `amount` for a negotiable listing, valid until `expiry`
            (unix seconds). The amount plus the listing's collateral are
            escrowed until the offer is accepted, rejected or withdrawn.
    @return The offer id (starting at 1).
    @param listing_id The listing id.
    @param amount The amount, in the payment token's smallest unit (wei).
    @param expiry Unix time (seconds) after which the offer lapses.
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.pricing == states.Pricing.NEGOTIATED, "market: not negotiable"
    self._check_buyer(listing, msg.sender)
    assert amount > 0, "market: zero amount"
    assert expiry > block.timestamp and expiry <= block.timestamp + MAX_WINDOW, "market: bad expiry"
    assert msg.value == escrow._ether_due(listing.payment_token, amount + listing.collateral), "market: wrong value"
    escrow._pull(listing.payment_token, msg.sender, amount + listing.collateral)
    offer_id: uint256 = self._next_id(128)
    self.offers[offer_id] = Offer(listing_id=listing_id, buyer=msg.sender, amount=amount, counter=0, expiry=expiry, state=states.OfferState.OPEN)
    log OfferMade(offer_id=offer_id, listing_id=listing_id, buyer=msg.sender, amount=amount, expiry=expiry)
    return offer_id


@external
def counter_offer(offer_id: uint256, counter: uint256):
    """
    @notice The seller answers an offer with a counter price the buyer may
            accept (`accept_counter`) until the offer's expiry.
    @param offer_id The offer id.
    @param counter The seller's counter price, > 0 and not the offered amount.
    """
    offer: Offer = self._live_offer(offer_id)
    listing: states.Listing = self._listing(offer.listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    assert counter > 0 and counter != offer.amount, "market: bad counter"
    self.offers[offer_id].counter = counter
    self.offers[offer_id].state = states.OfferState.COUNTERED
    log OfferCountered(offer_id=offer_id, listing_id=offer.listing_id, counter=counter)


@external
@nonreentrant
def accept_offer(offer_id: uint256) -> uint256:
    """
    @notice The seller accepts the buyer's offered amount: it becomes an
            order at that price.
    @return The order id.
    @param offer_id The offer id.
    """
    offer: Offer = self._live_offer(offer_id)
    listing: states.Listing = self._listing(offer.listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    distinct: bool = self._check_buyer(listing, offer.buyer)
    self.offers[offer_id].state = states.OfferState.ACCEPTED
    order_id: uint256 = self._open_order(offer.listing_id, listing, offer.buyer, offer.amount, distinct)
    log OfferAccepted(offer_id=offer_id, order_id=order_id, price=offer.amount)
    return order_id


@external
@payable
@nonreentrant
def accept_counter(offer_id: uint256, counter: uint256) -> uint256:
    """
    @notice The buyer accepts the seller's counter price: a higher counter
            is topped up now (msg.value or transferFrom), a lower one leaves
            the difference owed back to the buyer. The buyer names the
            counter it read, so a seller who counters again before this
            transaction is mined (front-running it with a higher price)
            makes it revert instead of charging the new price.
    @dev Reverts "market: counter changed" when the offer's counter is not
         `counter`.
    @return The order id.
    @param offer_id The offer id.
    @param counter The counter price the buyer accepts, in the payment
           token's smallest unit (wei).
    """
    offer: Offer = self._live_offer(offer_id)
    assert offer.buyer == msg.sender, "market: not offer buyer"
    assert offer.state == states.OfferState.COUNTERED, "market: no counter"
    assert offer.counter == counter, "market: counter changed"
    listing: states.Listing = self._listing(offer.listing_id)
    distinct: bool = self._check_buyer(listing, msg.sender)
    if offer.counter > offer.amount:
        assert msg.value == escrow._ether_due(listing.payment_token, offer.counter - offer.amount), "market: wrong value"
        escrow._pull(listing.payment_token, msg.sender, offer.counter - offer.amount)
    else:
        assert msg.value == 0, "market: wrong value"
        escrow._release(msg.sender, listing.payment_token, offer.amount - offer.counter)
    self.offers[offer_id].state = states.OfferState.ACCEPTED
    order_id: uint256 = self._open_order(offer.listing_id, listing, msg.sender, offer.counter, distinct)
    log OfferAccepted(offer_id=offer_id, order_id=order_id, price=offer.counter)
    return order_id


@external
@nonreentrant
def reject_offer(offer_id: uint256):
    """
    @notice The seller rejects an open offer; the buyer's escrow is owed
            back to the buyer.
    @param offer_id The offer id.
    """
    offer: Offer = self._open_offer(offer_id)
    listing: states.Listing = self._listing(offer.listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    self._close_offer(offer_id, offer, listing, True)


@external
@nonreentrant
def withdraw_offer(offer_id: uint256):
    """
    @notice The buyer withdraws its offer at any time, or anyone closes it
            after its expiry; the escrow is owed back to the buyer.
    @param offer_id The offer id.
    """
    offer: Offer = self._open_offer(offer_id)
    assert offer.buyer == msg.sender or block.timestamp > offer.expiry, "market: not offer buyer"
    listing: states.Listing = self._listing(offer.listing_id)
    self._close_offer(offer_id, offer, listing, False)


# ---------------------------------------------------------------- auction


@external
@payable
@nonreentrant
def bid(listing_id: uint256, amount: uint256):
    """
    @notice Bid `amount` in an English auction; the bid plus the listing's
            collateral are escrowed. The outbid bidder's escrow becomes
            withdrawable (pull payment). A bid less than AUCTION_EXTENSION
            seconds (10 minutes) before the end extends the end to
            AUCTION_EXTENSION seconds after the bid (soft close; event
            AuctionExtended).
    @param listing_id The listing id.
    @param amount The amount, in the payment token's smallest unit (wei).
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.pricing == states.Pricing.AUCTION, "market: not an auction"
    auction: Auction = self.auctions[listing_id]
    assert block.timestamp < auction.end_time, "market: auction ended"
    self._check_buyer(listing, msg.sender)
    assert amount >= listing.price, "market: below reserve"
    assert amount <= states.MAX_AMOUNT, "market: amount too large"
    if auction.highest_bidder != empty(address):
        assert amount >= auction.highest_bid + auction.min_increment, "market: bid too low"
    assert msg.value == escrow._ether_due(listing.payment_token, amount + listing.collateral), "market: wrong value"
    escrow._pull(listing.payment_token, msg.sender, amount + listing.collateral)
    self.auctions[listing_id].highest_bidder = msg.sender
    self.auctions[listing_id].highest_bid = amount
    log BidPlaced(listing_id=listing_id, bidder=msg.sender, amount=amount, outbid=auction.highest_bidder)
    if auction.end_time - block.timestamp < AUCTION_EXTENSION:
        # Soft close: a bid in the last AUCTION_EXTENSION seconds moves the end
        # to AUCTION_EXTENSION seconds after it, so others can answer it.
        end_time: uint256 = block.timestamp + AUCTION_EXTENSION
        self.auctions[listing_id].end_time = end_time
        log AuctionExtended(listing_id=listing_id, end_time=end_time)
    if auction.highest_bidder != empty(address):
        escrow._release(auction.highest_bidder, listing.payment_token, auction.highest_bid + listing.collateral)


@external
@nonreentrant
def settle(listing_id: uint256) -> uint256:
    """
    @notice After the auction's end anyone settles it: the highest bid
            becomes an order (returned id); without bids the listing closes
            and the NFT and the seller's collateral return (id 0).
    @param listing_id The listing id.
    @return The order id, or 0 when there was no bid.
    """
    listing: states.Listing = self._listing(listing_id)
    assert listing.pricing == states.Pricing.AUCTION, "market: not an auction"
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    auction: Auction = self.auctions[listing_id]
    assert block.timestamp >= auction.end_time, "market: auction not ended"
    if auction.highest_bidder == empty(address):
        self._set_listing_state(listing_id, states.ListingState.CLOSED)
        log AuctionSettled(listing_id=listing_id, winner=empty(address), amount=0, order_id=0)
        escrow._release(listing.seller, listing.payment_token, listing.collateral)
        extcall CATALOG.transferFrom(self, listing.seller, listing.token_id)
        return 0
    # The winner's organisation was checked at its bid, not kept: Reputation asks the Registry.
    order_id: uint256 = self._open_order(listing_id, listing, auction.highest_bidder, auction.highest_bid, False)
    log AuctionSettled(listing_id=listing_id, winner=auction.highest_bidder, amount=auction.highest_bid, order_id=order_id)
    return order_id


# ---------------------------------------------------------------- delivery, disputes, deadlines


@external
def deliver(order_id: uint256, delivery_hash: bytes32):
    """
    @notice The seller commits the SHA-256 of the ciphertext it delivered
            (section III.A steps 13-21); the confirmation deadline starts.
    @param order_id The order id.
    @param delivery_hash SHA-256 of the delivered ciphertext, non-zero.
    """
    # Reads the order's word and the listing's first word only (not the amount): the floor of this step.
    word: uint256 = self._orders[order_id]
    assert (word >> 160) & 255 == convert(states.OrderState.PAID, uint256), "market: order not paid"
    head: uint256 = self._listings[word >> ORDER_LISTING_BIT].head
    assert convert(convert(head & (2**160 - 1), uint160), address) == msg.sender, "market: not seller"
    assert block.timestamp <= (word >> 179) & (2**40 - 1), "market: delivery deadline passed"
    assert delivery_hash != empty(bytes32), "market: empty delivery hash"
    deadline: uint256 = block.timestamp + ((head >> 216) & (2**32 - 1))
    # New state, new deadline and the delivered bit, in place.
    word = (word & ~((255 << 160) | ((2**40 - 1) << 179))) | (convert(states.OrderState.DELIVERED, uint256) << 160) | (deadline << 179) | (1 << ORDER_DELIVERED_BIT)
    self._orders[order_id] = word
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
    order: states.Order = self._order(order_id)
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
    order: states.Order = self._order(order_id)
    assert order.state == states.OrderState.DELIVERED, "market: order not delivered"
    assert msg.sender == order.buyer or msg.sender == ownable.owner, "market: not buyer or platform"
    assert block.timestamp <= order.deadline, "market: confirm deadline passed"
    order.state = states.OrderState.DISPUTED
    order.deadline = block.timestamp + self.dispute_window
    self._save_order(order_id, order)
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
    order: states.Order = self._order(order_id)
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
    order: states.Order = self._order(order_id)
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
    order: states.Order = self._order(order_id)
    assert order.state in (states.OrderState.PAID | states.OrderState.DISPUTED), "market: not refundable"
    if order.state == states.OrderState.PAID:
        assert block.timestamp > order.deadline, "market: delivery deadline not passed"
        self._settle_for_buyer(order_id, order, states.Outcome.NOT_DELIVERED)
    else:
        assert block.timestamp > order.deadline, "market: dispute deadline not passed"
        self._settle_for_buyer(order_id, order, states.Outcome.DISPUTE_TIMEOUT)


# ---------------------------------------------------------------- payments and parameters


@external
def set_parameters(new_fee_bps: uint256, new_management_fee: uint256, new_dispute_window: uint256):
    """
    @notice Platform only. The brokerage fee applies to orders opened
            afterwards, but never above the fee in force when their listing
            was made (a seller's open listing keeps the fee it agreed to; a
            lower fee applies to it), the management fee (wei) to later
            listings, the dispute window to later disputes.
    @param new_fee_bps Brokerage fee in basis points (at most 1,000).
    @param new_management_fee Fee per listing in wei (at most 1 ether).
    @param new_dispute_window Seconds the platform has to resolve a dispute.
    """
    ownable._check_owner()
    assert new_fee_bps <= MAX_FEE_BPS, "market: fee too high"
    assert new_management_fee <= MAX_MANAGEMENT_FEE, "market: management fee too high"
    assert new_dispute_window >= MIN_WINDOW and new_dispute_window <= MAX_WINDOW, "market: bad dispute window"
    self.fee_bps = new_fee_bps
    self.management_fee = new_management_fee
    self.dispute_window = new_dispute_window
    log ParametersChanged(fee_bps=new_fee_bps, management_fee=new_management_fee, dispute_window=new_dispute_window)


# ---------------------------------------------------------------- views


@view
@external
def listing(listing_id: uint256) -> states.Listing:
    """
    @notice The listing, unpacked (state 0 = no such listing).
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
def listing_count() -> uint256:
    """
    @notice How many listings were made (the last listing id).
    @return The count.
    """
    return self._count(0)


@view
@external
def order_count() -> uint256:
    """
    @notice How many orders were opened (the last order id).
    @return The count.
    """
    return self._count(64)


@view
@external
def offer_count() -> uint256:
    """
    @notice How many offers were made (the last offer id).
    @return The count.
    """
    return self._count(128)


@view
@external
def order(order_id: uint256) -> states.Order:
    """
    @notice The order, unpacked (state 0 = no such order).
    @param order_id The order id.
    @return The order.
    """
    order: states.Order = self._order(order_id)
    order.queries_left = 0
    order.queries_total = 0
    return order


@view
@external
def order_parties(order_id: uint256) -> (address, address, states.OrderState, bool, bool):
    """
    @notice Buyer, seller and state of an order, whether the seller
            delivered it (`deliver` ran), and whether the parties were
            checked to be in different organisations, read by Reputation.
    @param order_id The order id.
    @return The buyer, the seller, the order state (0 = no such order),
            True once the order was delivered, and True when the order
            opened with buyer and seller in different organisations (False
            for an auction's order: not checked at settlement).
    """
    order: states.Order = self._order(order_id)
    return (
        order.buyer,
        self._listing(order.listing_id).seller,
        order.state,
        order.queries_left == 1,
        order.queries_total & 1 == 1,
    )


# ---------------------------------------------------------------- internal


@internal
def _check_seller(token_id: uint256):
    """
    @notice The caller is an audited member and owns dataset `token_id`.
    @dev Reverts "market: seller not audited" / "market: not token owner".
    @param token_id The dataset.
    """
    assert staticcall REGISTRY.is_audited(msg.sender), "market: seller not audited"
    assert staticcall CATALOG.ownerOf(token_id) == msg.sender, "market: not token owner"


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
def _list_ownership(
    token_id: uint256,
    pricing: states.Pricing,
    price: uint256,
    collateral: uint256,
    payment_token: address,
    delivery_window: uint256,
    confirm_window: uint256,
    paid: uint256,
) -> uint256:
    """
    @notice Check the terms, take the management fee and the seller's
            collateral, store the listing and take custody of the NFT.
    @dev Reverts with the seller checks, "market: zero price", "market:
         bad delivery window", "market: bad confirm window", the token
         check and "market: wrong value".
    @param token_id The dataset, owned by the caller.
    @param pricing PRICING_FIXED, PRICING_NEGOTIATED or PRICING_AUCTION.
    @param price Price, ask or reserve, in the payment token's unit.
    @param collateral The seller's deposit (double deposit).
    @param payment_token ERC-20 contract, or empty(address) for ether.
    @param delivery_window Seconds to deliver after payment.
    @param confirm_window Seconds to confirm after delivery.
    @param paid msg.value: the management fee plus an ether collateral.
    @return The listing id.
    """
    self._check_seller(token_id)
    assert price > 0, "market: zero price"
    assert delivery_window >= MIN_WINDOW and delivery_window <= MAX_WINDOW, "market: bad delivery window"
    assert confirm_window >= MIN_WINDOW and confirm_window <= MAX_WINDOW, "market: bad confirm window"
    escrow._check_token(payment_token)
    assert paid == self.management_fee + escrow._ether_due(payment_token, collateral), "market: wrong value"
    escrow._pull(payment_token, msg.sender, collateral)
    listing_id: uint256 = self._store_listing(
        states.Listing(
            seller=msg.sender,
            token_id=token_id,
            kind=states.SaleKind.OWNERSHIP,
            pricing=pricing,
            state=states.ListingState.ACTIVE,
            price=price,
            collateral=collateral,
            payment_token=payment_token,
            delivery_window=delivery_window,
            confirm_window=confirm_window,
            max_queries=0,
        )
    )
    extcall CATALOG.transferFrom(msg.sender, self, token_id)
    return listing_id


@internal
def _store_listing(listing: states.Listing) -> uint256:
    """
    @notice Owe the management fee to the platform, store a new listing
            with the brokerage fee now in force and log `Listed`.
    @param listing The listing, unpacked.
    @return The new listing id.
    """
    fee: uint256 = self.management_fee
    if fee > 0:
        escrow._credit(ownable.owner, empty(address), fee)
    listing_id: uint256 = self._next_id(0)
    assert listing_id <= states.USE_RIGHTS_ID_OFFSET, "market: too many listings"
    self._save_listing(listing_id, listing, self.fee_bps)
    log Listed(
        listing_id=listing_id,
        token_id=listing.token_id,
        seller=listing.seller,
        kind=listing.kind,
        pricing=listing.pricing,
        price=listing.price,
        collateral=listing.collateral,
        payment_token=listing.payment_token,
        delivery_window=listing.delivery_window,
        confirm_window=listing.confirm_window,
        management_fee=fee,
    )
    return listing_id


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
    order_id: uint256 = self._next_id(64)
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
    listing: states.Listing = self._listing(order.listing_id)
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
    self._save_order(order_id, order)
    self._set_listing_state(order.listing_id, states.ListingState.SOLD)
    log Settled(
        order_id=order_id, listing_id=order.listing_id, outcome=outcome, seller_credit=seller_credit, buyer_credit=buyer_credit, fee=fee
    )
    escrow._release(listing.seller, listing.payment_token, seller_credit)
    escrow._release(order.buyer, listing.payment_token, buyer_credit)
    escrow._release(ownable.owner, listing.payment_token, fee)
    extcall CATALOG.transferFrom(self, order.buyer, listing.token_id)


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
    listing: states.Listing = self._listing(order.listing_id)
    buyer_credit: uint256 = order.amount + listing.collateral
    seller_credit: uint256 = 0
    if outcome == states.Outcome.DISPUTE_TIMEOUT:
        seller_credit = listing.collateral
    else:
        buyer_credit += listing.collateral
    order.state = states.OrderState.REFUNDED
    self._save_order(order_id, order)
    self._set_listing_state(order.listing_id, states.ListingState.CLOSED)
    log Settled(
        order_id=order_id, listing_id=order.listing_id, outcome=outcome, seller_credit=seller_credit, buyer_credit=buyer_credit, fee=0
    )
    escrow._release(order.buyer, listing.payment_token, buyer_credit)
    escrow._release(listing.seller, listing.payment_token, seller_credit)
    extcall CATALOG.transferFrom(self, listing.seller, listing.token_id)


@internal
def _close_offer(offer_id: uint256, offer: Offer, listing: states.Listing, rejected: bool):
    """
    @notice Close an open offer and owe its escrow back to its buyer.
    @param offer_id The offer id.
    @param offer The offer.
    @param listing Its listing, unpacked.
    @param rejected True when the seller rejected it, False when withdrawn.
    """
    if rejected:
        self.offers[offer_id].state = states.OfferState.REJECTED
    else:
        self.offers[offer_id].state = states.OfferState.WITHDRAWN
    log OfferClosed(offer_id=offer_id, by=msg.sender, rejected=rejected)
    escrow._release(offer.buyer, listing.payment_token, offer.amount + listing.collateral)


@internal
@view
def _open_offer(offer_id: uint256) -> Offer:
    """
    @notice The offer, which must be open or countered.
    @dev Reverts "market: offer not open".
    @param offer_id The offer id.
    @return The offer.
    """
    offer: Offer = self.offers[offer_id]
    assert offer.state in (states.OfferState.OPEN | states.OfferState.COUNTERED), "market: offer not open"
    return offer


@internal
@view
def _live_offer(offer_id: uint256) -> Offer:
    """
    @notice The offer, which must be open or countered and not expired.
    @dev Reverts "market: offer not open" / "market: offer expired".
    @param offer_id The offer id.
    @return The offer.
    """
    offer: Offer = self._open_offer(offer_id)
    assert block.timestamp <= offer.expiry, "market: offer expired"
    return offer


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
    @notice Count one more listing (offset 0), order (64) or offer (128) in
            the shared counter slot.
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
