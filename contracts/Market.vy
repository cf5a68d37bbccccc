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
@dev The deployable: constructor, listing (`list`, `list_negotiable`,
     `list_auction`, `cancel`), the platform's parameters, the views, and
     the wiring of the modules that hold the rest, each exported whole:
     - `modules/order_book.vy`: listings and orders (packed: a listing in
       4 slots, an order in 1, a second one only when the price agreed is
       not the listing's), the id counters, the brokerage fee, buying at
       the fixed price (`buy`) and opening an order for every pricing;
     - `modules/negotiation.vy`: offers and counter-offers;
     - `modules/english_auction.vy`: bids, soft close and settlement of
       the English auction;
     - `modules/order_lifecycle.vy`: delivery, confirmation, disputes,
       deadlines and settlement of an order, and the dispute window;
     - `modules/escrow.vy`: escrow, collateral and pull payments
       (`withdraw`), shared with UseRights, Shop and the others.
     Checks-effects-interactions; every function that moves value or the
     NFT is non-reentrant (one lock for the contract, modules included);
     value only leaves through `withdraw`. Invariant: for every payment
     token, the market's balance equals `escrowed[token]` plus the sum of
     `pending_withdrawals[*][token]`. `listing()` and `order()` return
     listings and orders unpacked (an order's `queries_left` /
     `queries_total` and a listing's `max_queries` are always 0 here; they
     keep the shape UseRights shares). The order of `exports` is part of
     the gas: functions whose selectors share a bucket of the selector
     table are tried in the order they are exposed (exports first, then
     this file's functions, then its public constants and variables);
     the order here keeps every call as cheap as before the split.
"""

from snekmate.auth import ownable

from .interfaces import IOrderParties
from .interfaces import IRegistry
from .modules import english_auction
from .modules import escrow
from .modules import negotiation
from .modules import order_book
from .modules import order_lifecycle
from .modules import states

implements: IOrderParties

initializes: ownable
initializes: escrow
initializes: order_book[escrow := escrow]
initializes: negotiation[escrow := escrow, order_book := order_book]
initializes: english_auction[escrow := escrow, order_book := order_book]
initializes: order_lifecycle[ownable := ownable, escrow := escrow, order_book := order_book]

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    escrow.withdraw,
    escrow.escrowed,
    escrow.pending_withdrawals,
    order_book.CATALOG,
    order_book.fee_bps,
    order_book.buy,
    negotiation.make_offer,
    negotiation.counter_offer,
    negotiation.accept_offer,
    negotiation.accept_counter,
    negotiation.reject_offer,
    negotiation.withdraw_offer,
    negotiation.offers,
    english_auction.bid,
    english_auction.settle,
    english_auction.auctions,
    order_lifecycle.deliver,
    order_lifecycle.confirm,
    order_lifecycle.dispute,
    order_lifecycle.resolve,
    order_lifecycle.release,
    order_lifecycle.refund,
    order_lifecycle.dispute_window,
)


MAX_FEE_BPS: public(constant(uint256)) = states.MAX_FEE_BPS
MIN_WINDOW: public(constant(uint256)) = states.MIN_WINDOW
MAX_WINDOW: public(constant(uint256)) = states.MAX_WINDOW
MAX_MANAGEMENT_FEE: public(constant(uint256)) = states.MAX_MANAGEMENT_FEE
AUCTION_EXTENSION: public(constant(uint256)) = states.AUCTION_EXTENSION


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

event ListingCancelled:
    listing_id: indexed(uint256)
    token_id: indexed(uint256)
    seller: indexed(address)

event ParametersChanged:
    fee_bps: uint256
    management_fee: uint256
    dispute_window: uint256


# The fee per listing in wei, owed to the platform (the brokerage fee and the
# dispute window live in the order book and order lifecycle modules).
management_fee: public(uint256)


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
    order_book.__init__(registry, catalog, fee_bps)
    order_lifecycle.__init__()


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
    english_auction.auctions[listing_id] = english_auction.Auction(end_time=end_time, min_increment=min_increment, highest_bidder=empty(address), highest_bid=0)
    log english_auction.AuctionOpened(listing_id=listing_id, min_increment=min_increment, end_time=end_time)
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
    listing: states.Listing = order_book._listing(listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    if listing.pricing == states.Pricing.AUCTION:
        assert english_auction.auctions[listing_id].highest_bidder == empty(address), "market: auction has bids"
    order_book._set_listing_state(listing_id, states.ListingState.CANCELLED)
    log ListingCancelled(listing_id=listing_id, token_id=listing.token_id, seller=msg.sender)
    escrow._release(msg.sender, listing.payment_token, listing.collateral)
    extcall order_book.CATALOG.transferFrom(self, msg.sender, listing.token_id)


# ---------------------------------------------------------------- parameters


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
    order_book.fee_bps = new_fee_bps
    self.management_fee = new_management_fee
    order_lifecycle.dispute_window = new_dispute_window
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
    return order_book._listing(listing_id)


@view
@external
def listing_fee_bps(listing_id: uint256) -> uint256:
    """
    @notice The brokerage fee (basis points) in force when the listing was
            made: the most its orders pay (less when `fee_bps` is lower).
    @param listing_id The listing id.
    @return The fee in basis points (0 for no such listing).
    """
    return order_book._listings[listing_id].asset >> 240


@view
@external
def listing_count() -> uint256:
    """
    @notice How many listings were made (the last listing id).
    @return The count.
    """
    return order_book._count(order_book.LISTING_COUNTER)


@view
@external
def order_count() -> uint256:
    """
    @notice How many orders were opened (the last order id).
    @return The count.
    """
    return order_book._count(order_book.ORDER_COUNTER)


@view
@external
def offer_count() -> uint256:
    """
    @notice How many offers were made (the last offer id).
    @return The count.
    """
    return order_book._count(order_book.OFFER_COUNTER)


@view
@external
def order(order_id: uint256) -> states.Order:
    """
    @notice The order, unpacked (state 0 = no such order).
    @param order_id The order id.
    @return The order.
    """
    order: states.Order = order_book._order(order_id)
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
    order: states.Order = order_book._order(order_id)
    return (
        order.buyer,
        order_book._listing(order.listing_id).seller,
        order.state,
        order.queries_left == 1,
        order.queries_total & 1 == 1,
    )


@view
@external
def REGISTRY() -> IRegistry:
    """
    @notice The Registry whose audited members may trade here.
    @dev The getter of `order_book.REGISTRY`, written out instead of
         exported: the selector table tries the functions that share a
         bucket in the order they are exposed, exports first, and declared
         after `listing` and `order_parties` it keeps them as cheap to call
         as before the Market was split into modules (23 gas each).
    @return The Registry contract.
    """
    return order_book.REGISTRY


# ---------------------------------------------------------------- internal


@internal
def _check_seller(token_id: uint256):
    """
    @notice The caller is an audited member and owns dataset `token_id`.
    @dev Reverts "market: seller not audited" / "market: not token owner".
    @param token_id The dataset.
    """
    assert staticcall order_book.REGISTRY.is_audited(msg.sender), "market: seller not audited"
    assert staticcall order_book.CATALOG.ownerOf(token_id) == msg.sender, "market: not token owner"


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
    extcall order_book.CATALOG.transferFrom(msg.sender, self, token_id)
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
    listing_id: uint256 = order_book._next_id(order_book.LISTING_COUNTER)
    assert listing_id <= states.USE_RIGHTS_ID_OFFSET, "market: too many listings"
    order_book._save_listing(listing_id, listing, order_book.fee_bps)
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


