# pragma version ~=0.4.3
"""
@title English auction on the Market
@notice The AUCTION pricing of the Market (Wu et al., section III.A,
        pricing module): ascending open bids of at least the reserve, each
        at least `min_increment` above the highest, until the end time; a
        bid in the last AUCTION_EXTENSION seconds moves the end to
        AUCTION_EXTENSION seconds after it (soft close). The outbid
        bidder's escrow is owed back at once (pull payment). After the end
        anyone settles: the highest bid becomes an order on the order
        book, or, without bids, the listing closes and the NFT and the
        seller's collateral return.
@dev The Market `initializes:` this module with the escrow and the order
     book it `uses:`; its `list_auction` writes the `Auction` and logs
     AuctionOpened, its `cancel` refuses an auction with a bid. Invariants:
     while the listing is ACTIVE exactly the highest bid plus the
     listing's collateral is escrowed for the highest bidder (none before
     the first bid); `highest_bid` only rises, by at least
     `min_increment`; `end_time` only moves later.
"""

from . import escrow
from . import order_book
from . import states

uses: escrow
uses: order_book


event AuctionOpened:
    listing_id: indexed(uint256)
    min_increment: uint256
    end_time: uint256

event AuctionExtended:
    listing_id: indexed(uint256)
    end_time: uint256

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


struct Auction:
    end_time: uint256
    min_increment: uint256
    highest_bidder: address
    highest_bid: uint256


auctions: public(HashMap[uint256, Auction])


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
    listing: states.Listing = order_book._listing(listing_id)
    assert listing.pricing == states.Pricing.AUCTION, "market: not an auction"
    auction: Auction = self.auctions[listing_id]
    assert block.timestamp < auction.end_time, "market: auction ended"
    order_book._check_buyer(listing, msg.sender)
    assert amount >= listing.price, "market: below reserve"
    assert amount <= states.MAX_AMOUNT, "market: amount too large"
    if auction.highest_bidder != empty(address):
        assert amount >= auction.highest_bid + auction.min_increment, "market: bid too low"
    assert msg.value == escrow._ether_due(listing.payment_token, amount + listing.collateral), "market: wrong value"
    escrow._pull(listing.payment_token, msg.sender, amount + listing.collateral)
    self.auctions[listing_id].highest_bidder = msg.sender
    self.auctions[listing_id].highest_bid = amount
    log BidPlaced(listing_id=listing_id, bidder=msg.sender, amount=amount, outbid=auction.highest_bidder)
    if auction.end_time - block.timestamp < states.AUCTION_EXTENSION:
        # Soft close: a bid in the last AUCTION_EXTENSION seconds moves the end
        # to AUCTION_EXTENSION seconds after it, so others can answer it.
        end_time: uint256 = block.timestamp + states.AUCTION_EXTENSION
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
    listing: states.Listing = order_book._listing(listing_id)
    assert listing.pricing == states.Pricing.AUCTION, "market: not an auction"
    assert listing.state == states.ListingState.ACTIVE, "market: listing not active"
    auction: Auction = self.auctions[listing_id]
    assert block.timestamp >= auction.end_time, "market: auction not ended"
    if auction.highest_bidder == empty(address):
        order_book._set_listing_state(listing_id, states.ListingState.CLOSED)
        log AuctionSettled(listing_id=listing_id, winner=empty(address), amount=0, order_id=0)
        escrow._release(listing.seller, listing.payment_token, listing.collateral)
        extcall order_book.CATALOG.transferFrom(self, listing.seller, listing.token_id)
        return 0
    # The winner's organisation was checked at its bid, not kept: Reputation asks the Registry.
    order_id: uint256 = order_book._open_order(listing_id, listing, auction.highest_bidder, auction.highest_bid, False)
    log AuctionSettled(listing_id=listing_id, winner=auction.highest_bidder, amount=auction.highest_bid, order_id=order_id)
    return order_id
