# pragma version ~=0.4.3
"""
@title Negotiation: offers and counter-offers on the Market
@notice The NEGOTIATED pricing of the Market (Wu et al., section III.A,
        pricing module): a buyer offers an amount with an expiry and
        escrows it with the listing's collateral; the seller counters,
        accepts or rejects; the buyer accepts a counter, or withdraws the
        offer; anyone closes an expired one. An accepted offer or counter
        becomes an order on the order book at the price agreed.
@dev The Market `initializes:` this module with the escrow and the order
     book it `uses:`, and exports its external functions and `offers`.
     Invariants: an offer's amount plus its listing's collateral are
     escrowed exactly while the offer is OPEN or COUNTERED; ACCEPTED,
     REJECTED and WITHDRAWN are final (on acceptance the escrow carries
     over to the order, topped up or partly released to the counter
     price); a counter is never 0 nor the offered amount.
"""

from . import escrow
from . import order_book
from . import states

uses: escrow
uses: order_book


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


struct Offer:
    listing_id: uint256
    buyer: address
    amount: uint256
    counter: uint256
    expiry: uint256
    state: states.OfferState


offers: public(HashMap[uint256, Offer])


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
    listing: states.Listing = order_book._listing(listing_id)
    assert listing.pricing == states.Pricing.NEGOTIATED, "market: not negotiable"
    order_book._check_buyer(listing, msg.sender)
    assert amount > 0, "market: zero amount"
    assert expiry > block.timestamp and expiry <= block.timestamp + states.MAX_WINDOW, "market: bad expiry"
    assert msg.value == escrow._ether_due(listing.payment_token, amount + listing.collateral), "market: wrong value"
    escrow._pull(listing.payment_token, msg.sender, amount + listing.collateral)
    offer_id: uint256 = order_book._next_id(order_book.OFFER_COUNTER)
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
    listing: states.Listing = order_book._listing(offer.listing_id)
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
    listing: states.Listing = order_book._listing(offer.listing_id)
    assert listing.seller == msg.sender, "market: not seller"
    distinct: bool = order_book._check_buyer(listing, offer.buyer)
    self.offers[offer_id].state = states.OfferState.ACCEPTED
    order_id: uint256 = order_book._open_order(offer.listing_id, listing, offer.buyer, offer.amount, distinct)
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
    listing: states.Listing = order_book._listing(offer.listing_id)
    distinct: bool = order_book._check_buyer(listing, msg.sender)
    if offer.counter > offer.amount:
        assert msg.value == escrow._ether_due(listing.payment_token, offer.counter - offer.amount), "market: wrong value"
        escrow._pull(listing.payment_token, msg.sender, offer.counter - offer.amount)
    else:
        assert msg.value == 0, "market: wrong value"
        escrow._release(msg.sender, listing.payment_token, offer.amount - offer.counter)
    self.offers[offer_id].state = states.OfferState.ACCEPTED
    order_id: uint256 = order_book._open_order(offer.listing_id, listing, msg.sender, offer.counter, distinct)
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
    listing: states.Listing = order_book._listing(offer.listing_id)
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
    listing: states.Listing = order_book._listing(offer.listing_id)
    self._close_offer(offer_id, offer, listing, False)


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
