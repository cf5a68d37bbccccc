"""Offers: the sale of a dataset through escrow (``Market`` listings). ``POST /offers`` lists its ownership at a
fixed price, with the double-deposit collateral and the payment token; ``GET /offers/{id}`` shows any listing
(fixed price, negotiation, auction or use-right)."""

from __future__ import annotations

from fastapi import APIRouter, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import ListingCreated, ListingIn, ListingOut, TxOut
from datagora.chain.contracts import Contracts
from datagora.domain.models import ETHER, Pricing
from datagora.services import market

router = APIRouter(prefix="/offers", tags=["offers"])


def listing_out(contracts: Contracts, listing_id: int) -> ListingOut:
    """The listing with its auction's state when it is one. Raises ``NotFoundError``."""
    listing = contracts.listing(listing_id)
    auction = contracts.auction(listing_id) if listing.pricing == Pricing.AUCTION else None
    return ListingOut.of(listing, auction)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ListingCreated)
def create_offer(body: ListingIn, node: NodeDep, _: OperatorDep) -> ListingCreated:
    """List a dataset the node's account owns at a fixed price, posting the collateral (default: 100 % of the
    price) and the platform's management fee; approves the market for its data NFTs (and the ERC-20) first when
    needed. Operator only."""
    with node.acting():
        listing_id, txs = market.list_dataset(
            node.contracts,
            node.participant,
            body.token_id,
            body.price_wei,
            delivery_window=body.delivery_window,
            confirm_window=body.confirm_window,
            collateral=body.collateral_wei,
            payment_token=body.payment_token or ETHER,
        )
    return ListingCreated(offer=listing_out(node.contracts, listing_id), txs=[TxOut.of(t) for t in txs])


@router.get("/{listing_id}", response_model=ListingOut)
def get_offer(listing_id: IdPath, node: NodeDep, _: ReaderDep) -> ListingOut:
    """One listing, read from ``Market`` (with the auction's highest bid for an auction)."""
    return listing_out(node.contracts, listing_id)
