"""English auctions on a dataset's ownership (Wu et al. section III.A, pricing module): listed with
``POST /offers`` ``{pricing: "auction", price_wei: reserve, min_increment_wei, duration}``; bidders' nodes bid
(each bid escrowed with the bidder's collateral; an outbid bidder withdraws its own), and after the end anyone's
node settles: the highest bid becomes an order. Every POST makes this node act: operator only. See
``datagora.services.market``."""

from __future__ import annotations

from fastapi import APIRouter

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep
from datagora.api.market_schemas import AuctionTxOut, BidIn, SettledOut
from datagora.api.routers.offers import listing_out
from datagora.api.routers.orders import order_out
from datagora.api.schemas import ListingOut, TxOut
from datagora.domain.errors import NotFoundError
from datagora.domain.models import Pricing
from datagora.services import market
from datagora.services.node import Node

router = APIRouter(prefix="/auctions", tags=["auctions"])

_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown listing, or not an auction"},
    409: {"description": "The contract refused: bid too low, auction over or not over yet, already settled …"},
}


def auction_out(node: Node, listing_id: int) -> ListingOut:
    """The auctioned listing with its auction's state. Raises ``NotFoundError`` for an unknown listing or one
    that is not an auction."""
    offer = listing_out(node.contracts, listing_id)
    if offer.pricing != Pricing.AUCTION.name.lower():
        raise NotFoundError(f"listing {listing_id} is not an auction")
    return offer


@router.get("/{listing_id}", response_model=ListingOut, responses={404: _RESPONSES[404]})
def get_auction(listing_id: IdPath, node: NodeDep, _: ReaderDep) -> ListingOut:
    """The auctioned listing: reserve (``price_wei``), ``auction {end_time, min_increment, highest_bidder,
    highest_bid}``."""
    return auction_out(node, listing_id)


@router.post("/{listing_id}/bids", response_model=AuctionTxOut, responses=_RESPONSES)
def bid(listing_id: IdPath, body: BidIn, node: NodeDep, _: OperatorDep) -> AuctionTxOut:
    """Bid ``amount_wei`` (at least the reserve, then the highest bid plus the minimum increment, before the end):
    the bid and the bidder's collateral are escrowed (an ERC-20 is approved first). Operator only."""
    auction_out(node, listing_id)
    with node.acting():
        tx = market.bid(node.contracts, node.participant, listing_id, body.amount_wei)
    return AuctionTxOut(offer=auction_out(node, listing_id), tx=TxOut.of(tx))


@router.post("/{listing_id}/settle", response_model=SettledOut, responses=_RESPONSES)
def settle(listing_id: IdPath, node: NodeDep, _: OperatorDep) -> SettledOut:
    """After the end: the highest bid becomes a paid order for its bidder (``order``); without bids the dataset
    and the collateral return to the seller (``order`` null). Anyone's node may settle. Operator only."""
    auction_out(node, listing_id)
    with node.acting():
        order_id, tx = market.settle_auction(node.contracts, node.participant, listing_id)
    return SettledOut(
        offer=auction_out(node, listing_id),
        order=order_out(node.contracts, order_id) if order_id else None,
        tx=TxOut.of(tx),
    )
